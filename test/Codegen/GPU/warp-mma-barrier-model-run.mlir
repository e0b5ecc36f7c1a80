// DEFINE: %{lower} = mlir-opt --convert-linalg-to-loops --scf-forall-to-for --lower-affine --convert-scf-to-cf --convert-vector-to-llvm --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts
// DEFINE: %{run} = mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so
// DEFINE: %{options} = wgmma=true warp-tile-rows=16 warp-tile-columns=128 wgmma-pending-chunks=1
// DEFINE: %{check} = moe-opt %s --moe-gpu-warp-mma="emulate-lanes=true %{options}" | %{lower} | %{run} | FileCheck %s
// RUN: %{check}
// REDEFINE: %{options} = wgmma=true warp-tile-rows=16 warp-tile-columns=128 wgmma-pending-chunks=1 tma-weights=true
// RUN: %{check}
// REDEFINE: %{options} = wgmma=true warp-tile-rows=16 warp-tile-columns=128 wgmma-pending-chunks=2 weight-chunks-ahead=2
// RUN: %{check}
// REDEFINE: %{options} = wgmma=true warp-tile-rows=16 warp-tile-columns=128 weight-chunks-ahead=3
// RUN: %{check}
// REDEFINE: %{options} = warp-tile-columns=40 stage-weights=true weight-chunks-ahead=2
// RUN: %{check}
// REDEFINE: %{options} = warp-tile-columns=40
// RUN: %{check}

// Host semantics runs a block's staged tile with models of its
// synchronisation (WarpTileHostEmulation.cpp), which a lowered function
// with the tile in a loop runs here, on the CPU: a tile the block runs
// twice (a block-uniform loop around it), K = 256 in 4 chunks, under
// schedules with wgmma chunks left pending after the loop, W by TMA, W
// copied up to 3 chunks ahead, staged W on mma.sync, and A alone staged.
// The models run the two runs one after the other in each warp's turn:
// none fires (a check that fails aborts the run), and each of y's elements
// adds 0.5 256 times, twice.
// With pending chunks (3 slots a buffer), the last chunk's wgmmas still
// read slot 0 when the loop's last barrier passes; the barrier after their
// wait keeps the next run's first copies out of that slot. Without it
// (compiler mutated) the first two RUN lines stop with "a staged slot
// written before a block barrier after the reads of the chunk it held".
// CHECK:      256
// CHECK-NEXT: 256

#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @tile_twice(%x: memref<?x256xf32>, %w: memref<40x256xbf16>,
                      %y: memref<?x40xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %rows = affine.min affine_map<()[s0] -> (s0, 64)>()[%n]
  %block_a = memref.subview %x[0, 0] [%rows, 256] [1, 1]
      : memref<?x256xf32> to memref<?x256xf32, strided<[256, 1]>>
  scf.forall (%warp) in (4) {
    %row = affine.min affine_map<()[s0, s1] -> (s0 * 16, s1)>()[%warp, %rows]
    %row_count = affine.min affine_map<()[s0, s1] -> (s1 - s0, 16)>()[%row, %rows]
    %a = memref.subview %block_a[%row, 0] [%row_count, 256] [1, 1]
        : memref<?x256xf32, strided<[256, 1]>> to memref<?x256xf32, strided<[256, 1], offset: ?>>
    %c = memref.subview %y[%row, 0] [%row_count, 40] [1, 1]
        : memref<?x40xf32> to memref<?x40xf32, strided<[40, 1], offset: ?>>
    scf.for %run = %c0 to %c2 step %c1 {
      linalg.generic {indexing_maps = [#a, #w, #c],
                      iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%a, %w : memref<?x256xf32, strided<[256, 1], offset: ?>>,
                       memref<40x256xbf16>)
          outs(%c : memref<?x40xf32, strided<[40, 1], offset: ?>>)
          attrs = {moe.segment_matmul, moe.warp_mma} {
      ^bb0(%in: f32, %wt: bf16, %acc: f32):
        %r = arith.truncf %in : f32 to bf16
        %re = arith.extf %r : bf16 to f32
        %we = arith.extf %wt : bf16 to f32
        %p = arith.mulf %re, %we : f32
        %s = arith.addf %acc, %p : f32
        linalg.yield %s : f32
      }
    }
  } {mapping = [#gpu.warp<x>]}
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c39 = arith.constant 39 : index
  %c63 = arith.constant 63 : index
  %n = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : bf16
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc(%n) : memref<?x256xf32>
  %w = memref.alloc() : memref<40x256xbf16>
  %y = memref.alloc(%n) : memref<?x40xf32>
  linalg.fill ins(%one : f32) outs(%x : memref<?x256xf32>)
  linalg.fill ins(%half : bf16) outs(%w : memref<40x256xbf16>)
  linalg.fill ins(%zero : f32) outs(%y : memref<?x40xf32>)
  call @tile_twice(%x, %w, %y, %n) : (memref<?x256xf32>, memref<40x256xbf16>, memref<?x40xf32>, index) -> ()
  %first = memref.load %y[%c0, %c0] : memref<?x40xf32>
  %last = memref.load %y[%c63, %c39] : memref<?x40xf32>
  vector.print %first : f32
  vector.print %last : f32
  memref.dealloc %x : memref<?x256xf32>
  memref.dealloc %w : memref<40x256xbf16>
  memref.dealloc %y : memref<?x40xf32>
  return
}
