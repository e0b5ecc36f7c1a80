//===- ModelImporter.cpp - moe-graph JSON to MLIR ---------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file imports a resolved moe-graph model into the MoE dialect. The
// function takes the graph inputs ([tokens, width] f32, `moe.input`) and then
// every parameter in ModelSpec::params order (`moe.param`), and returns the
// graph outputs. The token count is dynamic.
//
//===----------------------------------------------------------------------===//

#include "moe/Frontend/ModelImporter.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"
#include "moe/Transforms/Activations.h"
#include "moe/Transforms/Passes.h"
#include "moe/Transforms/RouterLogits.h"
#include "moe/Transforms/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <limits>

using namespace mlir;
using namespace mlir::moe;

namespace {

/// Builds the model function node by node.
class Importer {
public:
  Importer(MLIRContext *context, const ::moe::ModelSpec &model,
           std::string &error)
      : context(context), model(model), error(error), builder(context) {}

  OwningOpRef<ModuleOp> run();

private:
  /// Records an error about `node` and returns failure.
  LogicalResult fail(const ::moe::NodeSpec &node, const std::string &what) {
    error = "node '" + node.name + "' (" +
            ::moe::nodeKindName(node.kind) + "): " + what;
    return failure();
  }
  LogicalResult importNode(const ::moe::NodeSpec &node);
  Value importMoE(const ::moe::NodeSpec &node, Location loc, Value input);
  Value importNorm(const ::moe::NodeSpec &node, Location loc, Value input);
  Value importSharedExperts(const ::moe::NodeSpec &node, Location loc,
                            Value input, Activation activation);
  void importAuxOutputs(const ::moe::NodeSpec &node, Location loc, Value input,
                        const LayerSteps &steps);

  /// The parameter argument with key `<node>.<role>`, or null.
  Value param(const ::moe::NodeSpec &node, StringRef role) const {
    return params.lookup((node.name + "." + role).str());
  }
  /// Expert offsets [0, T]: one expert owning every token's row.
  Value allRowsOneExpert(Location loc) {
    Type i32 = builder.getI32Type();
    Value first = arith::ConstantOp::create(builder, loc, i32,
                                            builder.getI32IntegerAttr(0));
    Value last = arith::IndexCastOp::create(
        builder, loc, i32,
        getValueOrCreateConstantIndexOp(builder, loc, tokens));
    return tensor::FromElementsOp::create(
        builder, loc, RankedTensorType::get({2}, i32),
        ValueRange{first, last});
  }
  Value zeros(Location loc, int64_t width) {
    return createZeroTensor(builder, loc, {tokens, builder.getIndexAttr(width)},
                            builder.getF32Type());
  }

