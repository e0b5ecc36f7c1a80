//===- MoEOps.cpp - MoE dialect operations ----------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the verifiers of the MoE dialect's ops. Every message
// names the offending operand or attribute and says what was expected.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::moe;

//===----------------------------------------------------------------------===//
// Verification helpers
//===----------------------------------------------------------------------===//

namespace {
/// The element types a tensor operand may have.
enum class ElementKind {
  /// f16, bf16, f32 or f64.
  Float,
  /// Signless 32-bit integers (expert indices, offsets, token ids).
  I32,
};

/// Verifies shapes and types of one op, naming operands in its messages.
class ShapeVerifier {
public:
  explicit ShapeVerifier(Operation *op) : op(op) {}

  /// Checks that `value` is a tensor of `rank` dimensions with elements of
  /// `kind`.
  LogicalResult tensor(Value value, StringRef name, int64_t rank,
                       ElementKind kind) const {
    auto type = cast<RankedTensorType>(value.getType());
    Type element = type.getElementType();
    bool elementOk = kind == ElementKind::Float
                         ? isa<Float16Type, BFloat16Type, Float32Type,
                               Float64Type>(element)
                         : element.isSignlessInteger(32);
    if (type.getRank() == rank && elementOk)
      return success();
    return op->emitOpError()
           << name << " must be a rank-" << rank << " tensor of "
           << (kind == ElementKind::Float ? "f16, bf16, f32 or f64" : "i32")
           << ", got " << type;
  }

  /// Checks that dimension `dim` of `value` is `expected`. A dynamic extent
  /// on either side is checked at run time instead.
  LogicalResult dim(Value value, StringRef name, unsigned dim,
                    int64_t expected, StringRef meaning) const {
    int64_t actual = extent(value, dim);
    if (ShapedType::isDynamic(actual) || ShapedType::isDynamic(expected) ||
        actual == expected)
      return success();
    return op->emitOpError() << name << " dimension " << dim << " ("
                             << meaning << ") must be " << expected
                             << ", got " << actual;
  }

  /// Checks that the static dimension `dim` of `value` is at least
  /// `minimum`.
  LogicalResult atLeast(Value value, StringRef name, unsigned dim,
                        int64_t minimum, StringRef meaning) const {
    int64_t actual = extent(value, dim);
    if (ShapedType::isDynamic(actual) || actual >= minimum)
      return success();
    return op->emitOpError() << name << " dimension " << dim << " ("
                             << meaning << ") must be at least " << minimum
                             << ", got " << actual;
  }

  /// Checks that dimension `dim` of `value` is known at compile time.
  LogicalResult staticDim(Value value, StringRef name, unsigned dim,
                          StringRef meaning) const {
    if (!ShapedType::isDynamic(extent(value, dim)))
      return success();
    return op->emitOpError() << name << " dimension " << dim << " ("
                             << meaning << ") must be static";
  }

  /// Checks that two tensors share an element type.
  LogicalResult sameElementType(Value lhs, StringRef lhsName, Value rhs,
                                StringRef rhsName) const {
    Type lhsElement = cast<ShapedType>(lhs.getType()).getElementType();
    Type rhsElement = cast<ShapedType>(rhs.getType()).getElementType();
    if (lhsElement == rhsElement)
      return success();
    return op->emitOpError() << rhsName << " element type " << rhsElement
                             << " must match " << lhsName << " element type "
                             << lhsElement;
  }

