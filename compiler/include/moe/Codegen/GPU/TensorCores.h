//===- TensorCores.h - The tensor-core form of segment matmuls --*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What moe-gpu-distribute hands to tensor cores and moe-gpu-warp-mma
// rewrites: the shape of one warp's mma.sync, and the contraction form of a
// segment matmul with BF16 or F16 weights.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_TENSORCORES_H
#define MOE_CODEGEN_GPU_TENSORCORES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir {
namespace moe {

/// The NVIDIA warp.
constexpr int64_t kNVIDIAWarpSize = 32;

/// The tensor-core instruction a warp tile becomes: mma.sync m16n8k16 with
/// bf16 or f16 operands and f32 accumulators.
constexpr int64_t kMmaRows = 16, kMmaCols = 8, kMmaDepth = 16;

/// A warp's tile: up to 2 x 4 mma.sync tiles, whose mma.syncs share each A
/// fragment along a row of them and each W fragment along a column (so a
/// step over K loads 2 A and 4 W fragments for 8 mma.syncs, where 16 x 8
/// tiles load one of each per mma.sync).
constexpr int64_t kWarpTileRows = 2 * kMmaRows, kWarpTileCols = 4 * kMmaCols;

/// The type of W (bf16 or f16) when `op` is `C[m, n] += A[m, k] * W[n, k]`
/// on buffers, with f32 activations A, BF16 or F16 weights W (one expert's
/// [N, K]) and an f32 C: the contraction of a segment matmul that tensor
/// cores can take, once A is rounded to W's type. Null otherwise. Its body
/// is not looked at.
Type getTensorCoreOperandType(linalg::LinalgOp op);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_GPU_TENSORCORES_H
