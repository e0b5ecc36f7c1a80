//===- GroupedMatmulToLinalg.cpp - moe.grouped_matmul to linalg -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `moe.grouped_matmul` and `moe.grouped_gated_matmul` to an
// `scf.for` over the experts whose body runs `linalg.generic` contractions
// on that expert's own segment of rows `[offsets[e], offsets[e + 1])`. The
// work is proportional to the rows routed to each expert; an expert with no
// rows does none. A gated matmul's two contractions feed one elementwise
// epilogue per segment, which targets tile and fuse with them. It also
// lowers `moe.gated_activation` to an elementwise `linalg.generic`.
//
// When the destination is a `linalg.fill` (the usual zero start of an
// accumulation), the fill moves into the loop, one segment at a time, so
// that several grouped matmuls starting from one shared fill do not force
// bufferization to copy it. Rows past the last segment keep the fill unless
// every user reads segment rows only (the combine, and grouped matmuls over
// the same segments): then nothing fills them (on the GPU, a kernel fewer).
//
//===----------------------------------------------------------------------===//

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Activations.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Whether every user of `result`, the [R, N] rows of the segments of
/// `offsets`, reads rows of those segments only: a combine of them, or a
/// grouped matmul over the same segments taking them as its input.
bool onlySegmentRowsRead(Value result, Value offsets) {
  return llvm::all_of(result.getUses(), [&](OpOperand &use) {
    Operation *user = use.getOwner();
    if (auto combine = dyn_cast<CombineOp>(user))
      return &use == &combine.getInputMutable() &&
             combine.getExpertOffsets() == offsets;
    if (auto matmul = dyn_cast<GroupedMatmulOp>(user))
      return &use == &matmul.getInputMutable() &&
             matmul.getExpertOffsets() == offsets;
    // With token ids, a gated matmul's input is token rows.
    if (auto gated = dyn_cast<GroupedGatedMatmulOp>(user))
      return &use == &gated.getInputMutable() && !gated.getTokenIds() &&
             gated.getExpertOffsets() == offsets;
    return false;
  });
}

/// [R', N] slices of `tensor` [R, N]: rows `[start, start + rows)`.
Value extractRows(OpBuilder &b, Location loc, Value tensor, Value start,
                  Value rows) {
  auto type = cast<RankedTensorType>(tensor.getType());
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return tensor::ExtractSliceOp::create(
      b, loc,
      RankedTensorType::get({ShapedType::kDynamic, type.getDimSize(1)},
                            type.getElementType()),
      tensor, ArrayRef<OpFoldResult>{start, zero},
      ArrayRef<OpFoldResult>{rows, tensor::getMixedSize(b, loc, tensor, 1)},
      ArrayRef<OpFoldResult>{one, one});
}

/// Builds, for each expert e with rows, `body(b, e, segmentStart, rows,
/// destination)` over the segment `[offsets[e], offsets[e + 1])` of
/// `destination` [R, N], which yields the updated destination. A
/// `linalg.fill` destination is filled one segment at a time (and, with
/// `fillPastSegments`, its rows from offsets[E] on at the end), so that
/// several grouped matmuls starting from one shared fill do not force
/// bufferization to copy it. A `tokenRows` destination ([T, N], a combining
/// matmul's) is passed whole to every segment, fill or not.
using SegmentBody = function_ref<Value(OpBuilder &b, Value e, Value start,
                                       Value rows, Value destination)>;
