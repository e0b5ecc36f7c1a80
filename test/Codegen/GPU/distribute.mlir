// RUN: moe-opt %s --moe-gpu-distribute="row-block=16 rows-per-block=4 threads=64" --split-input-file --verify-diagnostics | FileCheck %s

// A top-level elementwise op: blocks of 4 rows, each spread over 64
// threads along its innermost parallel dimension.

// CHECK-LABEL: func.func @elementwise
// CHECK:         %[[T:.+]] = memref.dim %{{.+}}, %c0
// CHECK:         %[[BLOCKS:.+]] = arith.ceildivui %{{.+}}, %c4
// CHECK:         scf.forall (%[[B:.+]]) in (%[[BLOCKS]]) {
// CHECK:           %[[ROW:.+]] = arith.muli %[[B]], %c4
// CHECK:           scf.forall (%{{.+}}) in (64) {
// CHECK:             linalg.generic
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK-NOT:     linalg.generic
// CHECK:         return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @elementwise(%x: memref<?x96xf32>, %y: memref<?x96xf32>) {
  linalg.generic {indexing_maps = [#id, #id],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x96xf32>) outs(%y : memref<?x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A row reduction: a block takes one row a thread (64 here), each row's sum
// in a register.

// CHECK-LABEL: func.func @row_reduction
// CHECK:         %[[BLOCKS:.+]] = arith.ceildivui %{{.+}}, %c64
// CHECK:         scf.forall (%{{.+}}) in (%[[BLOCKS]]) {
// CHECK:           scf.forall (%{{.+}}) in (64) {
// CHECK-NOT:         linalg.generic
// CHECK:             scf.for {{.*}} iter_args
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
func.func @row_reduction(%x: memref<?x96xf32>, %y: memref<?xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x96xf32>) outs(%y : memref<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A segment loop: a block per 16 rows of a segment. One serial block
// first stores each expert's first row block, ceil(size / 16) summed over
// the experts before it, and the total; the grid has room for every
// segment's blocks (ceil(R / 16) + E), and each block finds its expert by a
// binary search over those starts, so that no grid dimension runs over the
// experts. The body sees its block's rows only, and a block past the last
// segment's blocks does nothing.

// CHECK-LABEL: func.func @segment_loop
// CHECK-SAME:    (%[[OFFSETS:.+]]: memref<5xi32>, %[[IN:.+]]: memref<?x8xf32>, %[[OUT:.+]]: memref<?x8xf32>)
// CHECK:         %[[STARTS:.+]] = memref.alloc() : memref<5xi32>
// CHECK:         scf.forall (%{{.+}}) in (1) {
// CHECK:           scf.forall (%{{.+}}) in (1) {
// CHECK:             %[[TOTAL:.+]] = scf.for %[[E0:.+]] = %{{.+}} to %c4{{.*}} step %{{.+}} iter_args(%[[FIRST:.+]] = %c0_i32) -> (i32) {
// CHECK:               memref.store %[[FIRST]], %[[STARTS]][%[[E0]]]
// CHECK:               %[[SIZE0:.+]] = arith.subi
// CHECK:               %[[N0:.+]] = arith.ceildivui %[[SIZE0]], %c16_i32 : i32
// CHECK:               %[[NEXT0:.+]] = arith.addi %[[FIRST]], %[[N0]] : i32
// CHECK:               scf.yield %[[NEXT0]]
// CHECK:             memref.store %[[TOTAL]], %[[STARTS]][%c4{{.*}}]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         %[[ROWS:.+]] = memref.dim %[[IN]], %c0
// CHECK:         %[[RB:.+]] = arith.ceildivui %[[ROWS]], %c16
// CHECK:         %[[GRID:.+]] = arith.addi %[[RB]], %c4
// CHECK:         scf.forall (%[[B:.+]]) in (%[[GRID]]) {
// CHECK:           %[[FOUND:.+]]:2 = scf.while (%[[LO:.+]] = %c0{{.*}}, %[[HI:.+]] = %c4{{.*}})
// CHECK:             %[[MID:.+]] = arith.divui
// CHECK:             %[[MIDSTART:.+]] = memref.load %[[STARTS]][%[[MID]]]
// CHECK:             %[[MIDFIRST:.+]] = arith.index_cast %[[MIDSTART]] : i32 to index
// CHECK:             arith.cmpi ule, %[[MIDFIRST]], %[[B]] : index
// CHECK:           %[[ESTART:.+]] = memref.load %[[STARTS]][%[[FOUND]]#0]
// CHECK:           %[[EFIRST:.+]] = arith.index_cast %[[ESTART]] : i32 to index
// CHECK:           %[[R:.+]] = arith.subi %[[B]], %[[EFIRST]]
// CHECK:           %[[BEGIN:.+]] = memref.load %[[OFFSETS]][%[[FOUND]]#0]
// CHECK:           %[[SKIP:.+]] = arith.muli %[[R]], %c16
// CHECK:           %[[START:.+]] = arith.addi %{{.+}}, %[[SKIP]]
// CHECK:           %[[LEFT:.+]] = arith.subi %{{.+}}, %[[SKIP]]
// CHECK:           %[[SIZE:.+]] = arith.minsi %[[LEFT]], %c16
// CHECK:           %[[ANY:.+]] = arith.cmpi sgt, %[[SIZE]], %c0
// CHECK:           scf.if %[[ANY]] {
// CHECK:             memref.subview %[[IN]][%[[START]], 0] [%[[SIZE]], 8]
// CHECK:             scf.forall (%{{.+}}) in (64) {
// CHECK:             } {mapping = [#gpu.thread<x>]}
// CHECK:           }
// CHECK:         } {mapping = [#gpu.block<x>]}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @segment_loop(%offsets: memref<5xi32>, %in: memref<?x8xf32>,
                        %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %e = %c0 to %c4 step %c1 {
    %b = memref.load %offsets[%e] : memref<5xi32>
    %begin = arith.index_cast %b : i32 to index
    %next = arith.addi %e, %c1 : index
    %n = memref.load %offsets[%next] : memref<5xi32>
    %end = arith.index_cast %n : i32 to index
    %size = arith.subi %end, %begin : index
    %any = arith.cmpi sgt, %size, %c0 : index
    scf.if %any {
      %src = memref.subview %in[%begin, 0] [%size, 8] [1, 1]
          : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 8] [1, 1]
          : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
      linalg.generic {indexing_maps = [#id, #id],
                      iterator_types = ["parallel", "parallel"]}
          ins(%src : memref<?x8xf32, strided<[8, 1], offset: ?>>)
          outs(%dst : memref<?x8xf32, strided<[8, 1], offset: ?>>) {
      ^bb0(%a: f32, %o: f32):
        linalg.yield %a : f32
      }
    }
  } {moe.segment_loop}
  return
}

// -----

// Offsets a serial loop computes (the dispatch's prefix sum): the block
// starts are built right after it, in its one-block kernel (no launch of
// their own), once for the two segment loops that read those offsets.

// CHECK-LABEL: func.func @segment_loops_after_offsets
// CHECK:         %[[STARTS:.+]] = memref.alloc() : memref<5xi32>
// CHECK:         %[[OFFSETS:.+]] = memref.alloc() : memref<5xi32>
// CHECK-NOT:     memref.alloc() : memref<5xi32>
// CHECK:         scf.forall (%{{.+}}) in (1) {
// CHECK:           scf.forall (%{{.+}}) in (1) {
// CHECK:             scf.for
// CHECK:               memref.store %{{.+}}, %[[OFFSETS]]
// CHECK:             scf.for
// CHECK:               memref.store %{{.+}}, %[[STARTS]]
// CHECK:               memref.load %[[OFFSETS]]
// CHECK:             memref.store %{{.+}}, %[[STARTS]]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK-NEXT:    } {mapping = [#gpu.block<x>]}
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.while
// CHECK:             memref.load %[[STARTS]]
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.while
// CHECK:             memref.load %[[STARTS]]
// CHECK:         } {mapping = [#gpu.block<x>]}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @segment_loops_after_offsets(%sizes: memref<4xi32>, %in: memref<?x8xf32>,
                                       %mid: memref<?x8xf32>, %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c0_i32 = arith.constant 0 : i32
  %offsets = memref.alloc() : memref<5xi32>
  %total = scf.for %e = %c0 to %c4 step %c1 iter_args(%first = %c0_i32) -> (i32) {
    memref.store %first, %offsets[%e] : memref<5xi32>
    %n = memref.load %sizes[%e] : memref<4xi32>
    %next = arith.addi %first, %n : i32
    scf.yield %next : i32
  }
  memref.store %total, %offsets[%c4] : memref<5xi32>
  scf.for %e = %c0 to %c4 step %c1 {
    %b = memref.load %offsets[%e] : memref<5xi32>
    %begin = arith.index_cast %b : i32 to index
    %next = arith.addi %e, %c1 : index
    %n = memref.load %offsets[%next] : memref<5xi32>
    %end = arith.index_cast %n : i32 to index
    %size = arith.subi %end, %begin : index
    %any = arith.cmpi sgt, %size, %c0 : index
    scf.if %any {
      %src = memref.subview %in[%begin, 0] [%size, 8] [1, 1]
          : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
      %dst = memref.subview %mid[%begin, 0] [%size, 8] [1, 1]
          : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
      linalg.generic {indexing_maps = [#id, #id],
                      iterator_types = ["parallel", "parallel"]}
          ins(%src : memref<?x8xf32, strided<[8, 1], offset: ?>>)
          outs(%dst : memref<?x8xf32, strided<[8, 1], offset: ?>>) {
      ^bb0(%a: f32, %o: f32):
        linalg.yield %a : f32
      }
    }
  } {moe.segment_loop}
  scf.for %e = %c0 to %c4 step %c1 {
    %b = memref.load %offsets[%e] : memref<5xi32>
    %begin = arith.index_cast %b : i32 to index
    %next = arith.addi %e, %c1 : index
    %n = memref.load %offsets[%next] : memref<5xi32>
    %end = arith.index_cast %n : i32 to index
    %size = arith.subi %end, %begin : index
    %any = arith.cmpi sgt, %size, %c0 : index
    scf.if %any {
      %src = memref.subview %mid[%begin, 0] [%size, 8] [1, 1]
          : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
      %dst = memref.subview %out[%begin, 0] [%size, 8] [1, 1]
          : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
      linalg.generic {indexing_maps = [#id, #id],
                      iterator_types = ["parallel", "parallel"]}
          ins(%src : memref<?x8xf32, strided<[8, 1], offset: ?>>)
          outs(%dst : memref<?x8xf32, strided<[8, 1], offset: ?>>) {
      ^bb0(%a: f32, %o: f32):
        linalg.yield %a : f32
      }
    }
  } {moe.segment_loop}
  return
}

// -----

// Serial work (a loop carrying a count) runs as one block on thread 0. The
// count reaches the later kernel through a one-element buffer, which that
// kernel reads on the device: no device value sizes a grid.

// The loop only reads, so every thread runs it; the stores are thread 0's.

// CHECK-LABEL: func.func @serial_run
// CHECK:         %[[SPILL:.+]] = memref.alloc() : memref<1xi32>
// CHECK:         scf.forall (%{{.+}}) in (1) {
// CHECK:           %[[COUNT:.+]] = scf.for
// CHECK:           scf.forall (%{{.+}}) in (1) {
// CHECK-NEXT:        memref.store %[[COUNT]], %[[SPILL]][%{{.+}}]
// CHECK-NEXT:        memref.store %[[COUNT]]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         call @host_hook()
// CHECK:         scf.forall (%{{.+}}) in (1) {
// CHECK:           memref.load %[[SPILL]][%{{.+}}]
// CHECK:           scf.forall (%{{.+}}) in (1) {
// CHECK:             memref.store
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
func.func @serial_run(%flags: memref<?xi32>, %out: memref<2xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0 : i32
  %n = memref.dim %flags, %c0 : memref<?xi32>
  %count = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (i32) {
    %f = memref.load %flags[%i] : memref<?xi32>
    %sum = arith.addi %acc, %f : i32
    scf.yield %sum : i32
  }
  memref.store %count, %out[%c0] : memref<2xi32>
  func.call @host_hook() : () -> ()
  memref.store %count, %out[%c1] : memref<2xi32>
  return
}
func.func private @host_hook()

// -----

// A forall whose grid the host sizes stays a kernel of its own when its
// body uses a value serial work computes: it reads the value back in its
// body, on the device, rather than joining the serial block.

// CHECK-LABEL: func.func @kernel_after_serial_run
// CHECK:         %[[SPILL:.+]] = memref.alloc() : memref<1xi32>
// CHECK:         scf.forall (%{{.+}}) in (1) {
// CHECK:           %[[COUNT:.+]] = scf.for
// CHECK:           memref.store %[[COUNT]], %[[SPILL]][%{{.+}}]
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK-NEXT:    scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           %[[LOADED:.+]] = memref.load %[[SPILL]][%{{.+}}]
// CHECK:           %[[SHIFTED:.+]] = arith.addi %{{.+}}, %[[LOADED]] : i32
// CHECK:           scf.forall (%{{.+}}) in (1) {
// CHECK-NEXT:        memref.store %[[SHIFTED]]
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
func.func @kernel_after_serial_run(%flags: memref<?xi32>, %out: memref<?xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0 : i32
  %n = memref.dim %flags, %c0 : memref<?xi32>
  %count = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (i32) {
    %f = memref.load %flags[%i] : memref<?xi32>
    %sum = arith.addi %acc, %f : i32
    scf.yield %sum : i32
  }
  scf.forall (%i) in (%n) {
    %f = memref.load %flags[%i] : memref<?xi32>
    %shifted = arith.addi %f, %count : i32
    memref.store %shifted, %out[%i] : memref<?xi32>
  }
  return
}

// -----

// A block's own buffer becomes its slice of one buffer for the grid, as
// large as the buffer can be (here min(rest, 16) rows).

// CHECK-LABEL: func.func @block_buffer
// CHECK:         %[[GRID:.+]] = memref.alloc(%{{.+}}) : memref<?x16xf32>
// CHECK:         scf.forall (%[[B:.+]]) in
// CHECK:           %[[ROWS:.+]] = arith.minui %{{.+}}, %c16
// CHECK:           %[[SLOT:.+]] = memref.subview %[[GRID]][%{{.+}}, 0] [1, %[[ROWS]]] [1, 1]
// CHECK-NOT:       memref.alloc
// CHECK:           scf.forall
// CHECK:             memref.subview %[[SLOT]]
// CHECK:             linalg.fill
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<x>]}
func.func @block_buffer(%x: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %cst = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?xf32>
  %blocks = arith.ceildivui %n, %c16 : index
  scf.forall (%b) in (%blocks) {
    %start = arith.muli %b, %c16 : index
    %rest = arith.subi %n, %start : index
    %rows = arith.minui %rest, %c16 : index
    %tmp = memref.alloc(%rows) : memref<?xf32>
    linalg.fill ins(%cst : f32) outs(%tmp : memref<?xf32>)
    %dst = memref.subview %x[%start] [%rows] [1]
        : memref<?xf32> to memref<?xf32, strided<[1], offset: ?>>
    linalg.copy ins(%tmp : memref<?xf32>)
        outs(%dst : memref<?xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// The host cannot wait for a value the GPU computes.
func.func @device_value_on_host(%flags: memref<?xi32>) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0 : i32
  %n = memref.dim %flags, %c0 : memref<?xi32>
  %count = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (i32) {
    %f = memref.load %flags[%i] : memref<?xi32>
    %sum = arith.addi %acc, %f : i32
    scf.yield %sum : i32
  }
  // expected-error @+1 {{the host needs a value computed on the GPU here}}
  func.call @consume(%count) : (i32) -> ()
  return %count : i32
}
func.func private @consume(i32)

// -----

// A grouped matmul of one segment (a linear node, a shared expert) is
// guarded by `tokens > 0`. Its ops do nothing on empty views, so the guard
// goes and each op is a kernel over blocks of rows, not one block's serial
// work. A guard around a division stays: with no tokens the host would
// divide by zero.

// CHECK-LABEL: func.func @zero_size_guard
// CHECK-NOT:     scf.if
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           linalg.fill
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           linalg.matmul
// CHECK:         } {mapping = [#gpu.block<x>]}
// CHECK:         %[[ANY:.+]] = arith.cmpi sgt
// CHECK:         scf.forall (%{{.+}}) in (1) {
// CHECK:           scf.if %{{.+}} {
// CHECK:             arith.divui
// CHECK:             linalg.fill
// CHECK:         } {mapping = [#gpu.block<x>]}
func.func @zero_size_guard(%t: index, %x: memref<?x8xf32>, %w: memref<8x8xf32>,
                           %y: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %any = arith.cmpi sgt, %t, %c0 : index
  scf.if %any {
    %dst = memref.subview %y[0, 0] [%t, 8] [1, 1]
        : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1]>>
    %src = memref.subview %x[0, 0] [%t, 8] [1, 1]
        : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1]>>
    linalg.fill ins(%zero : f32) outs(%dst : memref<?x8xf32, strided<[8, 1]>>)
    linalg.matmul ins(%src, %w : memref<?x8xf32, strided<[8, 1]>>, memref<8x8xf32>)
                  outs(%dst : memref<?x8xf32, strided<[8, 1]>>)
  }
  %again = arith.cmpi sgt, %t, %c0 : index
  scf.if %again {
    %rows = arith.divui %c8, %t : index
    %dst = memref.subview %y[0, 0] [%rows, 8] [1, 1]
        : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1]>>
    linalg.fill ins(%zero : f32) outs(%dst : memref<?x8xf32, strided<[8, 1]>>)
  }
  return
}

