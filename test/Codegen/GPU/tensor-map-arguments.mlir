// RUN: moe-opt %s --moe-gpu-tensor-map-arguments | FileCheck %s

// A kernel's tensor-map argument becomes the !llvm.ptr it lowers to, cast
// back to the map at the kernel's entry for its TMA copies; the launch
// passes the host's map cast to the pointer. Other arguments and kernels
// without maps keep their types.

!map = !nvgpu.tensormap.descriptor<tensor = memref<1x48x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
!barriers = !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>, num_barriers = 1>

module attributes {gpu.container_module} {

// CHECK-LABEL: func.func @host
// CHECK-SAME:    (%[[TENSOR:.+]]: memref<2x48x64xbf16>, %[[N:.+]]: index)
// CHECK:         %[[MAP:.+]] = nvgpu.tma.create.descriptor
// CHECK:         %[[POINTER:.+]] = builtin.unrealized_conversion_cast %[[MAP]] : !nvgpu.tensormap.descriptor<{{.*}}> to !llvm.ptr
// CHECK:         gpu.launch_func @kernels::@boxes {{.*}} args(%[[N]] : index, %[[POINTER]] : !llvm.ptr)
// CHECK:         gpu.launch_func @kernels::@plain {{.*}} args(%[[N]] : index)
func.func @host(%tensor: memref<2x48x64xbf16>, %n: index) {
  %c1 = arith.constant 1 : index
  %c48 = arith.constant 48 : index
  %c64 = arith.constant 64 : index
  %unranked = memref.cast %tensor : memref<2x48x64xbf16> to memref<*xbf16>
  %map = nvgpu.tma.create.descriptor %unranked box[%c1, %c48, %c64] : memref<*xbf16> -> !map
  gpu.launch_func @kernels::@boxes blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%n : index, %map : !map)
  gpu.launch_func @kernels::@plain blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%n : index)
  return
}

// CHECK-LABEL: gpu.func @boxes
// CHECK-SAME:    (%[[K:.+]]: index, %[[ARG:.+]]: !llvm.ptr) workgroup
// CHECK-NEXT:    %[[KERNEL_MAP:.+]] = builtin.unrealized_conversion_cast %[[ARG]] : !llvm.ptr to !nvgpu.tensormap.descriptor
// CHECK:         nvgpu.tma.async.load %[[KERNEL_MAP]][%[[K]], %{{.+}}, %{{.+}}]
// CHECK-LABEL: gpu.func @plain
// CHECK-SAME:    (%{{.+}}: index) kernel
// CHECK-NOT:     unrealized_conversion_cast
gpu.module @kernels {
  gpu.func @boxes(%k: index, %map: !map)
      workgroup(%box : memref<1x48x64xbf16, #gpu.address_space<workgroup>>) kernel {
    %c0 = arith.constant 0 : index
    %barriers = nvgpu.mbarrier.create -> !barriers
    nvgpu.tma.async.load %map[%k, %c0, %c0], %barriers[%c0] to %box : !map, !barriers -> memref<1x48x64xbf16, #gpu.address_space<workgroup>>
    gpu.return
  }
  gpu.func @plain(%k: index) kernel {
    gpu.return
  }
}
}