Value buildSegmentLoop(OpBuilder &builder, Location loc, Value offsets,
                       int64_t numExperts, Value destination,
                       bool fillPastSegments, SegmentBody body,
                       bool tokenRows = false) {
  Value fillValue;
  auto fill = destination.getDefiningOp<linalg::FillOp>();
  if (fill && !tokenRows) {
    fillValue = fill.getInputs().front();
    destination = fill.getOutputs().front();
  }
  // `tensor` ([R, N]) with its rows [start, start + rows) filled.
  auto fillRows = [&](OpBuilder &b, Value tensor, Value start,
                      Value rows) -> Value {
    auto slice = extractRows(b, loc, tensor, start, rows)
                     .getDefiningOp<tensor::ExtractSliceOp>();
    Value filled = linalg::FillOp::create(b, loc, fillValue, slice.getResult())
                       .getResult(0);
    return tensor::InsertSliceOp::create(
        b, loc, filled, tensor, slice.getMixedOffsets(), slice.getMixedSizes(),
        slice.getMixedStrides());
  };

  Value c0 = arith::ConstantIndexOp::create(builder, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(builder, loc, 1);
  Value experts = arith::ConstantIndexOp::create(builder, loc, numExperts);
  auto offsetAt = [&](OpBuilder &b, Value index) -> Value {
    return arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        tensor::ExtractOp::create(b, loc, offsets, ValueRange{index}));
  };
  auto loop = scf::ForOp::create(
      builder, loc, c0, experts, c1, ValueRange{destination},
      [&](OpBuilder &b, Location, Value e, ValueRange args) {
        Value start = offsetAt(b, e);
        Value end = offsetAt(b, arith::AddIOp::create(b, loc, e, c1));
        Value rows = arith::SubIOp::create(b, loc, end, start);
        // An expert with no rows does nothing (no work, and no threads
        // woken for it).
        Value hasRows =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, rows, c0);
        auto segmentOp = scf::IfOp::create(
            b, loc, hasRows,
            [&](OpBuilder &b, Location) {
              Value target =
                  fillValue ? fillRows(b, args[0], start, rows) : args[0];
              scf::YieldOp::create(b, loc,
                                   body(b, e, start, rows, target));
            },
            [&](OpBuilder &b, Location) {
              scf::YieldOp::create(b, loc, ValueRange{args[0]});
            });
        scf::YieldOp::create(b, loc, segmentOp.getResults());
      });
  loop->setAttr(kSegmentLoopAttrName, builder.getUnitAttr());
  Value result = loop.getResult(0);
  if (fillValue && fillPastSegments) {
    // Rows from offsets[E] on belong to no expert but keep the fill.
    Value used = offsetAt(builder, experts);
    Value total = tensor::DimOp::create(builder, loc, result, 0);
    Value tail = arith::SubIOp::create(builder, loc, total, used);
    result = fillRows(builder, result, used, tail);
  }
  return result;
}

/// The [rows, K] rows of `input` [T, K] that segment rows `[start, start +
/// rows)` gather through `tokenIds`, a padding row's -1 reading row 0 (what
/// moe.permute would have copied there), as a `linalg.generic` tagged
/// `moe.segment_gather`: targets fuse it into their tiles, so that each
/// tile reads its rows where they are. With `kPairs` > 0 the rows come as
/// [rows, K/2, 2], the k pairs of the pair layout (see kPairCount).
Value gatherRows(OpBuilder &b, Location loc, Value input, Value tokenIds,
                 Value start, Value rows, int64_t kPairs) {
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<OpFoldResult> sizes = {rows};
  if (kPairs > 0)
    sizes.append({b.getIndexAttr(kPairs), b.getIndexAttr(2)});
  else
    sizes.push_back(tensor::getMixedSize(b, loc, input, 1));
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  unsigned rank = sizes.size();
  auto gather = linalg::GenericOp::create(
      b, loc, empty.getType(), ValueRange{}, ValueRange{empty},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank)},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nloc, ValueRange) {
        Value row = arith::AddIOp::create(nb, nloc, start,
                                          linalg::IndexOp::create(nb, nloc, 0));
        Value token = tensor::ExtractOp::create(nb, nloc, tokenIds, row);
        Value zero = arith::ConstantIntOp::create(nb, nloc, token.getType(), 0);
        Value tokenRow = arith::IndexCastOp::create(
            nb, nloc, nb.getIndexType(),
            arith::MaxSIOp::create(nb, nloc, token, zero));
        // Column 2 pair + p of a pair's element p.
        Value column = linalg::IndexOp::create(nb, nloc, 1);
        if (kPairs > 0) {
          Value two = arith::ConstantIndexOp::create(nb, nloc, 2);
          column = arith::AddIOp::create(
              nb, nloc, arith::MulIOp::create(nb, nloc, column, two),
              linalg::IndexOp::create(nb, nloc, 2));
        }
        linalg::YieldOp::create(
            nb, nloc,
            tensor::ExtractOp::create(nb, nloc, input,
                                      ValueRange{tokenRow, column})
                .getResult());
      });
  gather->setAttr(kSegmentGatherAttrName, b.getUnitAttr());
  return gather.getResult(0);
}

