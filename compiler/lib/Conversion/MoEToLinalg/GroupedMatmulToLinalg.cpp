//===- GroupedMatmulToLinalg.cpp - moe.grouped_matmul to linalg -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.grouped_matmul` to an `scf.for` over the experts
// whose body runs one `linalg.generic` contraction on that expert's own
// segment of rows `[offsets[e], offsets[e + 1])`. The work is proportional
// to the rows routed to each expert; an expert with no rows does none.
//
// When the destination is a `linalg.fill` (the usual zero start of an
// accumulation), the fill moves into the loop, one segment at a time, so
// that several grouped matmuls starting from one shared fill do not force
// bufferization to copy it.
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::moe;

namespace {

struct GroupedMatmulToLinalg : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    Value weight = op.getWeight();
    Value offsets = op.getExpertOffsets();
    Value bias = op.getBias();
    auto inputType = cast<RankedTensorType>(input.getType());
    auto weightType = cast<RankedTensorType>(weight.getType());
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    int64_t numExperts = weightType.getDimSize(0);
    bool weightKN = op.getWeightKn();
    bool weightVnni = op.getWeightVnni();
    // N, in every weight layout (the verifier ties them together).
    OpFoldResult outWidth =
        tensor::getMixedSize(rewriter, loc, op.getInit(), 1);
    OpFoldResult zero = rewriter.getIndexAttr(0);
    OpFoldResult one = rewriter.getIndexAttr(1);
    // One expert's weight: the weight without its leading E dimension.
    auto expertWeightType = RankedTensorType::get(
        weightType.getShape().drop_front(), weightType.getElementType());
    auto segmentInputType =
        RankedTensorType::get({ShapedType::kDynamic, inputType.getDimSize(1)},
                              inputType.getElementType());
    auto segmentOutputType =
        RankedTensorType::get({ShapedType::kDynamic, initType.getDimSize(1)},
                              initType.getElementType());

