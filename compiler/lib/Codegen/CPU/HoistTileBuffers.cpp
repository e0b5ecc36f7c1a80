//===- HoistTileBuffers.cpp - Tile buffers per thread share -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-cpu-hoist-tile-buffers: a heap allocation inside
// a kernel's loops whose size is bounded by a tile size becomes a view of one
// buffer of the bound, allocated once per forall iteration (a thread's share
// of the work) or once per call, so that the kernel allocates nothing per
// tile.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOECPUHOISTTILEBUFFERSPASS
#include "moe/Codegen/CPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Hoisted buffers start on a cache line: a tile's rows are read as vectors.
constexpr int64_t kCacheLineBytes = 64;

/// Whether `buffer` or a view of it leaves the code that uses it in place:
/// a call, a return, a yield, or a region op's block argument (a loop's
/// iter_args) takes it. Ops that only read and write it (linalg ops, whose
/// bodies see elements) do not.
bool escapes(Value buffer) {
  for (OpOperand &use : buffer.getUses()) {
    Operation *user = use.getOwner();
    if (isa<ViewLikeOpInterface>(user) && user->getNumResults() == 1) {
      if (escapes(user->getResult(0)))
        return true;
      continue;
    }
    if (user->hasTrait<OpTrait::IsTerminator>() ||
        isa<CallOpInterface, RegionBranchOpInterface, LoopLikeOpInterface>(
            user))
      return true;
  }
  return false;
}

/// The static shape `alloc` needs at most: its type's shape with each
/// dynamic size replaced by its constant upper bound. Fails where a size
/// has none, or where a size other than the leading one is dynamic.
FailureOr<SmallVector<int64_t>> boundedShape(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  SmallVector<int64_t> shape(type.getShape());
  auto dynamicSizes = alloc.getDynamicSizes();
  for (int64_t dim = 1; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      return failure();
  if (dynamicSizes.empty())
    return shape;
  FailureOr<int64_t> bound = ValueBoundsConstraintSet::computeConstantBound(
      presburger::BoundType::UB, dynamicSizes.front(),
      /*stopCondition=*/nullptr, /*closedUB=*/true);
  if (failed(bound) || *bound <= 0)
    return failure();
  shape[0] = *bound;
  return shape;
}

/// The block whose start hosts the buffers of allocations under `op`: the
/// body of the closest enclosing scf.forall, else the function's entry
/// block.
Block *hostBlock(Operation *op) {
  if (auto forall = op->getParentOfType<scf::ForallOp>())
    return forall.getBody();
  return &op->getParentOfType<FunctionOpInterface>().getFunctionBody().front();
}

struct MoECPUHoistTileBuffersPass
    : moe::impl::MoECPUHoistTileBuffersPassBase<MoECPUHoistTileBuffersPass> {
  using MoECPUHoistTileBuffersPassBase::MoECPUHoistTileBuffersPassBase;

  void runOnOperation() override {
    SmallVector<std::pair<memref::AllocOp, SmallVector<int64_t>>> candidates;
    getOperation()->walk([&](memref::AllocOp alloc) {
      // Allocations outside loops happen once a call (moe-scratch-arena
      // places those sized by the token count).
      if (!alloc->getParentOfType<LoopLikeOpInterface>() ||
          !alloc.getType().getLayout().isIdentity() ||
          !alloc.getSymbolOperands().empty() || escapes(alloc.getResult()))
        return;
      FailureOr<SmallVector<int64_t>> shape = boundedShape(alloc);
      if (failed(shape))
        return;
      MemRefType type = alloc.getType();
      if (computeProduct(*shape) * type.getElementTypeBitWidth() / 8 > maxBytes)
        return;
      candidates.emplace_back(alloc, std::move(*shape));
    });

    for (auto &[alloc, shape] : candidates) {
      Block *host = hostBlock(alloc);
      MemRefType type = alloc.getType();
      auto boundType = MemRefType::get(shape, type.getElementType(),
                                       AffineMap(), type.getMemorySpace());
      IntegerAttr alignment =
          alloc.getAlignmentAttr()
              ? alloc.getAlignmentAttr()
              : OpBuilder(alloc).getI64IntegerAttr(kCacheLineBytes);
      OpBuilder b = OpBuilder::atBlockBegin(host);
      // Outside a forall, the stack: the function's entry block runs once.
      Value buffer =
          isa<scf::ForallOp>(host->getParentOp())
              ? memref::AllocOp::create(b, alloc.getLoc(), boundType, alignment)
                    .getResult()
              : memref::AllocaOp::create(b, alloc.getLoc(), boundType,
                                         alignment)
                    .getResult();
      // The requested size, in the allocation's own (identity) type: only
      // the leading size varies, so the strides are the bound's.
      b.setInsertionPoint(alloc);
      auto view = memref::ReinterpretCastOp::create(
          b, alloc.getLoc(), type, buffer, b.getIndexAttr(0),
          alloc.getMixedSizes(),
          getAsIndexOpFoldResult(b.getContext(), computeStrides(shape)));
      alloc.getResult().replaceAllUsesWith(view.getResult());
      alloc.erase();
    }
  }
};

} // namespace
