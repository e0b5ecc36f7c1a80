//===- HostCode.h - The host's part of a function ---------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What moe-gpu-distribute leaves on the host (a private header of
// MoECodegenGPU): the values the host computes, its branches between a
// layer's versions, the guards of zero-size work it drops, and the match of
// the segment loops of grouped matmuls, whose segments become blocks; with
// the effect query they and the pass share (writesMemory).
//
//===----------------------------------------------------------------------===//

#ifndef MOE_LIB_CODEGEN_GPU_HOSTCODE_H
#define MOE_LIB_CODEGEN_GPU_HOSTCODE_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Block.h"
#include "llvm/ADT/DenseMap.h"

#include <optional>

namespace mlir {
namespace moe {
namespace distribute {

/// Whether `op` (or an op nested in it) may write, allocate or free memory,
/// or has effects that cannot be known.
bool writesMemory(Operation *op);

/// The values the host computes: the function's arguments and the results
/// of the memory-effect-free ops without regions at its top level whose
/// operands it computes (index arithmetic, views, dimensions). In a branch
/// of the host's (an `scf.if` choosing between calls), `outer` holds those
/// of the block around it.
class HostValues {
public:
  explicit HostValues(Block *top, HostValues *outer = nullptr)
      : top(top), outer(outer) {}

  /// Whether the host computes `value`.
  bool contains(Value value);

  /// Whether the host runs `op`, a top-level op: a memory-effect-free op
  /// without regions, or an allocation, whose operands the host computes.
  /// (A deallocation is a host boundary instead: the kernels before it must
  /// not move past it.)
  bool computesOnHost(Operation *op);

private:
  Block *top;
  HostValues *outer;
  DenseMap<Value, bool> known;
};

/// Whether `op` is a branch of the host's: an `scf.if` without results on
/// a condition the host computes, which holds calls (a layer's versions by
/// token count). Its branches are host code like the function's body.
bool isHostBranch(Operation *op, HostValues &host);

/// Runs in place the body of each top-level `scf.if` that only guards
/// zero-size work: its condition is the host's, and its body holds views,
/// index arithmetic without division, allocations, and linalg ops on
/// buffers, which do nothing on empty views. (A grouped matmul of one
/// segment, a linear node or a shared expert, is guarded by `tokens > 0`.)
/// Unguarded, each linalg op becomes a kernel over blocks of its own, where
/// the guarded body would be one block's serial work.
void dropZeroSizeGuards(Block *top);

/// The start and size of the segment a segment loop's body works on: the
/// loop's body is a few pure or reading ops, then `scf.if (size > 0)`.
struct SegmentLoop {
  scf::ForOp loop;
  scf::IfOp body;
  Value start, size;
  /// The buffer the body's first view of segment rows slices: its first
  /// dimension bounds a segment's size.
  Value rowSource;
  /// The [E + 1] expert offsets `start` is loaded from at the expert's
  /// index (null when it is not), and E when the loop's bound is constant.
  Value offsets;
  std::optional<int64_t> numExperts;
};

/// Matches the segment loop form that moe-to-linalg emits for grouped
/// matmuls (see GroupedMatmulToLinalg.cpp).
std::optional<SegmentLoop> matchSegmentLoop(scf::ForOp loop, HostValues &host);

} // namespace distribute
} // namespace moe
} // namespace mlir

#endif // MOE_LIB_CODEGEN_GPU_HOSTCODE_H
