//===- GatedTiles.h - Gate, up and activation as one GPU tile ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What a lowered `moe.grouped_gated_matmul` segment looks like on buffers,
// for moe-gpu-distribute, which runs it as one loop nest of tiles, and for
// moe-gpu-warp-mma, which keeps a tensor-core tile's gate and up in
// registers.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_GATEDTILES_H
#define MOE_CODEGEN_GPU_GATEDTILES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir {
namespace moe {

/// A gated segment on buffers: `gateFill` then `gate` (a segment matmul)
/// write `gateAcc`, `upFill` then `up` write `upAcc`, and `epilogue` (a
/// `moe.segment_epilogue`, elementwise over [rows, N]) reads them as its
/// first two inputs. No other op touches the accumulators, and nothing but
/// memory-effect-free ops and allocations sits between the group's first op
/// and the epilogue, in the same block.
struct GatedGroup {
  linalg::GenericOp epilogue;
  linalg::GenericOp gate, up;
  linalg::FillOp gateFill, upFill;
  Value gateAcc, upAcc;

  /// The group's ops, producers first.
  SmallVector<Operation *, 5> ops() const {
    return {gateFill, upFill, gate, up, epilogue};
  }
};

/// The gated group whose epilogue is `epilogue`, if it is one.
std::optional<GatedGroup> matchGatedGroup(linalg::GenericOp epilogue);

} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_GPU_GATEDTILES_H