    // A filled destination: iterate over the unfilled tensor and fill each
    // segment (and the unused tail rows) as it is reached.
    Value destination = op.getInit();
    Value fillValue;
    if (auto fill = destination.getDefiningOp<linalg::FillOp>()) {
      fillValue = fill.getInputs().front();
      destination = fill.getOutputs().front();
    }
    auto fillRows = [&](OpBuilder &b, Value tensor, OpFoldResult start,
                        OpFoldResult rows) -> Value {
      Value slice =
          tensor::ExtractSliceOp::create(b, loc, segmentOutputType, tensor,
                                         ArrayRef<OpFoldResult>{start, zero},
                                         ArrayRef<OpFoldResult>{rows, outWidth},
                                         ArrayRef<OpFoldResult>{one, one});
      Value filled =
          linalg::FillOp::create(b, loc, fillValue, slice).getResult(0);
      return tensor::InsertSliceOp::create(
          b, loc, filled, tensor, ArrayRef<OpFoldResult>{start, zero},
          ArrayRef<OpFoldResult>{rows, outWidth},
          ArrayRef<OpFoldResult>{one, one});
    };

    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value experts = arith::ConstantIndexOp::create(rewriter, loc, numExperts);
    auto loop = scf::ForOp::create(
        rewriter, loc, c0, experts, c1, ValueRange{destination},
        [&](OpBuilder &b, Location, Value e, ValueRange args) {
          auto offsetAt = [&](Value index) -> Value {
            return arith::IndexCastOp::create(
                b, loc, b.getIndexType(),
                tensor::ExtractOp::create(b, loc, offsets, ValueRange{index}));
          };
          Value start = offsetAt(e);
          Value end = offsetAt(arith::AddIOp::create(b, loc, e, c1));
          Value rows = arith::SubIOp::create(b, loc, end, start);

          // An expert with no rows does nothing (no work, and no threads
          // woken for it).
          Value hasRows = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::sgt, rows, c0);
          auto segmentOp = scf::IfOp::create(
              b, loc, hasRows,
              [&](OpBuilder &b, Location) {
                Value segment = tensor::ExtractSliceOp::create(
                    b, loc, segmentInputType, input,
                    ArrayRef<OpFoldResult>{start, zero},
                    ArrayRef<OpFoldResult>{
                        rows, tensor::getMixedSize(b, loc, input, 1)},
                    ArrayRef<OpFoldResult>{one, one});
                int64_t rank = weightType.getRank();
                SmallVector<OpFoldResult> weightOffsets(rank, zero),
                    weightSizes = tensor::getMixedSizes(b, loc, weight),
                    weightStrides(rank, one);
                weightOffsets[0] = e;
                weightSizes[0] = one;
                Value expertWeight = tensor::ExtractSliceOp::create(
                    b, loc, expertWeightType, weight, weightOffsets,
                    weightSizes, weightStrides);
                Value target =
                    fillValue ? fillRows(b, args[0], start, rows) : args[0];
                Value accumulator = tensor::ExtractSliceOp::create(
                    b, loc, segmentOutputType, target,
                    ArrayRef<OpFoldResult>{start, zero},
                    ArrayRef<OpFoldResult>{rows, outWidth},
                    ArrayRef<OpFoldResult>{one, one});

                Value product, contraction;
                // [rows, X * Y] as [rows, X, Y].
                auto split = [&](Value value, int64_t outer,
                                 int64_t inner) -> Value {
                    auto type = cast<RankedTensorType>(value.getType());
                    return tensor::ExpandShapeOp::create(
                        b, loc,
                        RankedTensorType::get(
                            {ShapedType::kDynamic, outer, inner},
                            type.getElementType()),
                        value, ArrayRef<ReassociationIndices>{{0}, {1, 2}},
                        ArrayRef<OpFoldResult>{rows, b.getIndexAttr(outer),
                                               b.getIndexAttr(inner)});
                };
                auto joinPanels = [&](Value panelOutput) -> Value {
                  return tensor::CollapseShapeOp::create(
                      b, loc, segmentOutputType, panelOutput,
                      ArrayRef<ReassociationIndices>{{0}, {1, 2}});
                };
                if (weightVnni) {
                  // The rows' k pairs, [rows, K] as [rows, K/2, 2], and
                  // their output, [rows, N] as [rows, N/P, P].
                  contraction = buildMatmulVnni(
                      b, loc, split(segment, weightType.getDimSize(2), 2),
                      expertWeight,
                      split(accumulator, weightType.getDimSize(1),
                            weightType.getDimSize(3)));
                  product = joinPanels(contraction);
                } else if (weightKN && weightType.getRank() == 4) {
                  // The output in the weight's panels: [rows, N/P, P].
                  contraction = buildMatmulPanels(
                      b, loc, segment, expertWeight,
                      split(accumulator, weightType.getDimSize(1),
                            weightType.getDimSize(3)));
                  product = joinPanels(contraction);
                } else if (weightKN) {
                  product = contraction = buildMatmul(
                      b, loc, segment, expertWeight, accumulator);
                } else {
                  product = contraction = buildMatmulTransposedRhs(
                      b, loc, segment, expertWeight, accumulator);
                }
                // Tagged for the target's tiling and vectorization.
                contraction.getDefiningOp()->setAttr(kSegmentMatmulAttrName,
                                                     b.getUnitAttr());
                if (bias) {
                  auto biasType = cast<RankedTensorType>(bias.getType());
                  Value expertBias = tensor::ExtractSliceOp::create(
                      b, loc,
                      RankedTensorType::get({biasType.getDimSize(1)},
                                            biasType.getElementType()),
                      bias, ArrayRef<OpFoldResult>{e, zero},
                      ArrayRef<OpFoldResult>{one, outWidth},
                      ArrayRef<OpFoldResult>{one, one});
                  product = buildAddRowBias(b, loc, product, expertBias);
                }
                Value updated = tensor::InsertSliceOp::create(
                    b, loc, product, target,
                    ArrayRef<OpFoldResult>{start, zero},
                    ArrayRef<OpFoldResult>{rows, outWidth},
                    ArrayRef<OpFoldResult>{one, one});
                scf::YieldOp::create(b, loc, ValueRange{updated});
              },
              [&](OpBuilder &b, Location) {
                scf::YieldOp::create(b, loc, ValueRange{args[0]});
              });
          scf::YieldOp::create(b, loc, segmentOp.getResults());
        });
    Value result = loop.getResult(0);
    if (fillValue) {
      // Rows from offsets[E] on belong to no expert but keep the fill.
      Value used = arith::IndexCastOp::create(
          rewriter, loc, rewriter.getIndexType(),
          tensor::ExtractOp::create(rewriter, loc, offsets,
                                    ValueRange{experts}));
      Value total = tensor::DimOp::create(rewriter, loc, result, 0);
      Value tail = arith::SubIOp::create(rewriter, loc, total, used);
      result = fillRows(rewriter, result, used, tail);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::moe::populateMoEGroupedMatmulToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<GroupedMatmulToLinalg>(patterns.getContext());
}
