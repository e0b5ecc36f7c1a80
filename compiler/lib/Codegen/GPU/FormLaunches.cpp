//===- FormLaunches.cpp - Block-mapped foralls to gpu.launch ----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-form-launches: each top-level scf.forall that
// moe-gpu-distribute mapped to blocks becomes a gpu.launch, and upstream's
// thread mapping takes the foralls inside it (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"

#include "mlir/Dialect/GPU/TransformOps/GPUTransformOps.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUFORMLAUNCHESPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether `op` is a forall over the threads of a block, or its warps.
bool isThreadForall(Operation *op) {
  auto forall = dyn_cast<scf::ForallOp>(op);
  std::optional<ArrayAttr> mapping =
      forall ? forall.getMapping() : std::nullopt;
  return mapping && !mapping->empty() &&
         isa<gpu::GPUThreadMappingAttr, gpu::GPUWarpMappingAttr>(
             mapping->getValue().front());
}

/// The threads an iteration of `forall` takes: a warp's, or one.
int64_t threadsPerIteration(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && !mapping->empty() &&
                 isa<gpu::GPUWarpMappingAttr>(mapping->getValue().front())
             ? kNVIDIAWarpSize
             : 1;
}

/// Puts a barrier before each thread forall of `block` (and of the uniform
/// scf.ifs in it) that follows reads by every thread: without one, a fast
/// thread's write could overtake a slow thread's read of the same
/// location. (Upstream's thread mapping puts barriers after the foralls
/// only, which orders writes before later reads.)
void insertBarriersBeforeWrites(Block *block) {
  bool readSinceBarrier = false;
  for (Operation &op : llvm::make_early_inc_range(*block)) {
    if (isThreadForall(&op)) {
      if (readSinceBarrier) {
        OpBuilder b(&op);
        gpu::BarrierOp::create(b, op.getLoc());
      }
      // The mapping puts a barrier after it.
      readSinceBarrier = false;
      continue;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      for (Region &region : ifOp->getRegions())
        if (!region.empty())
          insertBarriersBeforeWrites(&region.front());
      // What follows the if may race with reads before it.
      readSinceBarrier = true;
      continue;
    }
    if (!isMemoryEffectFree(&op))
      readSinceBarrier = true;
  }
}

struct MoEGPUFormLaunchesPass
    : moe::impl::MoEGPUFormLaunchesPassBase<MoEGPUFormLaunchesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<scf::ForallOp> foralls;
    for (auto forall : func.getBody().front().getOps<scf::ForallOp>())
      foralls.push_back(forall);
    for (scf::ForallOp forall : foralls)
      if (failed(formLaunch(forall)))
        return signalPassFailure();
    if (failed(allocateOnDevice(func)))
      return signalPassFailure();
  }

  LogicalResult formLaunch(scf::ForallOp forall);
  LogicalResult allocateOnDevice(func::FuncOp func);
};

LogicalResult MoEGPUFormLaunchesPass::formLaunch(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  if (!mapping || forall.getNumResults() != 0 || !forall.isNormalized())
    return forall.emitError(
        "expected a normalized, block-mapped scf.forall (moe-gpu-distribute)");
  IRRewriter rewriter(forall);
  Location loc = forall.getLoc();
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  SmallVector<Value> grid(3, one);
  for (auto [attr, ub] :
       llvm::zip(mapping->getValue(), forall.getMixedUpperBound())) {
    auto blockAttr = dyn_cast<gpu::GPUBlockMappingAttr>(attr);
    if (!blockAttr)
      return forall.emitError("expected a #gpu.block mapping");
    grid[blockAttr.getMappingId()] =
        getValueOrCreateConstantIndexOp(rewriter, loc, ub);
  }
  // The block is as wide as its widest thread forall.
  int64_t width = 1;
  WalkResult walk = forall.getBody()->walk([&](scf::ForallOp inner) {
    ArrayRef<int64_t> counts = inner.getStaticUpperBound();
    if (counts.size() != 1 || ShapedType::isDynamic(counts.front()) ||
        !inner.isNormalized()) {
      inner.emitError("expected a one-dimensional thread forall of a static "
                      "trip count");
      return WalkResult::interrupt();
    }
    width = std::max(width, counts.front() * threadsPerIteration(inner));
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  Value widthValue = arith::ConstantIndexOp::create(rewriter, loc, width);
  auto launch = gpu::LaunchOp::create(rewriter, loc, grid[0], grid[1], grid[2],
                                      widthValue, one, one);
  Block &body = launch.getBody().front();
  Operation *terminator =
      body.empty() ? nullptr : dyn_cast<gpu::TerminatorOp>(body.back());
  if (!terminator) {
    rewriter.setInsertionPointToEnd(&body);
    terminator = gpu::TerminatorOp::create(rewriter, loc);
  }
  // The forall's iterations are the launch's blocks.
  SmallVector<Value> ivReplacements;
  gpu::KernelDim3 blockIds = launch.getBlockIds();
  Value ids[3] = {blockIds.x, blockIds.y, blockIds.z};
  for (Attribute attr : mapping->getValue())
    ivReplacements.push_back(
        ids[cast<gpu::GPUBlockMappingAttr>(attr).getMappingId()]);
  Block *forallBody = forall.getBody();
  rewriter.eraseOp(forallBody->getTerminator());
  rewriter.inlineBlockBefore(forallBody, terminator, ivReplacements);
  rewriter.eraseOp(forall);
  insertBarriersBeforeWrites(&body);
  rewriter.setInsertionPointToStart(&body);
  DiagnosedSilenceableFailure mapped =
      transform::gpu::mapNestedForallToThreadsImpl(
          rewriter, std::nullopt, launch, {width, 1, 1}, kNVIDIAWarpSize,
          /*syncAfterDistribute=*/true);
  if (!mapped.succeeded())
    return launch.emitError("cannot map this block's foralls to threads");
  return success();
}

LogicalResult MoEGPUFormLaunchesPass::allocateOnDevice(func::FuncOp func) {
  SmallVector<memref::AllocOp> allocs;
  for (auto alloc : func.getBody().front().getOps<memref::AllocOp>())
    allocs.push_back(alloc);
  for (memref::AllocOp alloc : allocs) {
    OpBuilder b(alloc);
    auto deviceAlloc = gpu::AllocOp::create(
        b, alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
        /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
        alloc.getSymbolOperands(), /*hostShared=*/false);
    SmallVector<Operation *> users(alloc->getUsers());
    for (Operation *user : users)
      if (auto dealloc = dyn_cast<memref::DeallocOp>(user)) {
        OpBuilder at(dealloc);
        gpu::DeallocOp::create(at, dealloc.getLoc(), Type(), ValueRange(),
                               deviceAlloc.getMemref());
        dealloc.erase();
      }
    alloc.replaceAllUsesWith(deviceAlloc.getMemref());
    alloc.erase();
  }
  return success();
}

} // namespace
