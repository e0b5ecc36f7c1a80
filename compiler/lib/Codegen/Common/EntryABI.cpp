//===- EntryABI.cpp - The arena entry point of compiled models --*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-entry-abi: it wraps the model function (on
// tensors, one argument per input and weight) in `moe_forward`, whose C
// signature is the same for every model, so one runtime can call any of
// them. Each tensor is a view into a byte arena at a 64-byte-aligned offset.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/Common/EntryABI.h"
#include "moe/Codegen/Common/Passes.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir {
namespace moe {
#define GEN_PASS_DEF_MOEENTRYABIPASS
#include "moe/Codegen/Common/Passes.h.inc"
} // namespace moe
} // namespace mlir

using namespace mlir;
using namespace mlir::moe;

namespace {

int64_t alignUp(int64_t value) {
  return (value + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

} // namespace

int64_t mlir::moe::arenaElementBytes(Type type) {
  if (type.isIndex())
    return 8;
  if (!type.isIntOrFloat())
    return 0;
  return (type.getIntOrFloatBitWidth() + 7) / 8;
}

Value mlir::moe::buildArenaBytes(OpBuilder &b, Location loc, MemRefType type,
                                 ValueRange dynamicSizes) {
  int64_t staticBytes = arenaElementBytes(type.getElementType());
  for (int64_t dim : type.getShape())
    if (!ShapedType::isDynamic(dim))
      staticBytes *= dim;
  Value bytes = arith::ConstantIndexOp::create(b, loc, staticBytes);
  for (Value size : dynamicSizes)
    bytes = arith::MulIOp::create(b, loc, bytes, size);
  Value alignment = arith::ConstantIndexOp::create(b, loc, kArenaAlignment);
  Value blocks = arith::CeilDivUIOp::create(b, loc, bytes, alignment);
  return arith::MulIOp::create(b, loc, blocks, alignment);
}

namespace {

/// Builds views of tensors laid out one after another in a byte arena.
class ArenaViews {
public:
  ArenaViews(OpBuilder &b, Location loc, Value arena, Value tokens)
      : b(b), loc(loc), arena(arena), tokens(tokens) {
    offset = arith::ConstantIndexOp::create(b, loc, 0);
  }

  /// Returns a view of the next tensor of type `type` in the arena; dynamic
  /// dimensions are the token count. Returns null for a type that has no
  /// arena layout.
  Value next(RankedTensorType type) {
    unsigned bits = type.getElementTypeBitWidth();
    if (bits % 8 != 0)
      return nullptr;
    SmallVector<Value> dynamicSizes(type.getNumDynamicDims(), tokens);
    auto viewType = MemRefType::get(type.getShape(), type.getElementType());
    Value view =
        memref::ViewOp::create(b, loc, viewType, arena, offset, dynamicSizes);

    offset = arith::AddIOp::create(
        b, loc, offset, buildArenaBytes(b, loc, viewType, dynamicSizes));
    return view;
  }

private:
  OpBuilder &b;
  Location loc;
  Value arena;
  Value tokens;
  Value offset;
};

/// A weight in the parameter arena and how `moe_prepare` lays it out.
struct PreparedParam {
  /// The prepared (compiled) view type.
  MemRefType type;
  int64_t offset;
  /// Empty for a plain copy.
  SmallVector<int64_t> permutation;
};

struct MoEEntryABIPass : moe::impl::MoEEntryABIPassBase<MoEEntryABIPass> {
  using MoEEntryABIPassBase::MoEEntryABIPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> entries;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kEntryAttrName))
        entries.push_back(func);
    if (entries.size() != 1) {
      module.emitError() << "expected exactly one function marked '"
                         << kEntryAttrName << "', found " << entries.size();
      return signalPassFailure();
    }
    if (module.lookupSymbol(kForwardEntryName)) {
      module.emitError() << "symbol '" << kForwardEntryName
                         << "' is reserved for the entry point";
      return signalPassFailure();
    }
    if (failed(buildEntryPoint(module, entries.front())))
      return signalPassFailure();
    auto internal = LLVM::LinkageAttr::get(&getContext(),
                                           LLVM::Linkage::Internal);
    Builder b(&getContext());
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPrivate() || func.isExternal())
        continue;
      func->setAttr("llvm.linkage", internal);
      // func-to-llvm does not carry func.func's no_inline: say it in LLVM's
      // terms, or LLVM inlines a layer called once and the model becomes
      // one function again.
      if (func.getNoInline())
        func->setAttr("passthrough", b.getStrArrayAttr({"noinline"}));
    }
  }

  LogicalResult buildEntryPoint(ModuleOp module, func::FuncOp model) {
    Location loc = model.getLoc();
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto arenaType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    auto entry = func::FuncOp::create(
        b, loc, kForwardEntryName,
        b.getFunctionType(
            {b.getIndexType(), arenaType, arenaType, arenaType, arenaType},
            {}));
    entry->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    Block *body = entry.addEntryBlock();
    b.setInsertionPointToStart(body);
    Value tokens = body->getArgument(kForwardTokens);
    ArenaViews inputs(b, loc, body->getArgument(kForwardInputs), tokens);
    ArenaViews outputs(b, loc, body->getArgument(kForwardOutputs), tokens);

    SmallVector<Value> arguments;
    SmallVector<PreparedParam> preparedParams;
    int64_t paramOffset = 0;
    for (auto [index, type] : llvm::enumerate(model.getArgumentTypes())) {
      auto tensorType = dyn_cast<RankedTensorType>(type);
      if (!tensorType)
        return model.emitError() << "argument " << index
                                 << " of the model function must be a ranked "
                                    "tensor, got "
                                 << type;
      Value view;
      if (model.getArgAttr(index, kInputAttrName)) {
        view = inputs.next(tensorType);
      } else if (model.getArgAttr(index, kParamAttrName)) {
        if (!tensorType.hasStaticShape())
          return model.emitError() << "parameter argument " << index
                                   << " must have a static shape, got "
                                   << tensorType;
        auto viewType = MemRefType::get(tensorType.getShape(),
                                        tensorType.getElementType());
        view = memref::ViewOp::create(
            b, loc, viewType, body->getArgument(kForwardParams),
            arith::ConstantIndexOp::create(b, loc, paramOffset), ValueRange{});
        auto permutation = model.getArgAttrOfType<DenseI64ArrayAttr>(
            index, kPreparePermutationAttrName);
        preparedParams.push_back(
            {viewType, paramOffset,
             permutation ? SmallVector<int64_t>(permutation.asArrayRef())
                         : SmallVector<int64_t>{}});
        int64_t bytes = tensorType.getNumElements() *
                        (tensorType.getElementTypeBitWidth() / 8);
        paramOffset = alignUp(paramOffset + bytes);
      } else {
        return model.emitError()
               << "argument " << index << " of the model function is neither a '"
               << kInputAttrName << "' nor a '" << kParamAttrName << "'";
      }
      if (!view)
        return model.emitError() << "argument " << index << " has type "
                                 << type << ", which has no arena layout";
      arguments.push_back(bufferization::ToTensorOp::create(
          b, loc, tensorType, view, /*restrict=*/true, /*writable=*/false));
    }

    auto call = func::CallOp::create(b, loc, model, arguments);
    for (auto [index, result] : llvm::enumerate(call.getResults())) {
      auto tensorType = dyn_cast<RankedTensorType>(result.getType());
      Value view = tensorType ? outputs.next(tensorType) : Value();
      if (!view)
        return model.emitError() << "result " << index << " has type "
                                 << result.getType()
                                 << ", which has no arena layout";
      bufferization::MaterializeInDestinationOp::create(
          b, loc, TypeRange{}, result, view, /*restrict=*/true,
          /*writable=*/true);
    }
    func::ReturnOp::create(b, loc);

    entry->setAttr(kParamBytesAttrName, b.getI64IntegerAttr(paramOffset));
    model.setPrivate();
    if (llvm::any_of(preparedParams, [](const PreparedParam &param) {
          return !param.permutation.empty();
        }))
      buildPrepareEntryPoint(module, loc, preparedParams);
    return success();
  }

  /// Adds `moe_prepare(%raw, %prepared)`, which the runtime calls once after
  /// loading the weights: it permutes the weights that carry a permutation
  /// and copies the others, between two arenas of the same layout. Each
  /// distinct permutation of a weight type is one function, called for every
  /// weight that needs it: a deep model's layers share them.
  void buildPrepareEntryPoint(ModuleOp module, Location loc,
                              ArrayRef<PreparedParam> params) {
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto arenaType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    auto prepare = func::FuncOp::create(
        b, loc, kPrepareEntryName,
        b.getFunctionType({arenaType, arenaType}, {}));
    prepare->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    Block *body = prepare.addEntryBlock();
    b.setInsertionPointToStart(body);
    SymbolTable symbols(module);
    DenseMap<std::pair<Type, Attribute>, func::FuncOp> permuters;
    for (const PreparedParam &param : params) {
      Value offset = arith::ConstantIndexOp::create(b, loc, param.offset);
      Value prepared = memref::ViewOp::create(
          b, loc, param.type, body->getArgument(1), offset, ValueRange{});
      if (param.permutation.empty()) {
        Value raw = memref::ViewOp::create(b, loc, param.type,
                                           body->getArgument(0), offset,
                                           ValueRange{});
        memref::CopyOp::create(b, loc, raw, prepared);
        continue;
      }
      // prepared[i...] = raw[permuted i...]: the raw shape puts prepared
      // dimension i at position permutation[i].
      SmallVector<int64_t> rawShape(param.type.getRank());
      for (auto [i, source] : llvm::enumerate(param.permutation))
        rawShape[source] = param.type.getDimSize(i);
      auto rawType = MemRefType::get(rawShape, param.type.getElementType());
      Value raw = memref::ViewOp::create(b, loc, rawType, body->getArgument(0),
                                         offset, ValueRange{});
      func::FuncOp &permuter = permuters[{
          param.type, b.getDenseI64ArrayAttr(param.permutation)}];
      if (!permuter)
        permuter = buildPermuter(symbols, loc, rawType, param.type,
                                 param.permutation);
      func::CallOp::create(b, loc, permuter, ValueRange{raw, prepared});
    }
    func::ReturnOp::create(b, loc);
  }

  /// A private function writing `permutation` of a `rawType` buffer into a
  /// `preparedType` one.
  func::FuncOp buildPermuter(SymbolTable &symbols, Location loc,
                             MemRefType rawType, MemRefType preparedType,
                             ArrayRef<int64_t> permutation) {
    OpBuilder b(&getContext());
    auto permuter = func::FuncOp::create(
        b, loc, "moe_prepare_permute",
        b.getFunctionType({rawType, preparedType}, {}));
    symbols.insert(permuter);
    permuter.setPrivate();
    permuter.setNoInline(true);
    Block *body = permuter.addEntryBlock();
    b.setInsertionPointToStart(body);
    linalg::TransposeOp::create(b, loc, body->getArgument(0),
                                body->getArgument(1), permutation);
    func::ReturnOp::create(b, loc);
    return permuter;
  }
};

} // namespace
