// RUN: moe-opt %s --pass-pipeline="builtin.module(gpu.module(moe-gpu-extern-dynamic-shared-memory))" | FileCheck %s

// The zero-sized shared-memory global that convert-gpu-to-nvvm makes for
// gpu.dynamic_shared_memory becomes external (NVPTX then declares it
// `.extern .shared ... []`, the launch's dynamic shared memory); a sized
// shared buffer and a zero-sized global of another address space keep
// their linkage.

// CHECK-LABEL: gpu.module @kernels
// CHECK:         llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK:         llvm.mlir.global internal @sized() {addr_space = 3 : i32} : !llvm.array<16 x i8>
// CHECK:         llvm.mlir.global internal @global_memory() {addr_space = 1 : i32} : !llvm.array<0 x i8>
gpu.module @kernels {
  llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
  llvm.mlir.global internal @sized() {addr_space = 3 : i32} : !llvm.array<16 x i8>
  llvm.mlir.global internal @global_memory() {addr_space = 1 : i32} : !llvm.array<0 x i8>
}