  MLIRContext *context;
  const ::moe::ModelSpec &model;
  std::string &error;
  OpBuilder builder;
  llvm::StringMap<Value> values;
  llvm::StringMap<Value> params;
  OpFoldResult tokens;
};

Type elementTypeOf(OpBuilder &b, ::moe::DType dtype) {
  switch (dtype) {
  case ::moe::DType::F32:
    return b.getF32Type();
  case ::moe::DType::BF16:
    return b.getBF16Type();
  case ::moe::DType::F16:
    return b.getF16Type();
  }
  llvm_unreachable("unknown dtype");
}

std::string functionName(const std::string &modelName) {
  std::string name;
  for (char c : modelName)
    name += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    name = "model_" + name;
  return name;
}

OwningOpRef<ModuleOp> Importer::run() {
  context->loadDialect<arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect, MoEDialect,
                       tensor::TensorDialect>();
  Location fileLoc = FileLineColLoc::get(context, model.path, 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  if (!model.name.empty())
    (*module)->setAttr(kModelNameAttrName, builder.getStringAttr(model.name));

  SmallVector<Type> argTypes;
  for (const ::moe::InputSpec &input : model.inputs)
    argTypes.push_back(RankedTensorType::get(
        {ShapedType::kDynamic, input.width}, builder.getF32Type()));
  // Weights keep their file's dtype (bf16 and f16 stay 2 bytes in memory);
  // the compute converts them to f32 as it reads them.
  // Dense projections (linear nodes, shared experts) are declared as a
  // stack of one expert, [1, N, K] (and a bias [1, N]): the same bytes as
  // the file's, in the routed experts' layout, so that they run as grouped
  // matmuls over one segment of all T rows, through the experts' fusions
  // and kernels.
  llvm::StringSet<> stackedParams;
  for (const ::moe::NodeSpec &node : model.nodes) {
    if (node.kind == ::moe::NodeKind::Linear) {
      stackedParams.insert(node.name + ".weight");
      stackedParams.insert(node.name + ".bias");
    } else if (node.kind == ::moe::NodeKind::MoE && node.moe.sharedExperts) {
      for (const char *role : {".shared.gate_proj", ".shared.up_proj",
                               ".shared.down_proj"})
        stackedParams.insert(node.name + role);
    }
  }
  for (const ::moe::ParamSpec &param : model.params) {
    SmallVector<int64_t> shape(param.shape.begin(), param.shape.end());
    if (stackedParams.contains(param.key))
      shape.insert(shape.begin(), 1);
    argTypes.push_back(
        RankedTensorType::get(shape, elementTypeOf(builder, param.dtype)));
  }

  // The results are the graph outputs, in order; their types are known once
  // the body is built.
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, functionName(model.name),
                                   builder.getFunctionType(argTypes, {}));
  func->setAttr(kEntryAttrName, builder.getUnitAttr());
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToStart(body);

  unsigned argIndex = 0;
  for (const ::moe::InputSpec &input : model.inputs) {
    func.setArgAttr(argIndex, kInputAttrName,
                    builder.getStringAttr(input.name));
    values[input.name] = body->getArgument(argIndex++);
  }
  for (const ::moe::ParamSpec &param : model.params) {
    func.setArgAttr(argIndex, kParamAttrName, builder.getStringAttr(param.key));
    params[param.key] = body->getArgument(argIndex++);
  }
  tokens = tensor::getMixedSize(builder, fileLoc, body->getArgument(0), 0);

  for (const ::moe::NodeSpec &node : model.nodes)
    if (failed(importNode(node)))
      return nullptr;

  SmallVector<Value> results;
  for (const ::moe::OutputSpec &output : model.outputs) {
    Value value = values.lookup(output.name);
    if (!value) {
      error = "output '" + output.name + "' is not a value of the graph";
      return nullptr;
    }
    results.push_back(value);
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setFunctionType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  return module;
}

LogicalResult Importer::importNode(const ::moe::NodeSpec &node) {
  Location loc = NameLoc::get(builder.getStringAttr(node.name),
                              FileLineColLoc::get(context, model.path, 1, 1));
  SmallVector<Value> inputs;
  for (const std::string &name : node.inputs) {
    Value value = values.lookup(name);
    if (!value)
      return fail(node, "uses '" + name + "', which is not defined before it");
    inputs.push_back(value);
  }
  Value input = inputs.front();
  Value result;
  switch (node.kind) {
  case ::moe::NodeKind::Linear: {
    Value init = zeros(loc, node.width);
    result = GroupedMatmulOp::create(builder, loc, init.getType(), input,
                                     param(node, "weight"),
                                     allRowsOneExpert(loc),
                                     param(node, "bias"), init);
    break;
  }
  case ::moe::NodeKind::RMSNorm:
  case ::moe::NodeKind::LayerNorm:
    result = importNorm(node, loc, input);
    break;
  case ::moe::NodeKind::Add:
  case ::moe::NodeKind::Mul: {
    bool isAdd = node.kind == ::moe::NodeKind::Add;
    result = buildElementwise(
        builder, loc, inputs,
        [&](OpBuilder &b, Location nloc, ValueRange args) -> Value {
          if (isAdd)
            return arith::AddFOp::create(b, nloc, args[0], args[1]);
          return arith::MulFOp::create(b, nloc, args[0], args[1]);
        });
    break;
  }
  case ::moe::NodeKind::SiLU:
  case ::moe::NodeKind::GELU:
  case ::moe::NodeKind::GELUTanh:
  case ::moe::NodeKind::ReLU: {
    Activation activation =
        node.kind == ::moe::NodeKind::SiLU   ? Activation::silu
        : node.kind == ::moe::NodeKind::GELU ? Activation::gelu
        : node.kind == ::moe::NodeKind::ReLU ? Activation::relu
                                             : Activation::gelu_tanh;
    result = buildElementwise(
        builder, loc, inputs,
        [&](OpBuilder &b, Location nloc, ValueRange args) -> Value {
          return buildActivation(b, nloc, activation, args[0]);
        });
    break;
  }
  case ::moe::NodeKind::MoE:
    result = importMoE(node, loc, input);
    break;
  }
  if (!result)
    return failure();
  values[node.name] = result;
  return success();
}

Value Importer::importNorm(const ::moe::NodeSpec &node, Location loc,
                           Value input) {
  Type f32 = builder.getF32Type();
  double width = static_cast<double>(node.width);
  auto constant = [&](OpBuilder &b, Location nloc, double v) -> Value {
    return arith::ConstantOp::create(b, nloc, b.getFloatAttr(f32, v));
  };
  bool isLayerNorm = node.kind == ::moe::NodeKind::LayerNorm;

  // The per-row mean (layer norm only) and the per-row inverse deviation.
  Value mean;
  Value centered = input;
  if (isLayerNorm) {
    Value sum = buildRowReduction(
        builder, loc, input, 0.0,
        [](OpBuilder &b, Location nloc, Value acc, Value x) -> Value {
          return arith::AddFOp::create(b, nloc, acc, x);
        });
    mean = buildElementwise(
        builder, loc, sum,
        [&](OpBuilder &b, Location nloc, ValueRange args) -> Value {
          return arith::DivFOp::create(b, nloc, args[0],
                                       constant(b, nloc, width));
        });
  }
  MLIRContext *ctx = builder.getContext();
  AffineExpr t, d;
  bindDims(ctx, t, d);
  AffineMap rowMap = AffineMap::get(2, 0, {t}, ctx);
  AffineMap fullMap = AffineMap::get(2, 0, {t, d}, ctx);
  AffineMap columnMap = AffineMap::get(2, 0, {d}, ctx);
  SmallVector<utils::IteratorType> parallel(2, utils::IteratorType::parallel);
  if (isLayerNorm) {
    Value init = createEmptyTensor(
        builder, loc, {tokens, builder.getIndexAttr(node.width)}, f32);
    centered = buildRowBroadcastMap(
        builder, loc, input, mean, init,
        [](OpBuilder &b, Location nloc, Value x, Value rowMean) -> Value {
          return arith::SubFOp::create(b, nloc, x, rowMean);
        });
  }
  Value squares = buildRowReduction(
      builder, loc, centered, 0.0,
      [](OpBuilder &b, Location nloc, Value acc, Value x) -> Value {
        return arith::AddFOp::create(b, nloc, acc,
                                     arith::MulFOp::create(b, nloc, x, x));
      });
  double eps = node.eps;
  Value inverse = buildElementwise(
      builder, loc, squares,
      [&](OpBuilder &b, Location nloc, ValueRange args) -> Value {
        Value meanSquare =
            arith::DivFOp::create(b, nloc, args[0], constant(b, nloc, width));
        return math::RsqrtOp::create(
            b, nloc,
            arith::AddFOp::create(b, nloc, meanSquare, constant(b, nloc, eps)));
      });

  // y = centered * inverse * w (+ b)
  Value weight = param(node, "weight");
  Value bias = param(node, "bias");
  SmallVector<Value> operands = {centered, inverse, weight};
  SmallVector<AffineMap> maps = {fullMap, rowMap, columnMap};
  if (bias) {
    operands.push_back(bias);
    maps.push_back(columnMap);
  }
  maps.push_back(fullMap);
  Value init = createEmptyTensor(
      builder, loc, {tokens, builder.getIndexAttr(node.width)}, f32);
  return linalg::GenericOp::create(
             builder, loc, init.getType(), operands, init, maps, parallel,
             [&](OpBuilder &b, Location nloc, ValueRange args) {
               Value scaled = arith::MulFOp::create(
                   b, nloc, arith::MulFOp::create(b, nloc, args[0], args[1]),
                   convertFloat(b, nloc, args[2], f32));
               if (bias)
                 scaled = arith::AddFOp::create(
                     b, nloc, scaled, convertFloat(b, nloc, args[3], f32));
               linalg::YieldOp::create(b, nloc, scaled);
             })
      .getResult(0);
}

Value Importer::importSharedExperts(const ::moe::NodeSpec &node, Location loc,
                                    Value input, Activation activation) {
  const ::moe::MoESpec &spec = node.moe;
  float alpha = spec.experts.alpha, limit = spec.experts.limit;
  // An always-on FFN over every token, with the experts' activation: one
  // expert (its weights are declared as stacks of one, see run) whose one
  // segment is all T rows, so that it runs through the same fusions and
  // kernels as the routed experts.
  Value offsets = allRowsOneExpert(loc);
  FloatAttr alphaAttr, limitAttr;
  if (activation == Activation::swiglu_oai) {
    alphaAttr = builder.getF32FloatAttr(alpha);
    limitAttr = builder.getF32FloatAttr(limit);
  }
  Value outInit = zeros(loc, node.width);
  Value out = ExpertFFNOp::create(
      builder, loc, outInit.getType(), input, offsets,
      param(node, "shared.gate_proj"), param(node, "shared.up_proj"),
      param(node, "shared.down_proj"), /*gate_bias=*/Value(),
      /*up_bias=*/Value(), /*down_bias=*/Value(), outInit,
      ActivationAttr::get(context, activation), alphaAttr, limitAttr);
  Value gateWeight = param(node, "shared.gate");
  if (!gateWeight)
    return out;
  // Qwen2-MoE: the shared output is scaled by sigmoid(x g^T), g [1, D].
  Value logit =
      buildMatmulTransposedRhs(builder, loc, input, gateWeight, zeros(loc, 1));
  MLIRContext *ctx = builder.getContext();
  AffineExpr t, d;
  bindDims(ctx, t, d);
  AffineMap full = AffineMap::get(2, 0, {t, d}, ctx);
  AffineMap perToken =
      AffineMap::get(2, 0, {t, getAffineConstantExpr(0, ctx)}, ctx);
  Value init = createEmptyTensor(
      builder, loc, {tokens, builder.getIndexAttr(node.width)},
      builder.getF32Type());
  return linalg::GenericOp::create(
             builder, loc, init.getType(), ValueRange{out, logit}, init,
             SmallVector<AffineMap>{full, perToken, full},
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &b, Location nloc, ValueRange args) {
               linalg::YieldOp::create(
                   b, nloc,
                   arith::MulFOp::create(b, nloc, args[0],
                                         buildSigmoid(b, nloc, args[1]))
                       .getResult());
             })
      .getResult(0);
}

Value Importer::importMoE(const ::moe::NodeSpec &node, Location loc,
                          Value input) {
  const ::moe::MoESpec &spec = node.moe;
  std::optional<ScoringFn> scoring = symbolizeScoringFn(spec.router.scoring);
  std::optional<Activation> activation =
      symbolizeActivation(spec.experts.activation);
  if (!scoring || !activation) {
    (void)fail(node, "unknown scoring or activation");
    return nullptr;
  }
  // The layer accumulates the routed experts into its init: the shared
  // experts' output, when there are shared experts.
  Value init = spec.sharedExperts
                   ? importSharedExperts(node, loc, input, *activation)
                   : zeros(loc, node.width);
  FloatAttr alpha, limit;
  if (*activation == Activation::swiglu_oai) {
    alpha = builder.getF32FloatAttr(spec.experts.alpha);
    limit = builder.getF32FloatAttr(spec.experts.limit);
  }
  IntegerAttr noiseSeed;
  if (spec.router.noiseWeight)
    noiseSeed = builder.getIntegerAttr(builder.getI64Type(),
                                       APInt(64, spec.router.noiseSeed));
  FloatAttr capacity;
  if (spec.capacityFactor)
    capacity = builder.getF64FloatAttr(*spec.capacityFactor);
  auto layer = LayerOp::create(
      builder, loc, init.getType(), input, param(node, "router.weight"),
      param(node, "router.linear_bias"), param(node, "router.bias"),
      param(node, "router.noise"), param(node, "gate_proj"),
      param(node, "up_proj"), param(node, "down_proj"),
      param(node, "gate_bias"), param(node, "up_bias"),
      param(node, "down_bias"), /*shared_gate_weight=*/Value(),
      /*shared_up_weight=*/Value(), /*shared_down_weight=*/Value(),
      /*shared_scale=*/Value(), init, builder.getI64IntegerAttr(spec.topK),
      ScoringFnAttr::get(context, *scoring),
      ActivationAttr::get(context, *activation),
      spec.router.normalizeTopK ? builder.getUnitAttr() : UnitAttr(),
      builder.getF32FloatAttr(spec.router.scalingFactor),
      builder.getI64IntegerAttr(spec.router.numGroups),
      builder.getI64IntegerAttr(spec.router.topKGroups), capacity, alpha, limit,
      noiseSeed);
  if (failed(layer.verify())) {
    (void)fail(node, "the imported moe.layer does not verify");
    return nullptr;
  }
  const ::moe::AuxSpec &aux = spec.aux;
  if (!aux.expertCounts && !aux.loadBalancingLoss && !aux.routerZLoss)
    return layer.getResult();
  // The aux outputs need the layer's routing: expand it here.
  LayerSteps steps = buildLayerSteps(builder, layer);
  layer.getResult().replaceAllUsesWith(steps.result);
  layer.erase();
  importAuxOutputs(node, loc, input, steps);
  return steps.result;
}

void Importer::importAuxOutputs(const ::moe::NodeSpec &node, Location loc,
                                Value input, const LayerSteps &steps) {
  const ::moe::MoESpec &spec = node.moe;
  const ::moe::AuxSpec &aux = spec.aux;
  MLIRContext *ctx = builder.getContext();
  Type f32 = builder.getF32Type();
  int64_t numExperts = spec.numExperts;
  auto constant = [&](OpBuilder &b, Location l, double v) -> Value {
    return arith::ConstantOp::create(b, l, b.getFloatAttr(f32, v));
  };
  OpFoldResult one = builder.getIndexAttr(1);
  OpFoldResult experts = builder.getIndexAttr(numExperts);
  Value tokensValue = getValueOrCreateConstantIndexOp(builder, loc, tokens);
  Value tokensF32 = arith::UIToFPOp::create(
      builder, loc, f32,
      arith::IndexCastUIOp::create(builder, loc, builder.getI64Type(),
                                   tokensValue));
  Value anyTokens = arith::CmpIOp::create(
      builder, loc, arith::CmpIPredicate::ugt, tokensValue,
      arith::ConstantIndexOp::create(builder, loc, 0));
  AffineExpr d0, d1;
  bindDims(ctx, d0, d1);
  SmallVector<utils::IteratorType> parallel2(2, utils::IteratorType::parallel);

  // [E] i32 counts -> [1, E] f32.
  auto countsRow = [&](Value counts) -> Value {
    Value init = createEmptyTensor(builder, loc, {one, experts}, f32);
    return linalg::GenericOp::create(
               builder, loc, init.getType(), ValueRange{counts}, init,
               SmallVector<AffineMap>{AffineMap::get(2, 0, {d1}, ctx),
                                      AffineMap::get(2, 0, {d0, d1}, ctx)},
               parallel2,
               [&](OpBuilder &b, Location l, ValueRange args) {
                 linalg::YieldOp::create(
                     b, l, arith::SIToFPOp::create(b, l, f32, args[0])
                               .getResult());
               })
        .getResult(0);
  };
  // A [1, 1] tensor holding `value` when there are tokens, else 0.
  auto scalar = [&](Value value) -> Value {
    Value guarded = arith::SelectOp::create(builder, loc, anyTokens, value,
                                            constant(builder, loc, 0.0));
    return tensor::FromElementsOp::create(
        builder, loc, RankedTensorType::get({1, 1}, f32), ValueRange{guarded});
  };
  auto total = [&](Value tensor) -> Value {
    // Sum of every element of a 2-D tensor.
    Value rows = buildRowReduction(
        builder, loc, tensor, 0.0,
        [](OpBuilder &b, Location l, Value acc, Value x) -> Value {
          return arith::AddFOp::create(b, l, acc, x);
        });
    Value empty =
        tensor::EmptyOp::create(builder, loc, ArrayRef<int64_t>{}, f32);
    Value init =
        linalg::FillOp::create(builder, loc, constant(builder, loc, 0.0), empty)
            .getResult(0);
    Value sum =
        linalg::GenericOp::create(
            builder, loc, init.getType(), ValueRange{rows}, init,
            SmallVector<AffineMap>{builder.getMultiDimIdentityMap(1),
                                   AffineMap::get(1, 0, {}, ctx)},
            SmallVector<utils::IteratorType>{utils::IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              linalg::YieldOp::create(
                  b, l, arith::AddFOp::create(b, l, args[1], args[0])
                            .getResult());
            })
            .getResult(0);
    return tensor::ExtractOp::create(builder, loc, sum, ValueRange{});
  };

  if (aux.expertCounts)
    values[*aux.expertCounts] = countsRow(steps.expertCounts);

  if (aux.loadBalancingLoss) {
    // f_e: assignments before capacity / (T k); P_e: mean score.
    Value counts = steps.expertCounts;
    if (spec.capacityFactor) {
      Type i32 = builder.getI32Type();
      OpFoldResult rows = multiplySize(builder, loc, tokens, spec.topK);
      Value countsInit = createEmptyTensor(builder, loc, {experts}, i32);
      Value offsetsInit = createEmptyTensor(
          builder, loc, {builder.getIndexAttr(numExperts + 1)}, i32);
      Value tokenIdsInit = createEmptyTensor(builder, loc, {rows}, i32);
      Value rowWeightsInit = createEmptyTensor(builder, loc, {rows}, f32);
      counts = DispatchOp::create(builder, loc, countsInit.getType(),
                                  offsetsInit.getType(), tokenIdsInit.getType(),
                                  rowWeightsInit.getType(), steps.indices,
                                  steps.weights, countsInit, offsetsInit,
                                  tokenIdsInit, rowWeightsInit, FloatAttr(),
                                  IntegerAttr())
                   .getExpertCounts();
    }
    // sum_e count_e * sum_t s[t, e], then E / (T * T * k).
    Value products = createEmptyTensor(builder, loc, {tokens, experts}, f32);
    products =
        linalg::GenericOp::create(
            builder, loc, products.getType(), ValueRange{steps.scores, counts},
            products,
            SmallVector<AffineMap>{AffineMap::get(2, 0, {d0, d1}, ctx),
                                   AffineMap::get(2, 0, {d1}, ctx),
                                   AffineMap::get(2, 0, {d0, d1}, ctx)},
            parallel2,
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value count = arith::SIToFPOp::create(b, l, f32, args[1]);
              linalg::YieldOp::create(
                  b, l, arith::MulFOp::create(b, l, args[0], count)
                            .getResult());
            })
            .getResult(0);
    Value sum = total(products);
    Value denominator = arith::MulFOp::create(
        builder, loc, arith::MulFOp::create(builder, loc, tokensF32, tokensF32),
        constant(builder, loc, static_cast<double>(spec.topK)));
    Value loss = arith::DivFOp::create(
        builder, loc,
        arith::MulFOp::create(builder, loc, sum,
                              constant(builder, loc,
                                       static_cast<double>(numExperts))),
        denominator);
    values[*aux.loadBalancingLoss] = scalar(loss);
  }