  static int64_t extent(Value value, unsigned dim) {
    return cast<ShapedType>(value.getType()).getDimSize(dim);
  }

private:
  Operation *op;
};

/// The value of an optional float attribute.
std::optional<double> optionalFloat(FloatAttr attr) {
  if (!attr)
    return std::nullopt;
  return attr.getValueAsDouble();
}

/// Expected size of an [E + 1] offsets vector.
int64_t offsetsSize(int64_t numExperts) { return numExperts + 1; }

/// Verifies an [E + 1] i32 offsets operand and returns E through
/// `numExperts`.
LogicalResult verifyOffsets(const ShapeVerifier &v, Value offsets,
                            int64_t &numExperts) {
  if (failed(v.tensor(offsets, "expert_offsets", 1, ElementKind::I32)) ||
      failed(v.staticDim(offsets, "expert_offsets", 0, "experts E + 1")))
    return failure();
  numExperts = ShapeVerifier::extent(offsets, 0) - 1;
  if (numExperts < 1)
    return v.atLeast(offsets, "expert_offsets", 0, 2, "experts E + 1");
  return success();
}

/// Verifies the top-k routing attributes shared by `moe.top_k` and
/// `moe.layer`.
LogicalResult verifyRoutingAttrs(Operation *op, int64_t numExperts, int64_t k,
                                 int64_t numGroups, int64_t topKGroups,
                                 float scalingFactor) {
  if (k < 1 || k > numExperts)
    return op->emitOpError() << "top-k k = " << k << " must be in [1, E = "
                             << numExperts << "]";
  if (numGroups < 1 || numExperts % numGroups != 0)
    return op->emitOpError() << "num_groups = " << numGroups
                             << " must be positive and divide E = "
                             << numExperts;
  if (topKGroups < 1 || topKGroups > numGroups)
    return op->emitOpError() << "top_k_groups = " << topKGroups
                             << " must be in [1, num_groups = " << numGroups
                             << "]";
  int64_t eligible = topKGroups * (numExperts / numGroups);
  if (k > eligible)
    return op->emitOpError()
           << "top-k k = " << k << " exceeds the " << eligible
           << " experts left eligible by top_k_groups = " << topKGroups;
  if (!std::isfinite(scalingFactor) || scalingFactor <= 0.0f)
    return op->emitOpError() << "scaling_factor = " << scalingFactor
                             << " must be positive and finite";
  return success();
}

/// Verifies an optional positive, finite float attribute.
LogicalResult verifyPositive(Operation *op, std::optional<double> value,
                             StringRef name) {
  if (!value || (std::isfinite(*value) && *value > 0.0))
    return success();
  return op->emitOpError() << name << " = " << *value
                           << " must be positive and finite";
}

/// Verifies an FFN's activation and its swiglu_oai parameters; `gated`
/// says whether a gate projection feeds it.
LogicalResult verifyActivationAttrs(Operation *op, Activation activation,
                                    bool gated,
                                    std::optional<double> swigluAlpha,
                                    std::optional<double> swigluLimit) {
  bool isSwiglu = activation == Activation::swiglu_oai;
  if (isSwiglu && !gated)
    return op->emitOpError() << "activation swiglu_oai requires a gate weight";
  if (!isSwiglu && (swigluAlpha || swigluLimit))
    return op->emitOpError()
           << "swiglu_alpha and swiglu_limit apply to activation swiglu_oai "
              "only, got activation "
           << stringifyActivation(activation);
  if (swigluAlpha && !std::isfinite(*swigluAlpha))
    return op->emitOpError() << "swiglu_alpha = " << *swigluAlpha
                             << " must be finite";
  return verifyPositive(op, swigluLimit, "swiglu_limit");
}

/// The expert weights of `moe.expert_ffn` and `moe.layer`.
struct ExpertWeights {
  Value gate, up, down, gateBias, upBias, downBias;
  Activation activation;
  std::optional<double> swigluAlpha, swigluLimit;
};

/// Verifies stacked expert weights for E experts of hidden size `hidden`.
LogicalResult verifyExpertWeights(Operation *op, const ShapeVerifier &v,
                                  const ExpertWeights &w, int64_t numExperts,
                                  int64_t hidden) {
  if (failed(v.tensor(w.up, "up", 3, ElementKind::Float)) ||
      failed(v.dim(w.up, "up", 0, numExperts, "experts E")) ||
      failed(v.dim(w.up, "up", 2, hidden, "hidden size D")) ||
      failed(v.staticDim(w.up, "up", 1, "intermediate size F")))
    return failure();
  int64_t intermediate = ShapeVerifier::extent(w.up, 1);
  if (w.gate &&
      (failed(v.tensor(w.gate, "gate", 3, ElementKind::Float)) ||
       failed(v.dim(w.gate, "gate", 0, numExperts, "experts E")) ||
       failed(v.dim(w.gate, "gate", 1, intermediate, "intermediate size F")) ||
       failed(v.dim(w.gate, "gate", 2, hidden, "hidden size D"))))
    return failure();
  if (failed(v.tensor(w.down, "down", 3, ElementKind::Float)) ||
      failed(v.dim(w.down, "down", 0, numExperts, "experts E")) ||
      failed(v.dim(w.down, "down", 1, hidden, "hidden size D")) ||
      failed(v.dim(w.down, "down", 2, intermediate, "intermediate size F")))
    return failure();
  if (w.gateBias && !w.gate)
    return op->emitOpError() << "gate_bias requires a gate weight";
  auto verifyBias = [&](Value bias, StringRef name, int64_t width,
                        StringRef meaning) -> LogicalResult {
    if (!bias)
      return success();
    if (failed(v.tensor(bias, name, 2, ElementKind::Float)) ||
        failed(v.dim(bias, name, 0, numExperts, "experts E")) ||
        failed(v.dim(bias, name, 1, width, meaning)))
      return failure();
    return success();
  };
  if (failed(verifyBias(w.gateBias, "gate_bias", intermediate,
                        "intermediate size F")) ||
      failed(verifyBias(w.upBias, "up_bias", intermediate,
                        "intermediate size F")) ||
      failed(verifyBias(w.downBias, "down_bias", hidden, "hidden size D")))
    return failure();
  return verifyActivationAttrs(op, w.activation, static_cast<bool>(w.gate),
                               w.swigluAlpha, w.swigluLimit);
}

/// Verifies an optional [E] bias over the experts.
LogicalResult verifyExpertVector(const ShapeVerifier &v, Value vector,
                                 StringRef name, int64_t numExperts) {
  if (!vector)
    return success();
  if (failed(v.tensor(vector, name, 1, ElementKind::Float)) ||
      failed(v.dim(vector, name, 0, numExperts, "experts E")))
    return failure();
  return success();
}

/// Verifies the optional router noise: an [E, D] weight `name` and its seed,
/// which come together.
LogicalResult verifyRouterNoise(Operation *op, const ShapeVerifier &v,
                                Value noiseWeight, StringRef name,
                                IntegerAttr seed, int64_t numExperts,
                                int64_t hidden) {
  if (static_cast<bool>(noiseWeight) != static_cast<bool>(seed))
    return op->emitOpError()
           << name << " and noise_seed must be given together, got only "
           << (seed ? "noise_seed" : name);
  if (!noiseWeight)
    return success();
  if (failed(v.tensor(noiseWeight, name, 2, ElementKind::Float)) ||
      failed(v.dim(noiseWeight, name, 0, numExperts, "experts E")) ||
      failed(v.dim(noiseWeight, name, 1, hidden, "hidden size D")))
    return failure();
  return success();
}
} // namespace

