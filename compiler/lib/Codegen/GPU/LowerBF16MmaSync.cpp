//===- LowerBF16MmaSync.cpp - nvgpu.mma.sync on bf16 to NVVM ----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-gpu-lower-bf16-mma-sync: nvgpu.mma.sync m16n8k16
// with bf16 operands and f32 accumulators becomes nvvm.mma.sync, which
// upstream's convert-nvgpu-to-nvvm cannot do (it finds no PTX type for
// bf16). See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEGPULOWERBF16MMASYNCPASS
#include "moe/Codegen/GPU/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

/// nvgpu.mma.sync (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>),
/// shape [16, 8, 16] -> nvvm.mma.sync on the fragments' 32-bit registers
/// (each a pair of bf16, the first in the low half, as PTX packs them).
struct BF16MmaSyncToNVVM : OpRewritePattern<nvgpu::MmaSyncOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(nvgpu::MmaSyncOp op,
                                PatternRewriter &rewriter) const override {
    auto aType = cast<VectorType>(op.getMatrixA().getType());
    auto bType = cast<VectorType>(op.getMatrixB().getType());
    auto cType = cast<VectorType>(op.getMatrixC().getType());
    std::array<int64_t, 3> shape = op.getMmaShapeAsArray();
    if (!aType.getElementType().isBF16() || !bType.getElementType().isBF16())
      return failure();
    if (!cType.getElementType().isF32() ||
        shape != std::array<int64_t, 3>{kMmaRows, kMmaCols, kMmaDepth} ||
        aType.getShape() != ArrayRef<int64_t>{4, 2} ||
        bType.getShape() != ArrayRef<int64_t>{2, 2} ||
        cType.getShape() != ArrayRef<int64_t>{2, 2})
      return rewriter.notifyMatchFailure(
          op, "expected m16n8k16 with bf16 operands and f32 accumulators");
    Location loc = op.getLoc();
    Type i32 = rewriter.getI32Type();
    auto registers = [&](Value fragment, int64_t count) {
      SmallVector<Value> result;
      for (int64_t i = 0; i < count; ++i) {
        Value pair = vector::ExtractOp::create(rewriter, loc, fragment,
                                               ArrayRef<int64_t>{i});
        Value word = vector::BitCastOp::create(rewriter, loc,
                                               VectorType::get({1}, i32), pair);
        result.push_back(vector::ExtractOp::create(rewriter, loc, word,
                                                   ArrayRef<int64_t>{0}));
      }
      return result;
    };
    SmallVector<Value> a = registers(op.getMatrixA(), 4);
    SmallVector<Value> b = registers(op.getMatrixB(), 2);
    SmallVector<Value> c;
    for (int64_t i = 0; i < 4; ++i)
      c.push_back(vector::ExtractOp::create(rewriter, loc, op.getMatrixC(),
                                            ArrayRef<int64_t>{i / 2, i % 2}));
    Type f32 = rewriter.getF32Type();
    auto resultType = LLVM::LLVMStructType::getLiteral(
        rewriter.getContext(), SmallVector<Type>(4, f32));
    Value product =
        NVVM::MmaOp::create(rewriter, loc, resultType, a, b, c,
                            /*shape=*/{kMmaRows, kMmaCols, kMmaDepth},
                            /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
                            /*multiplicandPtxTypes=*/
                            std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                                          NVVM::MMATypes::bf16},
                            /*multiplicandLayouts=*/
                            std::array<NVVM::MMALayout, 2>{
                                NVVM::MMALayout::row, NVVM::MMALayout::col});
    SmallVector<Value> d;
    for (int64_t i = 0; i < 4; ++i)
      d.push_back(LLVM::ExtractValueOp::create(rewriter, loc, product, i));
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(op, cType, d);
    return success();
  }
};

struct MoEGPULowerBF16MmaSyncPass
    : moe::impl::MoEGPULowerBF16MmaSyncPassBase<MoEGPULowerBF16MmaSyncPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<BF16MmaSyncToNVVM>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
