//===- WarpgroupMMA.h - wgmma on staged core matrices -----------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What moe-gpu-warp-mma's `wgmma` form needs beside its warp tiles: the
// staged chunks' layout as core matrices, the shared-memory descriptors of
// wgmma.mma_async (sm_90a) over them, the instruction on a warpgroup's
// accumulators, and its emulation on the host from the same descriptors.
//
// A chunk of K (kChunkDepth columns of `rows` rows of 16-bit elements) is
// laid out as 8 x 8 core matrices, the canonical K-major layout with no
// swizzling (PTX ISA, "Shared Memory Matrix Layout"): a core matrix's 8
// rows of 16 bytes are 128 contiguous bytes; the core matrices along K
// follow each other (the leading dimension byte offset, 128), and each
// group of 8 rows follows the last of the group before (the stride
// dimension byte offset, a chunk's 8 rows: 1,024 bytes).
//
// W's chunks copied by TMA (`tma-weights`) are laid out as TMA writes a box
// of 64 16-bit elements (128 bytes) by `rows` with 128-byte swizzling: row
// r's 128 bytes at 128 r, its 16-byte piece j at piece j ^ (r % 8) (the
// canonical K-major layout with 128-byte swizzling, PTX ISA "Shared Memory
// Matrix Layout": a slot starts on a 1,024-byte boundary, 8 rows a swizzle
// pattern, the stride dimension byte offset 1,024).
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_WARPGROUPMMA_H
#define MOE_CODEGEN_GPU_WARPGROUPMMA_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir {
namespace moe {

/// A warpgroup: 4 warps of one 128-thread block, whose wgmma m64nNk16
/// takes 64 rows of A, each warp's accumulators 16 of them (warp w of the
/// group: rows 16 w to 16 w + 15).
constexpr int64_t kWarpgroupWarps = 4, kWarpgroupRows = 64,
                  kWarpgroupDepth = 16;

/// [slots, rows / 8, depth / 8, 8, 8] of `element`: `slots` chunks of
/// `depth` columns of `rows` rows as core matrices (`rows` and `depth`
/// multiples of 8), in `memorySpace`.
MemRefType getCoreMatrixChunksType(int64_t slots, int64_t rows, int64_t depth,
                                   Type element, Attribute memorySpace = {});

/// The bytes of one row of a 128-byte swizzled chunk, and of its pattern
/// (8 rows), where its slots start.
constexpr int64_t kSwizzleRowBytes = 128, kSwizzlePatternBytes = 1024;

/// [slots, rows, depth] of `element` (depth x element = 128 bytes, rows a
/// multiple of 8): `slots` chunks as TMA writes them with 128-byte
/// swizzling.
MemRefType getSwizzledChunksType(int64_t slots, int64_t rows, int64_t depth,
                                 Type element, Attribute memorySpace = {});

/// Whether `type` is a getSwizzledChunksType buffer (rank 3, 128-byte rows).
bool isSwizzledChunks(MemRefType type);

/// The indices of the 16-byte piece of (row, column) (column a multiple of
/// the piece's elements) in chunk `slot` of a swizzled buffer of `type`.
SmallVector<Value> getSwizzledPieceIndices(OpBuilder &b, Location loc,
                                           MemRefType type, Value slot,
                                           Value row, Value column);

/// The rows of a staged buffer: `getCoreMatrixChunksType`'s,
/// `getSwizzledChunksType`'s, or a [slots, rows, stride] one's.
int64_t getStagedRows(MemRefType type);

/// The indices of (row, column) in chunk `slot` of a core-matrix buffer.
SmallVector<Value> getCoreMatrixIndices(OpBuilder &b, Location loc, Value slot,
                                        Value row, Value column);

/// Where piece `piece` of a chunk of `depth` columns sits (row, column),
/// pieces of `width` 16-bit elements (8 or 4: a core matrix's row or half
/// of it) ordered so that consecutive pieces fill a core matrix, its rows
/// in turn, before the next along K: the pieces of 8 consecutive threads'
/// 16-byte stores, or 16 threads' 8-byte stores, what shared memory
/// serves at once, are one core matrix's 128 contiguous bytes, all 32
/// banks once. (Row-major pieces put a thread's neighbours along K 128
/// bytes apart, on the same banks.)
std::pair<Value, Value> getCoreMatrixPiecePlace(OpBuilder &b, Location loc,
                                                Value piece, int64_t width,
                                                int64_t depth);

/// The wgmma descriptor (i64) of the matrix that starts at column `column`
/// (a multiple of 8; of a swizzled buffer, of 16) and row `firstRow` (a
/// multiple of 8; null: 0) of chunk `slot` of core-matrix or swizzled
/// buffer `buffer`. On the GPU its start is the buffer's shared-memory
/// address; on the host (`onHost`) its byte offset in the buffer, which
/// `emulateWarpgroupMma` reads it by.
Value buildWarpgroupDescriptor(OpBuilder &b, Location loc, Value buffer,
                               Value slot, Value column, bool onHost,
                               Value firstRow = Value());

/// The LLVM struct of a warpgroup thread's f32 accumulators for N columns:
/// N / 2 of them, element 4 j + e being mma.sync's C element e of the
/// j-th 8 columns (rows g and g + 8 of the warp's 16, columns 2 (lane % 4)
/// and the next).
Type getWarpgroupAccumulatorType(MLIRContext *context, int64_t columns);

/// `accumulators` through an empty volatile inline asm that reads and
/// writes each of its registers (CUTLASS's warpgroup_fence_operand): LLVM
/// keeps it in order with wgmma.fence and wgmma.wait_group, so the
/// registers are written before a fence (not moved between it and the
/// wgmma that reads them) and read after a wait.
Value fenceWarpgroupAccumulators(OpBuilder &b, Location loc,
                                 Value accumulators);

/// One wgmma.mma_async m64nNk16 (N from `accumulators`' type) on
/// descriptors `a` (K-major, row) and `w` (W[n, k], K-major: col) of
/// 16-bit `operandType`, adding to `accumulators`.
Value createWarpgroupMma(OpBuilder &b, Location loc, Type operandType, Value a,
                         Value w, Value accumulators);

/// On the host, one wgmma as warp `warp` of the warpgroup (0 to 3) sees
/// it: for each of its lanes and `columnTiles` tiles of 8 columns, C
/// element e of tile j (in `accBuffer` [lanes, ..., 4] from tile
/// `firstTile`) += the sum over the descriptors' 16 columns of A's row (16
/// `warp` + g, + 8 for e >= 2) times W's row (8 j + 2 (lane % 4), + 1 for
/// odd e), each element read from `aBuffer` and `wBuffer` (core-matrix or
/// swizzled buffers) where descriptors `aDescriptor` and `wDescriptor`
/// place it: their start, leading and stride byte offsets and swizzling
/// mode decoded from their bits.
void emulateWarpgroupMma(OpBuilder &b, Location loc, Value aBuffer,
                         Value aDescriptor, Value wBuffer, Value wDescriptor,
                         Value warp, Value accBuffer, int64_t firstTile,
                         int64_t columnTiles);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_GPU_WARPGROUPMMA_H