namespace {

/// The outputs of a top-k selection: `weights` [T, k] float and `indices`
/// [T, k] i32, k static.
LogicalResult verifySelectionOutputs(const ShapeVerifier &v, Value weights,
                                     Value indices) {
  if (failed(v.tensor(weights, "weights", 2, ElementKind::Float)) ||
      failed(v.tensor(indices, "indices", 2, ElementKind::I32)) ||
      failed(v.staticDim(weights, "weights", 1, "k")))
    return failure();
  return success();
}

/// The outputs of a top-k selection have `tokens` rows and `k` columns.
LogicalResult verifySelectionShape(const ShapeVerifier &v, Value weights,
                                   Value indices, int64_t tokens, int64_t k) {
  if (failed(v.dim(weights, "weights", 0, tokens, "tokens T")) ||
      failed(v.dim(indices, "indices", 0, tokens, "tokens T")) ||
      failed(v.dim(indices, "indices", 1, k, "k")))
    return failure();
  return success();
}

} // namespace

/// A router's weight is [E, D] (`nk`) or [D, E] (`kn`).
static LogicalResult verifyRouterWeightLayout(Operation *op,
                                              WeightLayout layout) {
  if (layout == WeightLayout::nk || layout == WeightLayout::kn)
    return success();
  return op->emitOpError() << "weight_layout must be nk or kn, got "
                           << stringifyWeightLayout(layout);
}

//===----------------------------------------------------------------------===//
// RouterOp
//===----------------------------------------------------------------------===//