// -----

// A function with options of its own for this pass (moe.pass_options, a
// layer's decode version) is distributed with those: blocks of 8 rows over
// 32 threads here, where the pass's own take 4 rows over 64.

// CHECK-LABEL: func.func @own_options
// CHECK:         arith.ceildivui %{{.+}}, %c8
// CHECK:         scf.forall (%{{.+}}) in (%{{.+}}) {
// CHECK:           scf.forall (%{{.+}}) in (32) {
// CHECK:         } {mapping = [#gpu.block<x>]}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @own_options(%x: memref<?x96xf32>, %y: memref<?x96xf32>)
    attributes {moe.pass_options = {"moe-gpu-distribute" = "row-block=16 rows-per-block=8 threads=32"}} {
  linalg.generic {indexing_maps = [#id, #id],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x96xf32>) outs(%y : memref<?x96xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A branch of the host's (an scf.if on a host value that calls a layer's
// versions) stays on the host: each branch's work becomes kernels of its
// own, around the call.

// CHECK-LABEL: func.func @host_branch
// CHECK:         %[[FEW:.+]] = arith.cmpi ule
// CHECK:         scf.if %[[FEW]] {
// CHECK:           scf.forall
// CHECK:           } {mapping = [#gpu.block<x>]}
// CHECK:           call @layer_decode
// CHECK:         } else {
// CHECK:           call @layer
// CHECK:         }
// CHECK-NOT:     mapping
// CHECK:         return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @host_branch(%x: memref<?x96xf32>, %y: memref<?x96xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %t = memref.dim %x, %c0 : memref<?x96xf32>
  %few = arith.cmpi ule, %t, %c4 : index
  scf.if %few {
    linalg.generic {indexing_maps = [#id, #id],
                    iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<?x96xf32>) outs(%y : memref<?x96xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %in : f32
      linalg.yield %0 : f32
    }
    func.call @layer_decode(%y) : (memref<?x96xf32>) -> ()
  } else {
    func.call @layer(%y) : (memref<?x96xf32>) -> ()
  }
  return
}
func.func private @layer(%y: memref<?x96xf32>)
func.func private @layer_decode(%y: memref<?x96xf32>)
