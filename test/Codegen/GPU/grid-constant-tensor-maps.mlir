// RUN: moe-opt %s --split-input-file --moe-gpu-grid-constant-tensor-maps --verify-diagnostics | FileCheck %s

// After gpu-to-llvm: the host makes a map (the runtime returns its 128
// bytes in host memory) and launches a kernel that prefetches it and
// issues a TMA copy with it. The launch passes the map's bytes, loaded
// before it; the kernel takes them as a 128-byte byval parameter aligned
// to 64 and marked grid-constant (CUDA's __grid_constant__ CUtensorMap).
// The casts the conversions left between the call and the launch are
// looked through; the other operands and arguments are left as they are.

// CHECK-LABEL: func.func @host
// CHECK:         %[[MAP:.+]] = llvm.call @mgpuTensorMapEncodeTiledMemref
// CHECK:         %[[BYTES:.+]] = llvm.load %[[MAP]] {alignment = 8 : i64} : !llvm.ptr -> !llvm.array<16 x i64>
// CHECK-NEXT:    gpu.launch_func @kernels::@k {{.*}} args(%{{.+}} : !llvm.ptr, %[[BYTES]] : !llvm.array<16 x i64>, %{{.+}} : i64)
// CHECK:         llvm.func @k(%{{.+}}: !llvm.ptr, %[[ARG:.+]]: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}, %{{.+}}: i64)
// CHECK-NEXT:      llvm.inline_asm {{.*}} "prefetch.tensormap [$0];", "l" %[[ARG]]
// CHECK:           nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %[[ARG]],
module attributes {gpu.container_module} {
  llvm.func @mgpuTensorMapEncodeTiledMemref(i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
  func.func @host(%desc: !llvm.ptr, %boxes: !llvm.ptr, %out: !llvm.ptr, %n: i64) {
    %c1 = arith.constant 1 : index
    %rank = llvm.mlir.constant(2 : i64) : i64
    %zero = llvm.mlir.constant(0 : i64) : i64
    %call = llvm.call @mgpuTensorMapEncodeTiledMemref(%rank, %desc, %zero, %zero, %zero, %zero, %zero, %boxes) : (i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
    %typed = builtin.unrealized_conversion_cast %call : !llvm.ptr to !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
    %map = builtin.unrealized_conversion_cast %typed : !nvgpu.tensormap.descriptor<tensor = memref<64x64xbf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none> to !llvm.ptr
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%out : !llvm.ptr, %map : !llvm.ptr, %n : i64)
    return
  }
  gpu.module @kernels {
    llvm.func @k(%out: !llvm.ptr, %map: !llvm.ptr, %n: i64) attributes {gpu.kernel, nvvm.kernel} {
      llvm.inline_asm has_side_effects asm_dialect = att "prefetch.tensormap [$0];", "l" %map : (!llvm.ptr) -> ()
      %slot = llvm.mlir.zero : !llvm.ptr<7>
      %bar = llvm.mlir.zero : !llvm.ptr<3>
      %c0 = llvm.mlir.constant(0 : i32) : i32
      nvvm.cp.async.bulk.tensor.shared.cluster.global %slot, %map, %bar, box[%c0, %c0] : !llvm.ptr<7>, !llvm.ptr
      llvm.return
    }
  }
}

// -----

// A kernel that reads the map's bytes itself is refused: a grid-constant
// map is only the TMA instructions' (its address is a parameter's).
module attributes {gpu.container_module} {
  llvm.func @mgpuTensorMapEncodeTiledMemref(i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
  func.func @host(%desc: !llvm.ptr, %boxes: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    %rank = llvm.mlir.constant(2 : i64) : i64
    %map = llvm.call @mgpuTensorMapEncodeTiledMemref(%rank, %desc, %rank, %rank, %rank, %rank, %rank, %boxes) : (i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%map : !llvm.ptr)
    return
  }
  gpu.module @kernels {
    llvm.func @k(%map: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      // expected-error@+1 {{uses the tensor map of argument 0 of kernel k otherwise than as a TMA copy's or prefetch's map}}
      %word = llvm.load %map : !llvm.ptr -> i64
      llvm.return
    }
  }
}

// -----

// Two launches of one kernel, one passing a map where the other passes a
// pointer: the parameter cannot be both.
module attributes {gpu.container_module} {
  llvm.func @mgpuTensorMapEncodeTiledMemref(i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
  func.func @host(%desc: !llvm.ptr, %boxes: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    %rank = llvm.mlir.constant(2 : i64) : i64
    %map = llvm.call @mgpuTensorMapEncodeTiledMemref(%rank, %desc, %rank, %rank, %rank, %rank, %rank, %boxes) : (i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%map : !llvm.ptr)
    // expected-error@+1 {{passes kernel argument 0 a value that is not a tensor map, where another launch of the kernel passes one}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%desc : !llvm.ptr)
    return
  }
  gpu.module @kernels {
    llvm.func @k(%map: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      llvm.inline_asm has_side_effects asm_dialect = att "prefetch.tensormap [$0];", "l" %map : (!llvm.ptr) -> ()
      llvm.return
    }
  }
}

// -----

// A map that reaches its launch other than from the call (here a function
// argument) would leave the kernel's argument a pointer to host memory:
// refused.
module attributes {gpu.container_module} {
  func.func @host(%map: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%map : !llvm.ptr)
    return
  }
  gpu.module @kernels {
    // expected-error@+1 {{takes argument 0 as a TMA tensor map, but no launch passes it a map the host made (mgpuTensorMapEncodeTiledMemref)}}
    llvm.func @k(%map: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      llvm.inline_asm has_side_effects asm_dialect = att "prefetch.tensormap [$0];", "l" %map : (!llvm.ptr) -> ()
      llvm.return
    }
  }
}

// -----

// Operands that do not match the kernel's arguments one to one (the
// pass runs after gpu-to-llvm, which expands both sides alike): its maps
// cannot be placed.
module attributes {gpu.container_module} {
  llvm.func @mgpuTensorMapEncodeTiledMemref(i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
  func.func @host(%desc: !llvm.ptr, %boxes: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    %rank = llvm.mlir.constant(2 : i64) : i64
    %map = llvm.call @mgpuTensorMapEncodeTiledMemref(%rank, %desc, %rank, %rank, %rank, %rank, %rank, %boxes) : (i64, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr) -> !llvm.ptr
    // expected-error@+1 {{passes 2 operands to kernel k of 1 arguments: its tensor maps cannot be matched to them}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%map : !llvm.ptr, %rank : i64)
    return
  }
  gpu.module @kernels {
    llvm.func @k(%map: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      llvm.inline_asm has_side_effects asm_dialect = att "prefetch.tensormap [$0];", "l" %map : (!llvm.ptr) -> ()
      llvm.return
    }
  }
}
