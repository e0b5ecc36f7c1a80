//===- BufferAccesses.h - The buffers a GPU kernel touches ------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The buffers an op (a kernel, a serial run) reads and writes, each named by
// the allocation or function argument its views lead back to: what
// moe-gpu-distribute and moe-gpu-merge-independent-kernels ask to decide
// where work may move.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_BUFFERACCESSES_H
#define MOE_CODEGEN_GPU_BUFFERACCESSES_H

#include "mlir/IR/Operation.h"

namespace mlir {
namespace moe {

/// The buffer `value` is a view of: through views of every kind
/// (ViewLikeOpInterface) to the first value that is none.
Value getViewedBuffer(Value value);

/// The buffers an op reads and writes, each by the value that allocated it
/// (or the function argument it is); `unknown` when an effect cannot be
/// traced to one.
struct BufferAccesses {
  SmallVector<std::pair<Value, bool>> accesses; // (buffer, written)
  bool unknown = false;

  /// The accesses of `op` and of the ops nested in it.
  static BufferAccesses of(Operation *op);

  /// Adds those accesses.
  void addEffectsOf(Operation *op);

  /// Adds the buffers `value` may be a view of: through views to their
  /// source, through a select to both of its buffers.
  void add(Value value, bool written);

  /// Whether one of the accesses may write `buffer`.
  bool mayWrite(Value buffer) const;

  /// Whether the two may run in either order, or together: neither writes
  /// a buffer the other touches.
  bool independentOf(const BufferAccesses &other) const;
};

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_GPU_BUFFERACCESSES_H
