//===- VersionLayers.cpp - A version of each layer for few tokens ---------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// moe-version-layers copies each outlined layer function into a version
// that passes lower with other options (moe.pass_options);
// moe-call-layer-versions makes each call choose between the two by its
// token count (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "moe/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEVERSIONLAYERSPASS
#define GEN_PASS_DEF_MOECALLLAYERVERSIONSPASS
#include "moe/Transforms/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

struct MoEVersionLayersPass
    : moe::impl::MoEVersionLayersPassBase<MoEVersionLayersPass> {
  using MoEVersionLayersPassBase::MoEVersionLayersPassBase;

  void runOnOperation() override {
    if (maxTokens < 0) {
      getOperation().emitError("moe-version-layers: max-tokens must not be "
                               "negative, got ")
          << static_cast<int64_t>(maxTokens);
      return signalPassFailure();
    }
    if (maxTokens == 0)
      return;
    FailureOr<DictionaryAttr> options = parsePassOptions();
    if (failed(options))
      return signalPassFailure();

    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> layers;
    for (auto function : module.getOps<func::FuncOp>())
      if (function->hasAttr(kLayerFunctionAttrName) &&
          !function->hasAttr(kDecodeVersionAttrName) &&
          !function->hasAttr(kPassOptionsAttrName) && !function.isExternal() &&
          !SymbolTable::symbolKnownUseEmpty(function, module))
        layers.push_back(function);
    Builder b(&getContext());
    for (func::FuncOp layer : layers) {
      func::FuncOp decode = layer.clone();
      decode.setSymName((layer.getSymName() + "_decode").str());
      decode->setAttr(kPassOptionsAttrName, *options);
      // (insert renames it if the name is taken.)
      symbols.insert(decode, std::next(Block::iterator(layer)));
      layer->setAttr(kDecodeVersionAttrName,
                     FlatSymbolRefAttr::get(decode.getSymNameAttr()));
      layer->setAttr(kDecodeTokensAttrName, b.getI64IntegerAttr(maxTokens));
    }
  }

  /// `pass-options` as the dictionary moe.pass_options holds.
  FailureOr<DictionaryAttr> parsePassOptions() {
    MLIRContext *context = &getContext();
    NamedAttrList entries;
    for (const std::string &entry : passOptions) {
      size_t open = entry.find('{');
      if (open == 0 || open == std::string::npos || entry.back() != '}') {
        getOperation().emitError("moe-version-layers: expected each of "
                                 "pass-options as 'pass-argument{key=value "
                                 "...}', got '")
            << entry << "'";
        return failure();
      }
      StringRef argument = StringRef(entry).take_front(open);
      if (entries.get(argument)) {
        getOperation().emitError("moe-version-layers: pass-options names '")
            << argument << "' twice";
        return failure();
      }
      entries.append(argument,
                     StringAttr::get(context, StringRef(entry).slice(
                                                  open + 1, entry.size() - 1)));
    }
    return entries.getDictionary(context);
  }
};

/// The token count of `call`: dimension 0 of its first operand whose
/// dimension 0 is dynamic (the residual stream the layer reads), or null.
Value buildTokenCount(OpBuilder &b, func::CallOp call) {
  Location loc = call.getLoc();
  for (Value operand : call.getOperands()) {
    auto type = dyn_cast<ShapedType>(operand.getType());
    if (!type || !type.hasRank() || type.getRank() < 1 || !type.isDynamicDim(0))
      continue;
    if (isa<MemRefType>(type))
      return memref::DimOp::create(b, loc, operand, 0);
    if (isa<RankedTensorType>(type))
      return tensor::DimOp::create(b, loc, operand, 0);
  }
  return nullptr;
}

struct MoECallLayerVersionsPass
    : moe::impl::MoECallLayerVersionsPassBase<MoECallLayerVersionsPass> {
  using MoECallLayerVersionsPassBase::MoECallLayerVersionsPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
      if (callee && callee->hasAttr(kDecodeVersionAttrName))
        calls.push_back(call);
    });
    for (func::CallOp call : calls)
      if (failed(chooseVersion(symbols, call)))
        return signalPassFailure();
    // The versions are called now: the references go.
    for (auto function : module.getOps<func::FuncOp>()) {
      function->removeAttr(kDecodeVersionAttrName);
      function->removeAttr(kDecodeTokensAttrName);
    }
  }

  LogicalResult chooseVersion(SymbolTable &symbols, func::CallOp call) {
    auto layer = symbols.lookup<func::FuncOp>(call.getCallee());
    auto name = layer->getAttrOfType<FlatSymbolRefAttr>(kDecodeVersionAttrName);
    auto maxTokens = layer->getAttrOfType<IntegerAttr>(kDecodeTokensAttrName);
    auto decode = symbols.lookup<func::FuncOp>(name.getValue());
    if (!decode)
      return layer.emitError("moe-call-layer-versions: no function '")
             << name.getValue() << "', the decode version it names";
    if (!maxTokens)
      return layer.emitError("moe-call-layer-versions: a decode version "
                             "without '")
             << kDecodeTokensAttrName << "'";
    if (decode.getFunctionType() != layer.getFunctionType())
      return layer.emitError("moe-call-layer-versions: the decode version '")
             << decode.getSymName() << "' has type " << decode.getFunctionType()
             << ", not the layer's " << layer.getFunctionType();
    OpBuilder b(call);
    Location loc = call.getLoc();
    Value tokens = buildTokenCount(b, call);
    if (!tokens)
      return call.emitError("moe-call-layer-versions: no operand of the call "
                            "has a dynamic token dimension");
    Value limit = arith::ConstantIndexOp::create(b, loc, maxTokens.getInt());
    Value few =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, tokens, limit);
    auto callVersion = [&](func::FuncOp callee) {
      return [&, callee](OpBuilder &nested, Location nestedLoc) {
        auto versionCall =
            func::CallOp::create(nested, nestedLoc, callee, call.getOperands());
        // The call's attributes (no_inline too), but for its callee.
        NamedAttrList attributes(call->getAttrs());
        attributes.set(versionCall.getCalleeAttrName(),
                       versionCall.getCalleeAttr());
        versionCall->setAttrs(attributes);
        scf::YieldOp::create(nested, nestedLoc, versionCall.getResults());
      };
    };
    auto choice =
        scf::IfOp::create(b, loc, few, callVersion(decode), callVersion(layer));
    call.replaceAllUsesWith(choice.getResults());
    call.erase();
    return success();
  }
};

} // namespace
