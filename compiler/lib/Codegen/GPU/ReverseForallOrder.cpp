//===- ReverseForallOrder.cpp - Mapped foralls, last to first ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-reverse-forall-order: the host-semantics
// check runs each mapped forall's iterations last to first (see the pass
// description).
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPUREVERSEFORALLORDERPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoEGPUReverseForallOrderPass
    : moe::impl::MoEGPUReverseForallOrderPassBase<
          MoEGPUReverseForallOrderPass> {
  void runOnOperation() override {
    getOperation().walk([](scf::ForallOp forall) {
      // Normalized: iterations 0 .. ub - 1 (moe-gpu-distribute makes them).
      if (!forall.getMapping() || !forall.isNormalized())
        return;
      OpBuilder b = OpBuilder::atBlockBegin(forall.getBody());
      Location loc = forall.getLoc();
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      for (auto [iv, upper] :
           llvm::zip(forall.getInductionVars(), forall.getMixedUpperBound())) {
        Value last = arith::SubIOp::create(
            b, loc, getValueOrCreateConstantIndexOp(b, loc, upper), one);
        auto reversed = arith::SubIOp::create(b, loc, last, iv);
        iv.replaceAllUsesExcept(reversed, reversed);
      }
    });
  }
};

} // namespace
