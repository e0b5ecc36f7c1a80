//===- ColumnWindows.h - A block's window of columns ------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// How moe-gpu-distribute splits a block's work into windows of columns (a
// private header of MoECodegenGPU): the window's size, the order of column
// blocks in the grid, and the block's ops restricted to a window; with the
// tiles of an op with some operands replaced, and the erasure of a buffer
// left unused, which the pass's other tilings use too.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_LIB_CODEGEN_GPU_COLUMNWINDOWS_H
#define MOE_LIB_CODEGEN_GPU_COLUMNWINDOWS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <optional>

namespace mlir {
namespace moe {
namespace distribute {

/// `min(block, columns - first)`: the columns of the window at `first`,
/// as affine.min, which bounds analyses see through.
Value columnWindowSize(OpBuilder &b, Location loc, Value first, int64_t columns,
                       int64_t block);

/// A block's column block and row slot from its index `linear` in a grid
/// of `slots` row slots times `columnBlocks` column blocks. With `group`
/// of 1 the slots run fastest (one column block's blocks are consecutive:
/// they read the same weight rows, and each reads its slot's activation
/// rows again for every column block). With a larger group the grid runs
/// over groups of that many column blocks, and in a group the column
/// blocks fastest: blocks that run at the same time then read the weights
/// of `group` column blocks and the activation rows of a `group`-th as
/// many slots, both reused from L2. The last group may be narrower.
std::pair<Value, Value> columnBlockAndSlot(OpBuilder &b, Location loc,
                                           Value linear, Value slots,
                                           int64_t columnBlocks, int64_t group);

/// Erases `value`'s defining op when nothing but deallocations uses it and
/// it is an allocation or a view, then the view's source the same way.
void eraseUnusedBuffer(Value value);

/// The tile of `op` at `offsets` (its other dimensions, and those whose
/// offset is null, whole), by its TilingInterface, with its operands that
/// are `accs[i]` or their views replaced by `tiles[i]`.
FailureOr<Operation *> tileWithOperands(OpBuilder &b, Operation *op,
                                        ArrayRef<OpFoldResult> offsets,
                                        ArrayRef<OpFoldResult> sizes,
                                        ArrayRef<Value> accs,
                                        ArrayRef<Value> tiles);

/// The number of columns N that the ops of `block` share, when the block's
/// work splits into windows of columns: every op that writes memory is a
/// linalg op on buffers (allocations aside) whose loops 0 and 1 are
/// parallel and whose one output is a [rows, N] buffer indexed (d0, d1),
/// with N static and the same for all; and an op that reads a buffer the
/// block writes reads that output itself, indexed (d0, d1). A window of
/// columns is then the same ops on windows of their outputs (a gated
/// FFN's fills, gate, up and epilogue; a down projection). Nullopt
/// otherwise.
std::optional<int64_t> sharedColumnCount(Block *block);

/// Runs the ops of `block` (see sharedColumnCount) on columns [first,
/// first + count) of their outputs: each linalg op becomes its tile there
/// (its TilingInterface), and the tiles of one output share one view of
/// its window, so that the ops still match as a gated group.
LogicalResult restrictToColumns(Block *block, Value first, Value count);

} // namespace distribute
} // namespace moe
} // namespace mlir

#endif // MOE_LIB_CODEGEN_GPU_COLUMNWINDOWS_H