Value insertRows(OpBuilder &b, Location loc, Value rowsValue, Value tensor,
                 Value start, Value rows) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  // The row count as the segment loop has it (not a dim of `rowsValue`),
  // so that this insert matches, and folds with, the segment's fill.
  return tensor::InsertSliceOp::create(
      b, loc, rowsValue, tensor, ArrayRef<OpFoldResult>{start, zero},
      ArrayRef<OpFoldResult>{rows,
                             tensor::getMixedSize(b, loc, rowsValue, 1)},
      ArrayRef<OpFoldResult>{one, one});
}

/// Expert e's slice of a stacked [E, ...] tensor, without its E dimension.
Value extractExpert(OpBuilder &b, Location loc, Value stacked, Value e) {
  auto type = cast<RankedTensorType>(stacked.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      sizes = tensor::getMixedSizes(b, loc, stacked),
      strides(rank, b.getIndexAttr(1));
  offsets[0] = e;
  sizes[0] = b.getIndexAttr(1);
  return tensor::ExtractSliceOp::create(
      b, loc,
      RankedTensorType::get(type.getShape().drop_front(),
                            type.getElementType()),
      stacked, offsets, sizes, strides);
}

/// [rows, X * Y] as [rows, X, Y].
Value splitColumns(OpBuilder &b, Location loc, Value value, int64_t outer,
                   int64_t inner) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, value, 0),
                                     b.getIndexAttr(outer),
                                     b.getIndexAttr(inner)};
  return tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({type.getDimSize(0), outer, inner},
                            type.getElementType()),
      value, ArrayRef<ReassociationIndices>{{0}, {1, 2}}, sizes);
}

