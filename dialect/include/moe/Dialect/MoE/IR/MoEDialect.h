//===- MoEDialect.h - MoE dialect declaration -------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file declares the MoE dialect, its enumerations and attributes.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_DIALECT_MOE_IR_MOEDIALECT_H
#define MOE_DIALECT_MOE_IR_MOEDIALECT_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/Dialect.h"

#include "moe/Dialect/MoE/IR/MoEOpsDialect.h.inc"

#include "moe/Dialect/MoE/IR/MoEEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "moe/Dialect/MoE/IR/MoEAttrs.h.inc"

namespace mlir {
namespace moe {

// The names of the dialect's discardable attributes (MoEBase.td says where
// each goes and what it holds).
constexpr llvm::StringLiteral kEntryAttrName =
    MoEDialect::EntryAttrHelper::getNameStr();
constexpr llvm::StringLiteral kModelNameAttrName =
    MoEDialect::ModelNameAttrHelper::getNameStr();
constexpr llvm::StringLiteral kInputAttrName =
    MoEDialect::InputAttrHelper::getNameStr();
constexpr llvm::StringLiteral kParamAttrName =
    MoEDialect::ParamAttrHelper::getNameStr();
constexpr llvm::StringLiteral kPreparePermutationAttrName =
    MoEDialect::PreparePermutationAttrHelper::getNameStr();
constexpr llvm::StringLiteral kParamConcatAttrName =
    MoEDialect::ParamConcatAttrHelper::getNameStr();
constexpr llvm::StringLiteral kParamBytesAttrName =
    MoEDialect::ParamBytesAttrHelper::getNameStr();
constexpr llvm::StringLiteral kLayerFunctionAttrName =
    MoEDialect::LayerFunctionAttrHelper::getNameStr();
constexpr llvm::StringLiteral kPassOptionsAttrName =
    MoEDialect::PassOptionsAttrHelper::getNameStr();
constexpr llvm::StringLiteral kDecodeVersionAttrName =
    MoEDialect::DecodeVersionAttrHelper::getNameStr();
constexpr llvm::StringLiteral kDecodeTokensAttrName =
    MoEDialect::DecodeTokensAttrHelper::getNameStr();
constexpr llvm::StringLiteral kSegmentMatmulAttrName =
    MoEDialect::SegmentMatmulAttrHelper::getNameStr();
constexpr llvm::StringLiteral kSegmentEpilogueAttrName =
    MoEDialect::SegmentEpilogueAttrHelper::getNameStr();
constexpr llvm::StringLiteral kSegmentGatherAttrName =
    MoEDialect::SegmentGatherAttrHelper::getNameStr();
constexpr llvm::StringLiteral kRouterLogitsAttrName =
    MoEDialect::RouterLogitsAttrHelper::getNameStr();
constexpr llvm::StringLiteral kSegmentLoopAttrName =
    MoEDialect::SegmentLoopAttrHelper::getNameStr();
constexpr llvm::StringLiteral kTileTargetAttrName =
    MoEDialect::TileTargetAttrHelper::getNameStr();
constexpr llvm::StringLiteral kTileFillAttrName =
    MoEDialect::TileFillAttrHelper::getNameStr();
constexpr llvm::StringLiteral kWarpMmaAttrName =
    MoEDialect::WarpMmaAttrHelper::getNameStr();

} // namespace moe
} // namespace mlir

#endif // MOE_DIALECT_MOE_IR_MOEDIALECT_H
