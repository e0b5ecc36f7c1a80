//===- TensorCores.h - The tensor-core form of segment matmuls --*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What moe-gpu-distribute hands to tensor cores and moe-gpu-warp-mma
// rewrites: the shape of one warp's mma.sync, the contraction form of a
// segment matmul with BF16, F16 or (as TF32) F32 weights, and how its
// operands are rounded to the tensor cores' type.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_TENSORCORES_H
#define MOE_CODEGEN_GPU_TENSORCORES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir {
namespace moe {

/// The NVIDIA warp.
constexpr int64_t kNVIDIAWarpSize = 32;

/// 16-bit elements in one 16-byte piece (cp.async's largest copy): what
/// moe-gpu-warp-mma stages W and narrowed A in, so the row widths
/// moe-gpu-narrow-activations narrows are multiples of it.
constexpr int64_t kSixteenBitPieceWidth = 8;

/// The tensor-core instruction a warp tile becomes: mma.sync m16n8k16 with
/// bf16 or f16 operands, or m16n8k8 with tf32 operands, and f32
/// accumulators.
constexpr int64_t kMmaRows = 16, kMmaCols = 8, kMmaDepth = 16;
constexpr int64_t kTF32MmaDepth = 8;

/// A warp's tile: up to 2 x 4 mma.sync tiles, whose mma.syncs share each A
/// fragment along a row of them and each W fragment along a column (so a
/// step over K loads 2 A and 4 W fragments for 8 mma.syncs, where 16 x 8
/// tiles load one of each per mma.sync).
constexpr int64_t kWarpTileRows = 2 * kMmaRows, kWarpTileCols = 4 * kMmaCols;

/// The tensor cores' operand type when `op` is `C[m, n] += A[m, k] * W[n,
/// k]` on buffers, with activations A, weights W (one expert's [N, K])
/// and an f32 C: bf16 or f16 for BF16 or F16 weights, to which an f32 A is
/// rounded (an A of that type is rounded already); tf32 for F32 weights
/// and an f32 A, to which A and W are rounded (only under the TF32
/// option). Null otherwise. Its body is not looked at.
Type getTensorCoreOperandType(linalg::LinalgOp op);

/// The K of one mma.sync on `operandType` (16 for 16-bit types, 8 for
/// tf32).
int64_t getMmaDepth(Type operandType);

/// Elements of `operandType` a 32-bit fragment register holds: two 16-bit
/// elements, or one tf32 (in an f32).
int64_t getElementsPerRegister(Type operandType);

/// The element type of a fragment's vector on `operandType`: the type
/// itself, or f32 for tf32.
Type getFragmentElementType(Type operandType);

/// `value` (f32) rounded to the tensor cores' `operandType`: a bf16 or f16
/// value (`arith.truncf`, to nearest even), or for tf32 an f32 whose low 13
/// mantissa bits are zero, rounded to nearest with ties away from zero (as
/// PTX's `cvt.rna.tf32.f32`), by integer arithmetic that the host and the
/// GPU both run.
Value roundToTensorCoreOperand(OpBuilder &b, Location loc, Value value,
                               Type operandType);

/// The lane's id (index), read by a volatile inline asm where it is built:
/// indices computed from it are not merged with, nor hoisted to, those of
/// the same lane computed before (a tile's epilogue computes its element
/// indices again after the K loop instead of keeping them live across it
/// beside the accumulators).
Value readLaneIdHere(OpBuilder &b, Location loc);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_GPU_TENSORCORES_H