/// [rows, X, Y] as [rows, X * Y].
Value joinColumns(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return tensor::CollapseShapeOp::create(
      b, loc,
      RankedTensorType::get({type.getDimSize(0),
                             type.getDimSize(1) * type.getDimSize(2)},
                            type.getElementType()),
      value, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
}

/// The k pairs a row of `layout`'s matmul takes, K/2, from its stacked
/// weight (pair_panels: [E, N/P, K/2, P, 2]); 0 for the other layouts.
int64_t kPairCount(WeightLayout layout, Type stackedWeightType) {
  return layout == WeightLayout::pair_panels
             ? cast<RankedTensorType>(stackedWeightType).getDimSize(2)
             : 0;
}

/// The rows' k pairs, [rows, K] as [rows, K/2, 2], for `kPairs` > 0 (see
/// kPairCount); the rows themselves otherwise.
Value splitPairs(OpBuilder &b, Location loc, Value segment, int64_t kPairs) {
  if (kPairs == 0)
    return segment;
  return splitColumns(b, loc, segment, kPairs, 2);
}

/// Accumulates `segment` [rows, K] ([rows, K/2, 2] for pairs) times
/// `expertWeight` into `accumulator`, tagged for the target's tiling. With
/// panels (and pairs) the accumulator is [rows, N/P, P], the contraction's
/// own output shape; otherwise [rows, N].
Value buildSegmentContraction(OpBuilder &b, Location loc, WeightLayout layout,
                              Value segment, Value expertWeight,
                              Value accumulator) {
  Value contraction;
  switch (layout) {
  case WeightLayout::pair_panels:
    // `segment` is [rows, K/2, 2] (see splitPairs).
    contraction = buildMatmulVnni(b, loc, segment, expertWeight, accumulator);
    break;
  case WeightLayout::panels:
    contraction = buildMatmulPanels(b, loc, segment, expertWeight,
                                    accumulator);
    break;
  case WeightLayout::kn:
    contraction = buildMatmul(b, loc, segment, expertWeight, accumulator);
    break;
  case WeightLayout::nk:
    contraction =
        buildMatmulTransposedRhs(b, loc, segment, expertWeight, accumulator);
    break;
  }
  contraction.getDefiningOp()->setAttr(kSegmentMatmulAttrName,
                                       b.getUnitAttr());
  return contraction;
}

/// The [N/P, P] a segment output's N columns split into in `layout`'s
/// contraction: the panels' and pairs' [E, N/P, K, P] weights; none for the
/// others, whose contraction keeps [rows, N].
std::optional<std::pair<int64_t, int64_t>> panelColumns(WeightLayout layout,
                                                        Type weightType) {
  if (layout != WeightLayout::panels && layout != WeightLayout::pair_panels)
    return std::nullopt;
  auto type = cast<RankedTensorType>(weightType);
  return std::make_pair(type.getDimSize(1), type.getDimSize(3));
}

/// The shape a segment's output [rows, N] takes in `layout`'s contraction
/// (see panelColumns).
Value toContractionShape(OpBuilder &b, Location loc, WeightLayout layout,
                         Type weightType, Value rowsValue) {
  std::optional<std::pair<int64_t, int64_t>> panels =
      panelColumns(layout, weightType);
  if (!panels)
    return rowsValue;
  return splitColumns(b, loc, rowsValue, panels->first, panels->second);
}

/// The body of a combining matmul's segment loop (moe-fuse-combine): the
/// segment's product, from zero, in its contraction's shape, and
/// `moe.segment_combine` adding its rows into `target`, the token rows (in
/// the product's shape: [T, N/P, P] for panels without a bias), as the
/// contraction's epilogue. Targets tile and fuse the two; the segment's
/// [rows, N] product is never a tensor of the whole call.
Value buildCombiningSegment(OpBuilder &b, Location loc, GroupedMatmulOp op,
                            Value e, Value start, Value rows, Value target) {
  WeightLayout layout = op.getWeightLayout();
  Value weight = op.getWeight();
  Value segment =
      splitPairs(b, loc, extractRows(b, loc, op.getInput(), start, rows),
                 kPairCount(layout, weight.getType()));
  // [rows, N] in the contraction's shape.
  SmallVector<OpFoldResult> sizes = {rows};
  if (std::optional<std::pair<int64_t, int64_t>> panels =
          panelColumns(layout, weight.getType()))
    sizes.append(
        {b.getIndexAttr(panels->first), b.getIndexAttr(panels->second)});
  else
    sizes.push_back(b.getIndexAttr(
        cast<RankedTensorType>(op.getInit().getType()).getDimSize(1)));
  Value zero = createZeroTensor(
      b, loc, sizes, cast<RankedTensorType>(target.getType()).getElementType());
  Value product = buildSegmentContraction(
      b, loc, layout, segment, extractExpert(b, loc, weight, e), zero);
  if (Value bias = op.getBias()) {
    // The bias joins the product in the [rows, N] shape.
    if (cast<RankedTensorType>(product.getType()).getRank() == 3)
      product = joinColumns(b, loc, product);
    product = buildAddRowBias(b, loc, product, extractExpert(b, loc, bias, e));
  }
  auto rowsOf = [&](Value vector) -> Value {
    return tensor::ExtractSliceOp::create(
        b, loc, vector, ArrayRef<OpFoldResult>{start},
        ArrayRef<OpFoldResult>{rows},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  };
  return SegmentCombineOp::create(b, loc, target.getType(), product,
                                  rowsOf(op.getTokenIds()),
                                  rowsOf(op.getRowWeights()), target)
      .getResult();
}

struct GroupedMatmulToLinalg : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    if (op.hasCombine()) {
      int64_t numExperts =
          cast<RankedTensorType>(op.getWeight().getType()).getDimSize(0);
      // The loop carries the token rows in the product's shape: reshaped
      // once, outside it (inside, a segment loop that folds away would leave
      // the reshape of a fill that bufferization must copy).
      Value tokenRows = op.getInit();
      if (!op.getBias())
        tokenRows = toContractionShape(rewriter, loc, op.getWeightLayout(),
                                       op.getWeight().getType(), tokenRows);
      Value result = buildSegmentLoop(
          rewriter, loc, op.getExpertOffsets(), numExperts, tokenRows,
          /*fillPastSegments=*/false,
          [&](OpBuilder &b, Value e, Value start, Value rows,
              Value target) -> Value {
            return buildCombiningSegment(b, loc, op, e, start, rows, target);
          },
          /*tokenRows=*/true);
      if (cast<RankedTensorType>(result.getType()).getRank() == 3)
        result = joinColumns(rewriter, loc, result);
      rewriter.replaceOp(op, result);
      return success();
    }
    Value weight = op.getWeight();
    Value bias = op.getBias();
    WeightLayout layout = op.getWeightLayout();
    int64_t numExperts = cast<RankedTensorType>(weight.getType()).getDimSize(0);
    Value result = buildSegmentLoop(
        rewriter, loc, op.getExpertOffsets(), numExperts, op.getInit(),
        !onlySegmentRowsRead(op.getResult(), op.getExpertOffsets()),
        [&](OpBuilder &b, Value e, Value start, Value rows,
            Value target) -> Value {
          Value segment = extractRows(b, loc, op.getInput(), start, rows);
          Value expertWeight = extractExpert(b, loc, weight, e);
          Value accumulatorRows = extractRows(b, loc, target, start, rows);
          segment =
              splitPairs(b, loc, segment, kPairCount(layout, weight.getType()));
          Value accumulator = toContractionShape(b, loc, layout,
                                                 weight.getType(),
                                                 accumulatorRows);
          Value product = buildSegmentContraction(
              b, loc, layout, segment, expertWeight, accumulator);
          if (cast<RankedTensorType>(product.getType()).getRank() == 3)
            product = joinColumns(b, loc, product);
          if (bias)
            product = buildAddRowBias(b, loc, product,
                                      extractExpert(b, loc, bias, e));
          return insertRows(b, loc, product, target, start, rows);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The body of a gated epilogue: `act(gate + gateBias) * (up + upBias)`
/// for `args` = (gate, up, [gateBias], [upBias], out), in the accumulators'
/// type, rounded to the out's.
Value buildGatedEpilogue(OpBuilder &b, Location loc, ValueRange args,
                         bool hasGateBias, bool hasUpBias,
                         Activation activation, float alpha, float limit) {
  Type type = args.front().getType();
  Value gate = args[0], up = args[1];
  unsigned next = 2;
  if (hasGateBias)
    gate = arith::AddFOp::create(b, loc, gate,
                                 convertFloat(b, loc, args[next++], type));
  if (hasUpBias)
    up = arith::AddFOp::create(b, loc, up,
                               convertFloat(b, loc, args[next++], type));
  return convertFloat(
      b, loc, buildGatedActivation(b, loc, activation, gate, up, alpha, limit),
      args.back().getType());
}

float swigluAlpha(std::optional<APFloat> alpha) {
  return alpha ? alpha->convertToFloat() : kSwigluOaiDefaultAlpha;
}

float swigluLimit(std::optional<APFloat> limit) {
  return limit ? limit->convertToFloat() : kSwigluOaiDefaultLimit;
}

struct GroupedGatedMatmulToLinalg : OpRewritePattern<GroupedGatedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedGatedMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type weightType = op.getGateWeight().getType();
    WeightLayout layout = op.getWeightLayout();
    int64_t numExperts = cast<RankedTensorType>(weightType).getDimSize(0);
    auto initType = cast<RankedTensorType>(op.getInit().getType());
    // A result narrower than f32 (moe-gpu-narrow-activations') accumulates
    // and activates in f32, rounded once as it is stored.
    Type floatType = initType.getElementType();
    if (floatType.getIntOrFloatBitWidth() < 32)
      floatType = rewriter.getF32Type();
    float alpha = swigluAlpha(op.getSwigluAlpha());
    float limit = swigluLimit(op.getSwigluLimit());
    Activation activation = op.getActivation();
    Value result = buildSegmentLoop(
        rewriter, loc, op.getExpertOffsets(), numExperts, op.getInit(),
        !onlySegmentRowsRead(op.getResult(), op.getExpertOffsets()),
        [&](OpBuilder &b, Value e, Value start, Value rows,
            Value target) -> Value {
          int64_t kPairs = kPairCount(layout, weightType);
          Value segment =
              op.getTokenIds()
                  ? gatherRows(b, loc, op.getInput(), op.getTokenIds(), start,
                               rows, kPairs)
                  : splitPairs(b, loc,
                               extractRows(b, loc, op.getInput(), start, rows),
                               kPairs);
          Value out = toContractionShape(
              b, loc, layout, weightType,
              extractRows(b, loc, target, start, rows));
          // Each projection accumulates from zero in its own tensor: the
          // target fuses these into the epilogue's tiles.
          auto outType = cast<RankedTensorType>(out.getType());
          SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, out);
          auto project = [&](Value weight) -> Value {
            Value zero = createZeroTensor(b, loc, sizes, floatType);
            return buildSegmentContraction(b, loc, layout, segment,
                                           extractExpert(b, loc, weight, e),
                                           zero);
          };
          SmallVector<Value> inputs = {project(op.getGateWeight()),
                                       project(op.getUpWeight())};
          int64_t rank = outType.getRank();
          AffineMap identity = b.getMultiDimIdentityMap(rank);
          SmallVector<AffineMap> maps = {identity, identity};
          for (Value bias : {op.getGateBias(), op.getUpBias()}) {
            if (!bias)
              continue;
            Value expertBias = extractExpert(b, loc, bias, e);
            if (rank == 3) {
              // [N] as [N/P, P], like the output's columns.
              auto biasType = cast<RankedTensorType>(expertBias.getType());
              expertBias = tensor::ExpandShapeOp::create(
                  b, loc,
                  RankedTensorType::get(
                      {outType.getDimSize(1), outType.getDimSize(2)},
                      biasType.getElementType()),
                  expertBias, ArrayRef<ReassociationIndices>{{0, 1}});
            }
            inputs.push_back(expertBias);
            maps.push_back(identity.dropResult(0));
          }
          maps.push_back(identity);
          auto epilogue = linalg::GenericOp::create(
              b, loc, outType, inputs, out, maps,
              SmallVector<utils::IteratorType>(rank,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &nb, Location nloc, ValueRange args) {
                linalg::YieldOp::create(
                    nb, nloc,
                    buildGatedEpilogue(nb, nloc, args,
                                       static_cast<bool>(op.getGateBias()),
                                       static_cast<bool>(op.getUpBias()),
                                       activation, alpha, limit));
              });
          epilogue->setAttr(kSegmentEpilogueAttrName, b.getUnitAttr());
          Value product = epilogue.getResult(0);
          if (rank == 3)
            product = joinColumns(b, loc, product);
          return insertRows(b, loc, product, target, start, rows);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GatedActivationToLinalg : OpRewritePattern<GatedActivationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GatedActivationOp op,
                                PatternRewriter &rewriter) const override {
    float alpha = swigluAlpha(op.getSwigluAlpha());
    float limit = swigluLimit(op.getSwigluLimit());
    Activation activation = op.getActivation();
    AffineMap identity = rewriter.getMultiDimIdentityMap(2);
    rewriter.replaceOpWithNewOp<linalg::GenericOp>(
        op, op.getInit().getType(), ValueRange{op.getGate(), op.getUp()},
        op.getInit(), SmallVector<AffineMap>(3, identity),
        SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          linalg::YieldOp::create(
              b, nestedLoc,
              buildGatedActivation(b, nestedLoc, activation, args[0], args[1],
                                   alpha, limit));
        });
    return success();
  }
};

} // namespace

void mlir::moe::populateMoEGroupedMatmulToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<GatedActivationToLinalg, GroupedGatedMatmulToLinalg,
               GroupedMatmulToLinalg>(patterns.getContext());
}
