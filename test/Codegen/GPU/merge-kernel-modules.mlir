// RUN: moe-opt %s --moe-gpu-merge-kernel-modules --split-input-file --allow-unregistered-dialect --verify-diagnostics | FileCheck %s
// RUN: moe-opt %s --moe-gpu-merge-kernel-modules="gemm-min-blocks-per-sm=3" --split-input-file --allow-unregistered-dialect --verify-diagnostics | FileCheck %s --check-prefix=MIN
// RUN: not moe-opt %s --moe-gpu-merge-kernel-modules="gemm-min-blocks-per-sm=-1" --split-input-file --allow-unregistered-dialect 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: error: moe-gpu-merge-kernel-modules: gemm-min-blocks-per-sm must not be negative

// Every kernel moves into one module, moe_kernels; the launches follow it,
// and a grouped matmul kernel (its location named grouped_matmul) says so
// in its name.

// CHECK-LABEL: func.func @forward
// CHECK:         gpu.launch_func {{ *}}@moe_kernels::@forward_kernel blocks
// CHECK:         gpu.launch_func {{ *}}@moe_kernels::@forward_grouped_matmul blocks
// CHECK:         gpu.launch_func {{ *}}@moe_kernels::@forward_grouped_matmul_0 blocks
// CHECK:       gpu.module @moe_kernels
// CHECK-DAG:     gpu.func @forward_kernel(
// CHECK-DAG:     gpu.func @forward_grouped_matmul(
// CHECK-DAG:     gpu.func @forward_grouped_matmul_0(
// CHECK-NOT:   gpu.module

// With gemm-min-blocks-per-sm, the grouped matmul kernels (and only they)
// ask ptxas for registers that fit that many blocks an SM.

// MIN-LABEL:   gpu.module @moe_kernels
// MIN-DAG:       gpu.func @forward_kernel() kernel {
// MIN-DAG:       gpu.func @forward_grouped_matmul() kernel attributes {nvvm.minctasm = 3 : i32}
// MIN-DAG:       gpu.func @forward_grouped_matmul_0() kernel attributes {nvvm.minctasm = 3 : i32}
module attributes {gpu.container_module} {
  func.func @forward(%n: index) {
    gpu.launch_func @forward_kernel::@forward_kernel blocks in (%n, %n, %n) threads in (%n, %n, %n)
    gpu.launch_func @forward_kernel_0::@forward_kernel_0 blocks in (%n, %n, %n) threads in (%n, %n, %n)
    gpu.launch_func @forward_kernel_1::@forward_kernel_1 blocks in (%n, %n, %n) threads in (%n, %n, %n)
    return
  }
  gpu.module @forward_kernel {
    gpu.func @forward_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @forward_kernel_0 {
    gpu.func @forward_kernel_0() kernel {
      gpu.return
    } loc("grouped_matmul"(unknown))
  }
  gpu.module @forward_kernel_1 {
    gpu.func @forward_kernel_1() kernel {
      gpu.return
    } loc("grouped_matmul"(unknown))
  }
}

// -----

// Only symbols can move between modules.
module attributes {gpu.container_module} {
  gpu.module @first {
  }
  gpu.module @second {
    // expected-error @+1 {{cannot merge this op into one gpu.module}}
    "test.not_a_symbol"() : () -> ()
  }
}

// -----

// A workgroup buffer (an outlined gpu.launch's attribution carries no
// attributes) is aligned to 16 bytes, for moe-gpu-warp-mma's 16-byte
// loads of its staged chunks; an alignment already given stays.

// CHECK-LABEL: func.func @staged_launch
// CHECK:         gpu.func @staged() workgroup(%{{.+}} : memref<2x32x96xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.+}} : memref<64xf32, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}) kernel
module attributes {gpu.container_module} {
  func.func @staged_launch(%n: index) {
    gpu.launch_func @staged::@staged blocks in (%n, %n, %n) threads in (%n, %n, %n)
    return
  }
  gpu.module @staged {
    gpu.func @staged() workgroup(%a : memref<2x32x96xbf16, #gpu.address_space<workgroup>>, %b : memref<64xf32, #gpu.address_space<workgroup>> {llvm.align = 64 : i64}) kernel {
      gpu.return
    }
  }
}