  if (aux.routerZLoss) {
    // mean_t logsumexp(logits)^2. The logits are built as the router
    // lowering builds them (same bias, same noise), so that CSE merges the
    // two once moe.router is lowered (test/Pipelines/z-loss-shares-...).
    std::optional<RouterNoise> noise;
    if (Value noiseWeight = param(node, "router.noise"))
      noise = RouterNoise{noiseWeight, spec.router.noiseSeed};
    Value logits = buildRouterLogits(
        builder, loc, input, param(node, "router.weight"),
        param(node, "router.linear_bias"), noise,
        createEmptyTensor(builder, loc, {tokens, experts}, f32));
    Value rowMax = buildRowReduction(
        builder, loc, logits, -std::numeric_limits<double>::infinity(),
        [](OpBuilder &b, Location l, Value acc, Value x) -> Value {
          return arith::MaximumFOp::create(b, l, acc, x);
        });
    Value init = createEmptyTensor(builder, loc, {tokens, experts}, f32);
    Value shifted = buildRowBroadcastMap(
        builder, loc, logits, rowMax, init,
        [](OpBuilder &b, Location l, Value x, Value max) -> Value {
          return math::ExpOp::create(b, l, arith::SubFOp::create(b, l, x, max));
        });
    Value sums = buildRowReduction(
        builder, loc, shifted, 0.0,
        [](OpBuilder &b, Location l, Value acc, Value x) -> Value {
          return arith::AddFOp::create(b, l, acc, x);
        });
    Value squares = buildElementwise(
        builder, loc, ValueRange{rowMax, sums},
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value lse = arith::AddFOp::create(
              b, l, args[0], math::LogOp::create(b, l, args[1]));
          return arith::MulFOp::create(b, l, lse, lse);
        });
    Value asRows = tensor::ExpandShapeOp::create(
        builder, loc,
        RankedTensorType::get({ShapedType::kDynamic, 1}, f32), squares,
        ArrayRef<ReassociationIndices>{{0, 1}},
        ArrayRef<OpFoldResult>{tokens, one});
    Value loss = arith::DivFOp::create(builder, loc, total(asRows), tokensF32);
    values[*aux.routerZLoss] = scalar(loss);
  }
}

} // namespace

OwningOpRef<ModuleOp> mlir::moe::importModel(MLIRContext *context,
                                             const ::moe::ModelSpec &model,
                                             std::string &error) {
  return Importer(context, model, error).run();
}
