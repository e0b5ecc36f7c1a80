//===- MoEDialect.cpp - MoE dialect -----------------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the MoE dialect: registration of its ops, enums and
// attributes, and the verification of its discardable attributes.
//
//===----------------------------------------------------------------------===//

#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Dialect/MoE/IR/MoEOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::moe;

#include "moe/Dialect/MoE/IR/MoEOpsDialect.cpp.inc"

#include "moe/Dialect/MoE/IR/MoEEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "moe/Dialect/MoE/IR/MoEAttrs.cpp.inc"

void MoEDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "moe/Dialect/MoE/IR/MoEAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "moe/Dialect/MoE/IR/MoEOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

namespace {

/// Checks that `attribute` holds an `AttrTy` (`what` names it).
template <typename AttrTy>
LogicalResult verifyHolds(Operation *op, NamedAttribute attribute,
                          StringRef what) {
  if (isa<AttrTy>(attribute.getValue()))
    return success();
  return op->emitOpError() << "attribute '" << attribute.getName().strref()
                           << "' must be " << what << ", got "
                           << attribute.getValue();
}

/// Checks that `attribute` holds an integer that is not negative.
LogicalResult verifyNonNegative(Operation *op, NamedAttribute attribute) {
  if (failed(verifyHolds<IntegerAttr>(op, attribute, "an integer")))
    return failure();
  if (cast<IntegerAttr>(attribute.getValue()).getValue().isNegative())
    return op->emitOpError() << "attribute '" << attribute.getName().strref()
                             << "' must not be negative";
  return success();
}

/// Checks that the op carrying `attribute` is an `OpTy` (`what` names it).
template <typename OpTy>
LogicalResult verifyOn(Operation *op, NamedAttribute attribute,
                       StringRef what) {
  if (isa<OpTy>(op))
    return success();
  return op->emitOpError() << "attribute '" << attribute.getName().strref()
                           << "' is only valid on " << what;
}

/// Checks `moe.param_concat` on argument `argIndex` of `function`: other
/// weight arguments whose types, concatenated along dimension 0, are the
/// argument's.
LogicalResult verifyParamConcat(FunctionOpInterface function, unsigned argIndex,
                                NamedAttribute attribute) {
  StringRef name = attribute.getName().strref();
  auto fail = [&]() {
    return function->emitOpError()
           << "argument " << argIndex << " attribute '" << name << "' ";
  };
  auto parts = dyn_cast<DenseI64ArrayAttr>(attribute.getValue());
  if (!parts || parts.empty())
    return fail() << "must be a non-empty dense i64 array, got "
                  << attribute.getValue();
  ArrayRef<Type> types = function.getArgumentTypes();
  auto type = dyn_cast<RankedTensorType>(types[argIndex]);
  if (!type || type.getRank() < 1 || !type.hasStaticShape())
    return fail() << "must be on a statically shaped tensor, got "
                  << types[argIndex];
  int64_t rows = 0;
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t part : parts.asArrayRef()) {
    if (part < 0 || part >= static_cast<int64_t>(types.size()) ||
        part == argIndex || !function.getArgAttr(part, kParamAttrName) ||
        function.getArgAttr(part, kParamConcatAttrName))
      return fail() << "must name other weight arguments, got " << part;
    if (!seen.insert(part).second)
      return fail() << "names argument " << part << " twice";
    auto partType = dyn_cast<RankedTensorType>(types[part]);
    if (!partType || !partType.hasStaticShape() ||
        partType.getRank() != type.getRank() ||
        partType.getElementType() != type.getElementType() ||
        partType.getShape().drop_front() != type.getShape().drop_front())
      return fail() << "must name weights of type " << type
                    << " but for dimension 0, got " << types[part];
    rows += partType.getDimSize(0);
  }
  if (rows != type.getDimSize(0))
    return fail() << "names weights of " << rows << " rows in all, expected "
                  << type.getDimSize(0);
  return success();
}

} // namespace

