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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
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
  /// Its offsets in the raw arena and in the prepared one, which differ
  /// when weights are concatenated.
  int64_t offset, preparedOffset;
  /// Empty for a plain copy.
  SmallVector<int64_t> permutation;
};

/// Places the weights in the prepared arena: in argument order, each at a
/// 64-byte-aligned offset, except that the parts of a concatenation
/// (`concatParts`, argument positions) follow one another without a gap,
/// where the first of them comes. Returns each weight's prepared offset by
/// argument position, or failure for a weight in two concatenations.
LogicalResult
placePreparedParams(ArrayRef<std::pair<unsigned, int64_t>> paramBytes,
                    ArrayRef<SmallVector<int64_t>> concatParts,
                    DenseMap<unsigned, int64_t> &preparedOffsets) {
  DenseMap<unsigned, unsigned> concatOf;
  for (auto [concat, parts] : llvm::enumerate(concatParts))
    for (int64_t part : parts)
      if (!concatOf.try_emplace(part, concat).second)
        return failure();
  DenseMap<unsigned, int64_t> bytesOf(paramBytes.begin(), paramBytes.end());
  int64_t offset = 0;
  for (auto [index, bytes] : paramBytes) {
    if (preparedOffsets.count(index))
      continue;
    offset = alignUp(offset);
    auto it = concatOf.find(index);
    if (it == concatOf.end()) {
      preparedOffsets[index] = offset;
      offset += bytes;
      continue;
    }
    for (int64_t part : concatParts[it->second]) {
      preparedOffsets[part] = offset;
      offset += bytesOf.lookup(part);
    }
  }
  return success();
}

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
    permuters.clear();
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

    // The raw arena holds the weights in argument order; the inputs' views
    // come in argument order too.
    SmallVector<Value> views(model.getNumArguments());
    SmallVector<std::pair<unsigned, int64_t>> paramBytes;
    DenseMap<unsigned, int64_t> rawOffsets;
    SmallVector<unsigned> concats;
    SmallVector<SmallVector<int64_t>> concatParts;
    int64_t paramOffset = 0;
    for (auto [index, type] : llvm::enumerate(model.getArgumentTypes())) {
      auto tensorType = dyn_cast<RankedTensorType>(type);
      if (!tensorType)
        return model.emitError() << "argument " << index
                                 << " of the model function must be a ranked "
                                    "tensor, got "
                                 << type;
      bool isParam = model.getArgAttr(index, kParamAttrName) != nullptr;
      auto parts = model.getArgAttrOfType<DenseI64ArrayAttr>(
          index, kParamConcatAttrName);
      if ((isParam || parts) && !tensorType.hasStaticShape())
        return model.emitError()
               << "parameter argument " << index
               << " must have a static shape, got " << tensorType;
      if (model.getArgAttr(index, kInputAttrName)) {
        views[index] = inputs.next(tensorType);
        if (!views[index])
          return model.emitError() << "argument " << index << " has type "
                                   << type << ", which has no arena layout";
      } else if (isParam) {
        int64_t bytes = tensorType.getNumElements() *
                        (tensorType.getElementTypeBitWidth() / 8);
        rawOffsets[index] = paramOffset;
        paramBytes.push_back({static_cast<unsigned>(index), bytes});
        paramOffset = alignUp(paramOffset + bytes);
      } else if (parts) {
        concats.push_back(index);
        concatParts.push_back(llvm::to_vector(parts.asArrayRef()));
      } else {
        return model.emitError()
               << "argument " << index << " of the model function is neither a '"
               << kInputAttrName << "' nor a '" << kParamAttrName << "'";
      }
    }
    DenseMap<unsigned, int64_t> preparedOffsets;
    if (failed(placePreparedParams(paramBytes, concatParts, preparedOffsets)))
      return model.emitError()
             << "a weight is a part of two '" << kParamConcatAttrName << "'s";
    // The forward pass reads the prepared arena.
    SmallVector<PreparedParam> preparedParams;
    auto paramView = [&](RankedTensorType type, int64_t offset) -> Value {
      auto viewType = MemRefType::get(type.getShape(), type.getElementType());
      return memref::ViewOp::create(
          b, loc, viewType, body->getArgument(kForwardParams),
          arith::ConstantIndexOp::create(b, loc, offset), ValueRange{});
    };
    for (auto [index, bytes] : paramBytes) {
      auto type = cast<RankedTensorType>(model.getArgumentTypes()[index]);
      int64_t preparedOffset = preparedOffsets.lookup(index);
      views[index] = paramView(type, preparedOffset);
      // An identity permutation (a reshape of the raw bytes) is a copy.
      SmallVector<int64_t> permutation;
      if (auto attr = model.getArgAttrOfType<DenseI64ArrayAttr>(
              index, kPreparePermutationAttrName);
          attr && !isIdentityPermutation(attr.asArrayRef()))
        permutation = llvm::to_vector(attr.asArrayRef());
      preparedParams.push_back(
          {MemRefType::get(type.getShape(), type.getElementType()),
           rawOffsets.lookup(index), preparedOffset, permutation});
    }
    for (auto [index, parts] : llvm::zip_equal(concats, concatParts))
      views[index] =
          paramView(cast<RankedTensorType>(model.getArgumentTypes()[index]),
                    preparedOffsets.lookup(parts.front()));
    SmallVector<Value> arguments;
    for (auto [type, view] : llvm::zip_equal(model.getArgumentTypes(), views))
      arguments.push_back(bufferization::ToTensorOp::create(
          b, loc, type, view, /*restrict=*/true, /*writable=*/false));

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
          return !param.permutation.empty() ||
                 param.offset != param.preparedOffset;
        })) {
      SymbolTable symbols(module);
      buildPrepareEntryPoint(module, symbols, loc, preparedParams);
      if (prepareSlices)
        buildPrepareSliceEntryPoint(module, symbols, loc, preparedParams);
    }
    return success();
  }

  /// Adds `moe_prepare(%raw, %prepared)`, which the runtime calls once after
  /// loading the weights: it permutes the weights that carry a permutation
  /// and copies the others, between two arenas of the same layout. Each
  /// distinct permutation of a weight type is one function, called for every
  /// weight that needs it: a deep model's layers share them.
  void buildPrepareEntryPoint(ModuleOp module, SymbolTable &symbols,
                              Location loc, ArrayRef<PreparedParam> params) {
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto arenaType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    auto prepare = func::FuncOp::create(
        b, loc, kPrepareEntryName,
        b.getFunctionType({arenaType, arenaType}, {}));
    prepare->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    Block *body = prepare.addEntryBlock();
    b.setInsertionPointToStart(body);
    for (const PreparedParam &param : params) {
      Value offset = arith::ConstantIndexOp::create(b, loc, param.offset);
      Value preparedOffset =
          arith::ConstantIndexOp::create(b, loc, param.preparedOffset);
      prepareBetween(b, symbols, loc, param.type, param.permutation,
                     body->getArgument(0), body->getArgument(1), offset,
                     preparedOffset);
    }
    func::ReturnOp::create(b, loc);
  }

  /// Adds `moe_prepare_slice(%param, %slice, %raw, %prepared) -> index`,
  /// which prepares slice `%slice` of weight `%param` (in argument order)
  /// and returns how many slices that weight has; a `%slice` (or `%param`)
  /// out of range prepares nothing. A weight whose permutation keeps its
  /// leading dimension (the experts of a stacked weight), or that is
  /// copied, has one slice per index of it, each a contiguous run of bytes
  /// in both arenas; any other has one. A runtime that fills the raw arena
  /// a slice at a time can prepare each and drop its raw bytes, instead of
  /// holding both arenas whole.
  ///
  /// Each weight's (kind, offset, slices, slice bytes) is a row of a
  /// constant table; the code switches on the kind, one case per distinct
  /// slice type and permutation. (A switch on the weight would have equal
  /// cases for equal layers, which LLVM merges in an order that changes
  /// from run to run.)
  void buildPrepareSliceEntryPoint(ModuleOp module, SymbolTable &symbols,
                                   Location loc,
                                   ArrayRef<PreparedParam> params) {
    struct Kind {
      MemRefType sliceType;
      SmallVector<int64_t> permutation;
    };
    SmallVector<Kind> kinds;
    SmallVector<int64_t> table;
    for (const PreparedParam &param : params) {
      bool sliced = param.type.getRank() >= 2 &&
                    (param.permutation.empty() || param.permutation[0] == 0);
      Kind kind{param.type, param.permutation};
      if (sliced) {
        kind.sliceType = MemRefType::get(param.type.getShape().drop_front(),
                                         param.type.getElementType());
        kind.permutation.clear();
        if (!param.permutation.empty())
          for (int64_t dim : llvm::drop_begin(param.permutation))
            kind.permutation.push_back(dim - 1);
      }
      auto it = llvm::find_if(kinds, [&](const Kind &other) {
        return other.sliceType == kind.sliceType &&
               other.permutation == kind.permutation;
      });
      int64_t kindIndex = it - kinds.begin();
      if (it == kinds.end())
        kinds.push_back(kind);
      int64_t sliceBytes = kind.sliceType.getNumElements() *
                           (kind.sliceType.getElementTypeBitWidth() / 8);
      table.append({kindIndex, param.offset,
                    sliced ? param.type.getDimSize(0) : 1, sliceBytes,
                    param.preparedOffset});
    }

    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto tableType = MemRefType::get({static_cast<int64_t>(params.size()), 5},
                                     b.getI64Type());
    auto global = memref::GlobalOp::create(
        b, loc, "moe_prepare_slices", b.getStringAttr("private"), tableType,
        DenseIntElementsAttr::get(
            RankedTensorType::get(tableType.getShape(), b.getI64Type()),
            table),
        /*constant=*/true, /*alignment=*/IntegerAttr());
    symbols.insert(global);

    auto arenaType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    Type index = b.getIndexType();
    auto prepareSlice = func::FuncOp::create(
        b, loc, kPrepareSliceEntryName,
        b.getFunctionType({index, index, arenaType, arenaType}, {index}));
    prepareSlice->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    Block *body = prepareSlice.addEntryBlock();
    b.setInsertionPointToStart(body);
    Value param = body->getArgument(0), slice = body->getArgument(1);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    auto inRange = [&](Value value, Value limit) {
      return arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, value,
                                zero),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, value,
                                limit));
    };
    Value known = inRange(
        param, arith::ConstantIndexOp::create(b, loc, params.size()));
    auto ifKnown = scf::IfOp::create(b, loc, TypeRange{index}, known,
                                     /*withElseRegion=*/true);
    b.setInsertionPointToStart(ifKnown.elseBlock());
    scf::YieldOp::create(b, loc, ValueRange{zero});
    b.setInsertionPointToStart(ifKnown.thenBlock());
    Value rows = memref::GetGlobalOp::create(b, loc, tableType, global.getName());
    auto field = [&](int64_t column) -> Value {
      Value value = memref::LoadOp::create(
          b, loc, rows,
          ValueRange{param, arith::ConstantIndexOp::create(b, loc, column)});
      return arith::IndexCastOp::create(b, loc, index, value);
    };
    Value kind = field(0), offset = field(1), count = field(2),
          sliceBytes = field(3), preparedOffset = field(4);
    auto ifSlice = scf::IfOp::create(b, loc, inRange(slice, count));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifSlice.thenBlock());
      Value skipped = arith::MulIOp::create(b, loc, slice, sliceBytes);
      Value at = arith::AddIOp::create(b, loc, offset, skipped);
      Value preparedAt = arith::AddIOp::create(b, loc, preparedOffset, skipped);
      SmallVector<int64_t> cases;
      for (int64_t i = 0, e = kinds.size(); i < e; ++i)
        cases.push_back(i);
      auto switchOp = scf::IndexSwitchOp::create(b, loc, TypeRange{}, kind,
                                                 cases, cases.size());
      b.setInsertionPointToStart(&switchOp.getDefaultRegion().emplaceBlock());
      scf::YieldOp::create(b, loc);
      for (auto [region, kindInfo] :
           llvm::zip_equal(switchOp.getCaseRegions(), kinds)) {
        b.setInsertionPointToStart(&region.emplaceBlock());
        prepareBetween(b, symbols, loc, kindInfo.sliceType,
                       kindInfo.permutation, body->getArgument(2),
                       body->getArgument(3), at, preparedAt);
        scf::YieldOp::create(b, loc);
      }
    }
    scf::YieldOp::create(b, loc, ValueRange{count});
    b.setInsertionPointAfter(ifKnown);
    func::ReturnOp::create(b, loc, ifKnown.getResults());
  }

  /// Lays a weight of prepared type `type` out from the raw arena at byte
  /// `offset` into the prepared one at byte `preparedOffset`: a copy, or
  /// with `permutation` a call of the permuter for it (one function per
  /// distinct type and permutation, shared by every weight that needs it).
  void prepareBetween(OpBuilder &b, SymbolTable &symbols, Location loc,
                      MemRefType type, ArrayRef<int64_t> permutation,
                      Value rawArena, Value preparedArena, Value offset,
                      Value preparedOffset) {
    Value prepared = memref::ViewOp::create(b, loc, type, preparedArena,
                                            preparedOffset, ValueRange{});
    if (permutation.empty()) {
      Value raw =
          memref::ViewOp::create(b, loc, type, rawArena, offset, ValueRange{});
      memref::CopyOp::create(b, loc, raw, prepared);
      return;
    }
    // prepared[i...] = raw[permuted i...]: the raw shape puts prepared
    // dimension i at position permutation[i].
    SmallVector<int64_t> rawShape(type.getRank());
    for (auto [i, source] : llvm::enumerate(permutation))
      rawShape[source] = type.getDimSize(i);
    auto rawType = MemRefType::get(rawShape, type.getElementType());
    Value raw =
        memref::ViewOp::create(b, loc, rawType, rawArena, offset, ValueRange{});
    func::FuncOp &permuter =
        permuters[{type, b.getDenseI64ArrayAttr(permutation)}];
    if (!permuter)
      permuter = buildPermuter(symbols, loc, rawType, type, permutation);
    func::CallOp::create(b, loc, permuter, ValueRange{raw, prepared});
  }

  /// The permuters built so far, by prepared type and permutation.
  DenseMap<std::pair<Type, Attribute>, func::FuncOp> permuters;

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