LogicalResult RouterOp::verify() {
  ShapeVerifier v(*this);
  // [E, D], or [D, E] in the kn layout.
  if (failed(verifyRouterWeightLayout(*this, getWeightLayout())))
    return failure();
  unsigned expertDim = getWeightLayout() == WeightLayout::kn ? 1 : 0,
           hiddenDim = 1 - expertDim;
  if (failed(v.tensor(getInput(), "input", 2, ElementKind::Float)) ||
      failed(v.tensor(getWeight(), "weight", 2, ElementKind::Float)) ||
      failed(v.tensor(getInit(), "init", 2, ElementKind::Float)) ||
      failed(v.staticDim(getWeight(), "weight", expertDim, "experts E")) ||
      failed(v.atLeast(getWeight(), "weight", expertDim, 1, "experts E")))
    return failure();
  int64_t numExperts = ShapeVerifier::extent(getWeight(), expertDim);
  int64_t hidden = ShapeVerifier::extent(getInput(), 1);
  int64_t tokens = ShapeVerifier::extent(getInput(), 0);
  if (failed(v.dim(getWeight(), "weight", hiddenDim, hidden,
                   "hidden size D")) ||
      failed(v.dim(getInit(), "init", 0, tokens, "tokens T")) ||
      failed(v.dim(getInit(), "init", 1, numExperts, "experts E")) ||
      failed(v.sameElementType(getInput(), "input", getInit(), "init")) ||
      failed(verifyExpertVector(v, getBias(), "bias", numExperts)) ||
      failed(verifyRouterNoise(*this, v, getNoiseWeight(), "noise_weight",
                               getNoiseSeedAttr(), numExperts, hidden)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// TopKOp
//===----------------------------------------------------------------------===//

LogicalResult TopKOp::verify() {
  ShapeVerifier v(*this);
  if (failed(v.tensor(getScores(), "scores", 2, ElementKind::Float)) ||
      failed(v.staticDim(getScores(), "scores", 1, "experts E")) ||
      failed(verifySelectionOutputs(v, getWeightsInit(), getIndicesInit())))
    return failure();
  int64_t numExperts = ShapeVerifier::extent(getScores(), 1);
  int64_t tokens = ShapeVerifier::extent(getScores(), 0);
  int64_t k = getK();
  if (failed(verifySelectionShape(v, getWeightsInit(), getIndicesInit(),
                                  tokens, k)) ||
      failed(v.sameElementType(getScores(), "scores", getWeightsInit(),
                               "weights")) ||
      failed(verifyExpertVector(v, getSelectionBias(), "bias",
                                numExperts)))
    return failure();
  return verifyRoutingAttrs(*this, numExperts, k, getNumGroups(),
                            getTopKGroups(),
                            getScalingFactor().convertToFloat());
}

//===----------------------------------------------------------------------===//
// RouterTopKOp
//===----------------------------------------------------------------------===//

LogicalResult RouterTopKOp::verify() {
  ShapeVerifier v(*this);
  // [E, D], or [D, E] in the kn layout.
  if (failed(verifyRouterWeightLayout(*this, getWeightLayout())))
    return failure();
  unsigned expertDim = getWeightLayout() == WeightLayout::kn ? 1 : 0,
           hiddenDim = 1 - expertDim;
  if (failed(v.tensor(getInput(), "input", 2, ElementKind::Float)) ||
      failed(v.tensor(getWeight(), "weight", 2, ElementKind::Float)) ||
      failed(v.staticDim(getWeight(), "weight", expertDim, "experts E")) ||
      failed(v.atLeast(getWeight(), "weight", expertDim, 1, "experts E")) ||
      failed(verifySelectionOutputs(v, getWeightsInit(), getIndicesInit())))
    return failure();
  int64_t numExperts = ShapeVerifier::extent(getWeight(), expertDim);
  int64_t hidden = ShapeVerifier::extent(getInput(), 1);
  int64_t tokens = ShapeVerifier::extent(getInput(), 0);
  int64_t k = getK();
  if (failed(v.dim(getWeight(), "weight", hiddenDim, hidden,
                   "hidden size D")) ||
      failed(verifySelectionShape(v, getWeightsInit(), getIndicesInit(),
                                  tokens, k)) ||
      failed(v.sameElementType(getInput(), "input", getWeightsInit(),
                               "weights")) ||
      failed(verifyExpertVector(v, getBias(), "bias", numExperts)) ||
      failed(verifyExpertVector(v, getSelectionBias(), "selection_bias",
                                numExperts)))
    return failure();
  return verifyRoutingAttrs(*this, numExperts, k, getNumGroups(),
                            getTopKGroups(),
                            getScalingFactor().convertToFloat());
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

LogicalResult DispatchOp::verify() {
  ShapeVerifier v(*this);
  if (failed(v.tensor(getIndices(), "indices", 2, ElementKind::I32)) ||
      failed(v.tensor(getWeights(), "weights", 2, ElementKind::Float)) ||
      failed(v.staticDim(getIndices(), "indices", 1, "k")) ||
      failed(v.atLeast(getIndices(), "indices", 1, 1, "k")) ||
      failed(v.tensor(getCountsInit(), "expert_counts", 1,
                      ElementKind::I32)) ||
      failed(v.staticDim(getCountsInit(), "expert_counts", 0, "experts E")) ||
      failed(v.tensor(getOffsetsInit(), "expert_offsets", 1,
                      ElementKind::I32)) ||
      failed(v.staticDim(getOffsetsInit(), "expert_offsets", 0,
                         "experts E + 1")) ||
      failed(v.tensor(getTokenIdsInit(), "token_ids", 1, ElementKind::I32)) ||
      failed(v.tensor(getRowWeightsInit(), "row_weights", 1,
                      ElementKind::Float)))
    return failure();
  int64_t tokens = ShapeVerifier::extent(getIndices(), 0);
  int64_t k = ShapeVerifier::extent(getIndices(), 1);
  int64_t numExperts = getNumExperts();
  int64_t alignment = getSegmentAlignmentOrOne();
  if (alignment < 1)
    return emitOpError() << "segment_alignment must be at least 1, got "
                         << alignment;
  int64_t rows = ShapedType::isDynamic(tokens)
                     ? ShapedType::kDynamic
                     : tokens * k + numExperts * (alignment - 1);
  if (numExperts < 1)
    return emitOpError() << "expert_counts dimension 0 (experts E) must be "
                            "at least 1, got "
                         << numExperts;
  StringRef rowsName = alignment == 1 ? "assignments T * k"
                                      : "padded rows T * k + E * (B - 1)";
  if (failed(v.dim(getWeights(), "weights", 0, tokens, "tokens T")) ||
      failed(v.dim(getWeights(), "weights", 1, k, "k")) ||
      failed(v.dim(getOffsetsInit(), "expert_offsets", 0,
                   offsetsSize(numExperts), "experts E + 1")) ||
      failed(v.dim(getTokenIdsInit(), "token_ids", 0, rows, rowsName)) ||
      failed(v.dim(getRowWeightsInit(), "row_weights", 0, rows, rowsName)) ||
      failed(v.dim(getRowWeightsInit(), "row_weights", 0,
                   ShapeVerifier::extent(getTokenIdsInit(), 0), rowsName)) ||
      failed(v.sameElementType(getWeights(), "weights", getRowWeightsInit(),
                               "row_weights")))
    return failure();
  if (k > numExperts)
    return emitOpError() << "indices dimension 1 (k) = " << k
                         << " must not exceed E = " << numExperts;
  return verifyPositive(*this, optionalFloat(getCapacityFactorAttr()),
                        "capacity_factor");
}

//===----------------------------------------------------------------------===//
// PermuteOp
//===----------------------------------------------------------------------===//

LogicalResult PermuteOp::verify() {
  ShapeVerifier v(*this);
  int64_t numExperts;
  if (failed(v.tensor(getInput(), "input", 2, ElementKind::Float)) ||
      failed(v.tensor(getTokenIds(), "token_ids", 1, ElementKind::I32)) ||
      failed(verifyOffsets(v, getExpertOffsets(), numExperts)) ||
      failed(v.tensor(getInit(), "init", 2, ElementKind::Float)) ||
      failed(v.dim(getInit(), "init", 0,
                   ShapeVerifier::extent(getTokenIds(), 0), "assignments R")) ||
      failed(v.dim(getInit(), "init", 1, ShapeVerifier::extent(getInput(), 1),
                   "hidden size D")))
    return failure();
  // The copy may round to a narrower float (a tensor-core operand), never
  // widen.
  auto inputElement =
      cast<FloatType>(cast<ShapedType>(getInput().getType()).getElementType());
  auto initElement =
      cast<FloatType>(cast<ShapedType>(getInit().getType()).getElementType());
  if (initElement != inputElement &&
      initElement.getWidth() >= inputElement.getWidth())
    return emitOpError() << "init element type " << initElement
                         << " must match input element type " << inputElement
                         << " or be a narrower float";
  return success();
}

//===----------------------------------------------------------------------===//
// GroupedMatmulOp
//===----------------------------------------------------------------------===//

/// Verifies the weight of a grouped matmul of `input` [R, K] over the
/// experts of `offsets`, in `layout` (see `moe.grouped_matmul`), and sets
/// `numExperts` and the output width N. `init` is the [R, N] destination,
/// checked against the weight. With `tokenIds` ([R], i32), `input` holds the
/// [T, K] token rows that the matmul gathers through them.
static LogicalResult
verifyGroupedWeight(Operation *op, const ShapeVerifier &v, Value input,
                    Value tokenIds, Value weight, StringRef name, Value offsets,
                    Value init, WeightLayout layout, int64_t &numExperts,
                    int64_t &outWidth, bool tokenOrderInit = false) {
  bool weightKn = layout == WeightLayout::kn;
  bool panels = layout == WeightLayout::panels;
  bool vnni = layout == WeightLayout::pair_panels;
  if (failed(v.tensor(input, "input", 2, ElementKind::Float)) ||
      failed(v.tensor(weight, name,
                      vnni     ? 5
                      : panels ? 4
                               : 3,
                      ElementKind::Float)) ||
      failed(verifyOffsets(v, offsets, numExperts)) ||
      failed(v.tensor(init, "init", 2, ElementKind::Float)) ||
      (tokenIds &&
       failed(v.tensor(tokenIds, "token_ids", 1, ElementKind::I32))))
    return failure();
  // nk [E, N, K]; kn [E, K, N]; panels [E, N/P, K, P]; pair_panels
  // [E, N/P, K/2, P, 2].
  unsigned reductionDim = weightKn ? 1 : 2;
  int64_t reduction = ShapeVerifier::extent(input, 1);
  outWidth = ShapeVerifier::extent(weight, weightKn ? 2 : 1);
  if (panels || vnni) {
    int64_t panelCount = ShapeVerifier::extent(weight, 1),
            panelWidth = ShapeVerifier::extent(weight, 3);
    outWidth = ShapedType::isDynamic(panelCount) ||
                       ShapedType::isDynamic(panelWidth)
                   ? ShapedType::kDynamic
                   : panelCount * panelWidth;
  }
  if (vnni) {
    for (auto [value, valueName] :
         {std::pair<Value, StringRef>{input, "input"}, {weight, name}})
      if (!cast<ShapedType>(value.getType()).getElementType().isBF16())
        return op->emitOpError() << valueName
                                 << " must have bf16 elements with "
                                    "the pair_panels layout, got "
                                 << value.getType();
    if (!cast<ShapedType>(weight.getType()).hasStaticShape())
      return op->emitOpError() << name
                               << " must have a static shape with "
                                  "the pair_panels layout, got "
                               << weight.getType();
    if (!cast<ShapedType>(init.getType()).getElementType().isF32())
      return op->emitOpError() << "init must have f32 elements with "
                                  "the pair_panels layout, got "
                               << init.getType();
    if (failed(v.dim(weight, name, 4, 2, "k pairs")))
      return failure();
    if (!ShapedType::isDynamic(reduction) && reduction % 2 != 0)
      return op->emitOpError() << "input must have an even reduction size K "
                                  "with the pair_panels layout, got "
                               << reduction;
    if (!ShapedType::isDynamic(reduction))
      reduction /= 2;
  }
  if (failed(v.dim(weight, name, 0, numExperts, "experts E")) ||
      failed(v.dim(weight, name, reductionDim, reduction,
                   vnni ? "reduction size K / 2" : "reduction size K")) ||
      (!tokenOrderInit &&
       failed(v.dim(init, "init", 0,
                    ShapeVerifier::extent(tokenIds ? tokenIds : input, 0),
                    "rows R"))) ||
      failed(v.dim(init, "init", 1, outWidth, "output width N")))
    return failure();
  // A dynamic N in the weight: the destination may still know it.
  if (ShapedType::isDynamic(outWidth))
    outWidth = ShapeVerifier::extent(init, 1);
  return success();
}

/// Verifies an optional [E, N] bias of a grouped matmul.
static LogicalResult verifyGroupedBias(const ShapeVerifier &v, Value bias,
                                StringRef name, int64_t numExperts,
                                int64_t outWidth) {
  if (!bias)
    return success();
  if (failed(v.tensor(bias, name, 2, ElementKind::Float)) ||
      failed(v.dim(bias, name, 0, numExperts, "experts E")) ||
      failed(v.dim(bias, name, 1, outWidth, "output width N")))
    return failure();
  return success();
}

LogicalResult GroupedMatmulOp::verify() {
  ShapeVerifier v(*this);
  int64_t numExperts, outWidth;
  Value tokenIds = getTokenIds(), rowWeights = getRowWeights();
  if (static_cast<bool>(tokenIds) != static_cast<bool>(rowWeights))
    return emitOpError("combine needs both token_ids and row_weights");
  if (failed(verifyGroupedWeight(*this, v, getInput(), /*tokenIds=*/{},
                                 getWeight(), "weight", getExpertOffsets(),
                                 getInit(), getWeightLayout(), numExperts,
                                 outWidth, /*tokenOrderInit=*/hasCombine())) ||
      failed(verifyGroupedBias(v, getBias(), "bias", numExperts, outWidth)))
    return failure();
  if (!hasCombine())
    return success();
  // The combine's operands, as moe.combine checks them.
  int64_t rows = ShapeVerifier::extent(getInput(), 0);
  if (failed(v.tensor(tokenIds, "token_ids", 1, ElementKind::I32)) ||
      failed(v.tensor(rowWeights, "row_weights", 1, ElementKind::Float)) ||
      failed(v.dim(tokenIds, "token_ids", 0, rows, "rows R")) ||
      failed(v.dim(rowWeights, "row_weights", 0, rows, "rows R")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// GroupedGatedMatmulOp
//===----------------------------------------------------------------------===//

LogicalResult GroupedGatedMatmulOp::verify() {
  ShapeVerifier v(*this);
  int64_t numExperts, outWidth;
  // Both weights share a type (ODS checks), so the gate's checks cover the
  // up weight's shape.
  if (failed(verifyGroupedWeight(*this, v, getInput(), getTokenIds(),
                                 getGateWeight(), "gate", getExpertOffsets(),
                                 getInit(), getWeightLayout(), numExperts,
                                 outWidth)) ||
      failed(verifyGroupedBias(v, getGateBias(), "gate_bias", numExperts,
                               outWidth)) ||
      failed(
          verifyGroupedBias(v, getUpBias(), "up_bias", numExperts, outWidth)))
    return failure();
  return verifyActivationAttrs(*this, getActivation(), /*gated=*/true,
                               optionalFloat(getSwigluAlphaAttr()),
                               optionalFloat(getSwigluLimitAttr()));
}

//===----------------------------------------------------------------------===//
// GatedActivationOp
//===----------------------------------------------------------------------===//

LogicalResult GatedActivationOp::verify() {
  ShapeVerifier v(*this);
  if (failed(v.tensor(getGate(), "gate", 2, ElementKind::Float)) ||
      failed(v.tensor(getUp(), "up", 2, ElementKind::Float)) ||
      failed(v.tensor(getInit(), "init", 2, ElementKind::Float)) ||
      failed(v.sameElementType(getInit(), "init", getGate(), "gate")) ||
      failed(v.sameElementType(getInit(), "init", getUp(), "up")))
    return failure();
  for (unsigned dim : {0u, 1u}) {
    StringRef meaning = dim == 0 ? "rows R" : "intermediate size F";
    int64_t extent = ShapeVerifier::extent(getInit(), dim);
    if (failed(v.dim(getGate(), "gate", dim, extent, meaning)) ||
        failed(v.dim(getUp(), "up", dim, extent, meaning)) ||
        failed(v.dim(getUp(), "up", dim,
                     ShapeVerifier::extent(getGate(), dim), meaning)))
      return failure();
  }
  return verifyActivationAttrs(*this, getActivation(), /*gated=*/true,
                               optionalFloat(getSwigluAlphaAttr()),
                               optionalFloat(getSwigluLimitAttr()));
}

//===----------------------------------------------------------------------===//
// ExpertFFNOp
//===----------------------------------------------------------------------===//

LogicalResult ExpertFFNOp::verify() {
  ShapeVerifier v(*this);
  int64_t numExperts;
  if (failed(v.tensor(getInput(), "input", 2, ElementKind::Float)) ||
      failed(verifyOffsets(v, getExpertOffsets(), numExperts)) ||
      failed(v.tensor(getInit(), "init", 2, ElementKind::Float)) ||
      failed(v.dim(getInit(), "init", 0, ShapeVerifier::extent(getInput(), 0),
                   "rows R")) ||
      failed(v.dim(getInit(), "init", 1, ShapeVerifier::extent(getInput(), 1),
                   "hidden size D")) ||
      failed(v.sameElementType(getInput(), "input", getInit(), "init")))
    return failure();
  ExpertWeights weights{getGateWeight(), getUpWeight(),  getDownWeight(),
                        getGateBias(),   getUpBias(),    getDownBias(),
                        getActivation(), optionalFloat(getSwigluAlphaAttr()),
                        optionalFloat(getSwigluLimitAttr())};
  return verifyExpertWeights(*this, v, weights, numExperts,
                             ShapeVerifier::extent(getInput(), 1));
}

//===----------------------------------------------------------------------===//
// CombineOp
//===----------------------------------------------------------------------===//

LogicalResult CombineOp::verify() {
  ShapeVerifier v(*this);
  int64_t numExperts;
  if (failed(v.tensor(getInput(), "input", 2, ElementKind::Float)) ||
      failed(v.tensor(getTokenIds(), "token_ids", 1, ElementKind::I32)) ||
      failed(v.tensor(getRowWeights(), "row_weights", 1,
                      ElementKind::Float)) ||
      failed(verifyOffsets(v, getExpertOffsets(), numExperts)) ||
      failed(v.tensor(getInit(), "init", 2, ElementKind::Float)))
    return failure();
  int64_t rows = ShapeVerifier::extent(getInput(), 0);
  if (failed(v.dim(getTokenIds(), "token_ids", 0, rows, "rows R")) ||
      failed(v.dim(getRowWeights(), "row_weights", 0, rows, "rows R")) ||
      failed(v.dim(getInit(), "init", 1, ShapeVerifier::extent(getInput(), 1),
                   "hidden size D")) ||
      failed(v.sameElementType(getInput(), "input", getInit(), "init")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// SegmentCombineOp
//===----------------------------------------------------------------------===//

LogicalResult SegmentCombineOp::verify() {
  ShapeVerifier v(*this);
  auto inputType = cast<RankedTensorType>(getInput().getType());
  int64_t rank = inputType.getRank();
  if (rank < 2)
    return emitOpError() << "input must have rows and columns, got "
                         << inputType;
  if (failed(v.tensor(getInput(), "input", rank, ElementKind::Float)) ||
      failed(v.tensor(getTokenIds(), "token_ids", 1, ElementKind::I32)) ||
      failed(v.tensor(getRowWeights(), "row_weights", 1, ElementKind::Float)) ||
      failed(v.tensor(getInit(), "init", rank, ElementKind::Float)) ||
      failed(v.sameElementType(getInput(), "input", getInit(), "init")))
    return failure();
  int64_t rows = ShapeVerifier::extent(getInput(), 0);
  if (failed(v.dim(getTokenIds(), "token_ids", 0, rows, "rows")) ||
      failed(v.dim(getRowWeights(), "row_weights", 0, rows, "rows")))
    return failure();
  for (unsigned dim = 1; dim < rank; ++dim)
    if (failed(v.dim(getInit(), "init", dim,
                     ShapeVerifier::extent(getInput(), dim), "columns")))
      return failure();
  return success();
}

SmallVector<utils::IteratorType> SegmentCombineOp::getLoopIteratorTypes() {
  SmallVector<utils::IteratorType> types(getInput().getType().getRank(),
                                         utils::IteratorType::parallel);
  types[0] = utils::IteratorType::reduction;
  return types;
}

SmallVector<Range> SegmentCombineOp::getIterationDomain(OpBuilder &b) {
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<Range> domain;
  for (OpFoldResult size : tensor::getMixedSizes(b, getLoc(), getInput()))
    domain.push_back(Range{zero, size, one});
  return domain;
}

LogicalResult SegmentCombineOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  // Any token row: all of them, at the tile's columns.
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  resultOffsets[0] = b.getIndexAttr(0);
  resultSizes[0] = tensor::getMixedSize(b, getLoc(), getInit(), 0);
  return success();
}

FailureOr<TilingResult>
SegmentCombineOp::getTiledImplementation(OpBuilder &b,
                                         ArrayRef<OpFoldResult> offsets,
                                         ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  int64_t rank = getInput().getType().getRank();
  SmallVector<OpFoldResult> unitStrides(rank, b.getIndexAttr(1));
  auto input = tensor::ExtractSliceOp::create(b, loc, getInput(), offsets,
                                              sizes, unitStrides);
  auto rowsOf = [&](Value vector) {
    return tensor::ExtractSliceOp::create(
        b, loc, vector, ArrayRef<OpFoldResult>{offsets[0]},
        ArrayRef<OpFoldResult>{sizes[0]},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
  };
  auto tokenIds = rowsOf(getTokenIds());
  auto rowWeights = rowsOf(getRowWeights());
  SmallVector<OpFoldResult> initOffsets, initSizes;
  if (failed(
          getResultTilePosition(b, 0, offsets, sizes, initOffsets, initSizes)))
    return failure();
  auto init = tensor::ExtractSliceOp::create(b, loc, getInit(), initOffsets,
                                             initSizes, unitStrides);
  auto tiled = SegmentCombineOp::create(b, loc, init.getType(), input, tokenIds,
                                        rowWeights, init);
  return TilingResult{
      {tiled}, {tiled.getResult()}, {input, tokenIds, rowWeights, init}};
}

//===----------------------------------------------------------------------===//
// LayerOp
//===----------------------------------------------------------------------===//

/// Verifies a layer's optional shared experts.
static LogicalResult verifySharedExperts(LayerOp op, const ShapeVerifier &v,
                                         int64_t hidden) {
  Value gate = op.getSharedGateWeight(), up = op.getSharedUpWeight(),
        down = op.getSharedDownWeight(), scale = op.getSharedScale();
  if (!up && !down && !gate && !scale)
    return success();
  if (!up || !down)
    return op.emitOpError() << "shared experts need both shared_up and "
                               "shared_down weights";
  if (static_cast<bool>(gate) != op.isGated())
    return op.emitOpError()
           << (op.isGated() ? "gated experts need a shared_gate "
                              "weight"
                            : "shared_gate requires gated experts");
  // The shared FFN runs as Fs / F more experts of the routed layout, routed
  // every token: what keeps that exact.
  if (op.getGateBias() || op.getUpBias() || op.getDownBias())
    return op.emitOpError() << "shared experts require experts without biases";
  if (op.getCapacityFactorAttr())
    return op.emitOpError()
           << "shared experts require a dropless layer (no capacity_factor)";
  if (failed(v.tensor(up, "shared_up", 3, ElementKind::Float)) ||
      failed(v.dim(up, "shared_up", 0, 1, "shared experts")) ||
      failed(v.staticDim(up, "shared_up", 1, "shared intermediate size Fs")) ||
      failed(v.dim(up, "shared_up", 2, hidden, "hidden size D")) ||
      failed(v.staticDim(up, "shared_up", 2, "hidden size D")) ||
      failed(v.sameElementType(op.getUpWeight(), "up", up, "shared_up")))
    return failure();
  if (failed(v.atLeast(op.getUpWeight(), "up", 1, 1, "intermediate size F")) ||
      failed(v.atLeast(up, "shared_up", 1, 1, "shared intermediate size Fs")))
    return failure();
  int64_t sharedWidth = ShapeVerifier::extent(up, 1);
  int64_t width = ShapeVerifier::extent(op.getUpWeight(), 1);
  if (sharedWidth % width != 0)
    return op.emitOpError()
           << "shared_up dimension 1 (shared intermediate size "
              "Fs) must be a multiple of the experts' F = "
           << width << ", got " << sharedWidth;
  if (gate && (failed(v.tensor(gate, "shared_gate", 3, ElementKind::Float)) ||
               failed(v.dim(gate, "shared_gate", 0, 1, "shared experts")) ||
               failed(v.dim(gate, "shared_gate", 1, sharedWidth,
                            "shared intermediate size Fs")) ||
               failed(v.dim(gate, "shared_gate", 2, hidden, "hidden size D")) ||
               failed(v.sameElementType(op.getGateWeight(), "gate", gate,
                                        "shared_gate"))))
    return failure();
  if (failed(v.tensor(down, "shared_down", 3, ElementKind::Float)) ||
      failed(v.dim(down, "shared_down", 0, 1, "shared experts")) ||
      failed(v.dim(down, "shared_down", 1, hidden, "hidden size D")) ||
      failed(v.staticDim(down, "shared_down", 1, "hidden size D")) ||
      failed(v.dim(down, "shared_down", 2, sharedWidth,
                   "shared intermediate size Fs")) ||
      failed(
          v.sameElementType(op.getDownWeight(), "down", down, "shared_down")))
    return failure();
  if (scale &&
      (failed(v.tensor(scale, "shared_scale", 2, ElementKind::Float)) ||
       failed(v.dim(scale, "shared_scale", 0,
                    ShapeVerifier::extent(op.getInput(), 0), "tokens T")) ||
       failed(v.dim(scale, "shared_scale", 1, 1, "one scale a token")) ||
       failed(
           v.sameElementType(op.getInput(), "input", scale, "shared_scale"))))
    return failure();
  return success();
}

LogicalResult LayerOp::verify() {
  ShapeVerifier v(*this);
  if (failed(v.tensor(getInput(), "input", 2, ElementKind::Float)) ||
      failed(v.tensor(getInit(), "init", 2, ElementKind::Float)) ||
      failed(v.tensor(getRouterWeight(), "router", 2, ElementKind::Float)) ||
      failed(v.staticDim(getRouterWeight(), "router", 0, "experts E")))
    return failure();
  int64_t numExperts = getNumExperts();
  int64_t hidden = ShapeVerifier::extent(getInput(), 1);
  if (failed(v.dim(getRouterWeight(), "router", 1, hidden, "hidden size D")) ||
      failed(v.dim(getInit(), "init", 0, ShapeVerifier::extent(getInput(), 0),
                   "tokens T")) ||
      failed(v.dim(getInit(), "init", 1, hidden, "hidden size D")) ||
      failed(v.sameElementType(getInput(), "input", getInit(), "init")) ||
      failed(verifyExpertVector(v, getRouterBias(), "router_bias",
                                numExperts)) ||
      failed(verifyExpertVector(v, getSelectionBias(), "selection_bias",
                                numExperts)) ||
      failed(verifyRouterNoise(*this, v, getRouterNoise(), "router_noise",
                               getNoiseSeedAttr(), numExperts, hidden)) ||
      failed(verifyRoutingAttrs(*this, numExperts, getTopK(), getNumGroups(),
                                getTopKGroups(),
                                getScalingFactor().convertToFloat())))
    return failure();
  if (failed(verifyPositive(*this, optionalFloat(getCapacityFactorAttr()),
                            "capacity_factor")))
    return failure();
  ExpertWeights weights{getGateWeight(), getUpWeight(),  getDownWeight(),
                        getGateBias(),   getUpBias(),    getDownBias(),
                        getActivation(), optionalFloat(getSwigluAlphaAttr()),
                        optionalFloat(getSwigluLimitAttr())};
  if (failed(verifyExpertWeights(*this, v, weights, numExperts, hidden)))
    return failure();
  return verifySharedExperts(*this, v, hidden);
}

int64_t LayerOp::getNumSharedSlices() {
  if (!hasSharedExperts())
    return 0;
  return getSharedUpWeight().getType().getDimSize(1) /
         getUpWeight().getType().getDimSize(1);
}

#define GET_OP_CLASSES
#include "moe/Dialect/MoE/IR/MoEOps.cpp.inc"