LogicalResult MoEDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attribute) {
  StringRef name = attribute.getName().strref();
  if (name == kEntryAttrName || name == kLayerFunctionAttrName)
    return success(
        succeeded(verifyHolds<UnitAttr>(op, attribute, "a unit attribute")) &&
        succeeded(verifyOn<FunctionOpInterface>(op, attribute, "functions")));
  if (name == kPassOptionsAttrName) {
    if (failed(verifyHolds<DictionaryAttr>(op, attribute, "a dictionary")) ||
        failed(verifyOn<FunctionOpInterface>(op, attribute, "functions")))
      return failure();
    for (NamedAttribute entry : cast<DictionaryAttr>(attribute.getValue()))
      if (!isa<StringAttr>(entry.getValue()))
        return op->emitOpError()
               << "attribute '" << name << "' must map pass arguments to "
               << "option strings, got " << entry.getValue() << " for '"
               << entry.getName().strref() << "'";
    return success();
  }
  if (name == kDecodeVersionAttrName)
    return success(
        succeeded(verifyHolds<FlatSymbolRefAttr>(op, attribute,
                                                 "a function's name")) &&
        succeeded(verifyOn<FunctionOpInterface>(op, attribute, "functions")));
  if (name == kDecodeTokensAttrName) {
    if (failed(verifyHolds<IntegerAttr>(op, attribute, "an integer")) ||
        failed(verifyOn<FunctionOpInterface>(op, attribute, "functions")))
      return failure();
    if (cast<IntegerAttr>(attribute.getValue()).getValue().slt(1))
      return op->emitOpError() << "attribute '" << name << "' must be positive";
    return success();
  }
  if (name == kParamBytesAttrName)
    return success(
        succeeded(verifyNonNegative(op, attribute)) &&
        succeeded(verifyOn<FunctionOpInterface>(op, attribute, "functions")));
  if (name == kModelNameAttrName)
    return success(
        succeeded(verifyHolds<StringAttr>(op, attribute, "a string")) &&
        succeeded(verifyOn<ModuleOp>(op, attribute, "modules")));
  if (name == kSegmentMatmulAttrName || name == kSegmentEpilogueAttrName ||
      name == kSegmentGatherAttrName || name == kRouterLogitsAttrName ||
      name == kWarpMmaAttrName)
    return success(
        succeeded(verifyHolds<UnitAttr>(op, attribute, "a unit attribute")) &&
        succeeded(verifyOn<DestinationStyleOpInterface>(
            op, attribute, "destination-style ops")));
  if (name == kSegmentLoopAttrName)
    return success(
        succeeded(verifyHolds<UnitAttr>(op, attribute, "a unit attribute")) &&
        succeeded(verifyOn<LoopLikeOpInterface>(op, attribute, "loops")));
  if (name == kTileTargetAttrName || name == kTileFillAttrName)
    return success(succeeded(verifyNonNegative(op, attribute)) &&
                   succeeded(verifyOn<DestinationStyleOpInterface>(
                       op, attribute, "destination-style ops")));
  if (name == kInputAttrName || name == kParamAttrName ||
      name == kPreparePermutationAttrName || name == kParamConcatAttrName)
    return op->emitOpError()
           << "attribute '" << name << "' is only valid on function arguments";
  return op->emitOpError() << "unknown MoE dialect attribute '" << name << "'";
}

LogicalResult MoEDialect::verifyRegionArgAttribute(Operation *op,
                                                   unsigned regionIndex,
                                                   unsigned argIndex,
                                                   NamedAttribute attribute) {
  StringRef name = attribute.getName().strref();
  if (name != kInputAttrName && name != kParamAttrName &&
      name != kPreparePermutationAttrName && name != kParamConcatAttrName)
    return op->emitOpError()
           << "attribute '" << name << "' is not valid on arguments";
  auto function = dyn_cast<FunctionOpInterface>(op);
  if (!function || regionIndex != 0)
    return op->emitOpError()
           << "attribute '" << name << "' is only valid on function arguments";
  if (name == kInputAttrName || name == kParamAttrName) {
    auto value = dyn_cast<StringAttr>(attribute.getValue());
    if (!value || value.getValue().empty())
      return op->emitOpError()
             << "argument " << argIndex << " attribute '" << name
             << "' must be a non-empty string, got " << attribute.getValue();
    return success();
  }
  if (name == kParamConcatAttrName)
    return verifyParamConcat(function, argIndex, attribute);
  // A permutation of the argument's dims.
  auto permutation = dyn_cast<DenseI64ArrayAttr>(attribute.getValue());
  if (!permutation)
    return op->emitOpError()
           << "argument " << argIndex << " attribute '" << name
           << "' must be a dense i64 array, got " << attribute.getValue();
  auto type = dyn_cast<ShapedType>(function.getArgumentTypes()[argIndex]);
  if (!type || !type.hasRank() ||
      type.getRank() != static_cast<int64_t>(permutation.size()))
    return op->emitOpError()
           << "argument " << argIndex << " attribute '" << name
           << "' must have one entry per dim of the argument's type "
           << function.getArgumentTypes()[argIndex];
  SmallVector<bool> seen(permutation.size(), false);
  for (int64_t dim : permutation.asArrayRef()) {
    if (dim < 0 || dim >= static_cast<int64_t>(seen.size()) || seen[dim])
      return op->emitOpError()
             << "argument " << argIndex << " attribute '" << name
             << "' must be a permutation, got " << attribute.getValue();
    seen[dim] = true;
  }
  return success();
}
