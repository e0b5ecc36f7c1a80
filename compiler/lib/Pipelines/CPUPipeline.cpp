//===- CPUPipeline.cpp - The moe-mlir CPU pipeline --------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the pass pipelines that take the MoE dialect to the
// LLVM dialect for the host CPU, as a chain of stage builders.
//
//===----------------------------------------------------------------------===//

#include "moe/Pipelines/Pipelines.h"
#include "moe/Codegen/CPU/Passes.h"
#include "moe/Codegen/Common/Passes.h"
#include "moe/Conversion/Passes.h"
#include "moe/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToAMX/VectorToAMX.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

#include <numeric>

using namespace mlir;
using namespace mlir::moe;

//===----------------------------------------------------------------------===//
// Pipeline stages
//===----------------------------------------------------------------------===//

/// Whether the kernels take the AMX schedule (amx, on the bf16-dot pair
/// layout of the vectorized kernels).
static bool amxSchedule(const CPUPipelineOptions &options) {
  return options.vectorize && options.bf16Dot && options.amx;
}

/// Whether the kernels' AMX-shaped contractions go to the AMX tile unit
/// (not to the vector lowering, as amx-host-semantics asks).
static bool amxTileUnit(const CPUPipelineOptions &options) {
  return amxSchedule(options) && !options.amxHostSemantics;
}

void mlir::moe::buildMoEOutlineLayersStage(OpPassManager &pm) {
  pm.addPass(createMoEOutlineLayersPass());
  pm.addPass(func::createDuplicateFunctionEliminationPass());
}

void mlir::moe::buildMoEDecompositionPipeline(
    OpPassManager &pm, const DecompositionOptions &options) {
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  MoEDecomposeLayerPassOptions layer;
  layer.segmentAlignment = options.segmentAlignment;
  funcPm.addPass(createMoEDecomposeLayerPass(layer));
  if (options.fuseRouter)
    funcPm.addPass(createMoEFuseRouterPass());
  if (options.decomposeExpertFFN) {
    funcPm.addPass(createMoEDecomposeExpertFFNPass());
    if (options.fuseGateUp) {
      funcPm.addPass(createMoEFuseGateUpPass());
      if (options.fuseGather)
        funcPm.addPass(createMoEFuseGatherPass());
    }
    if (options.fuseCombine)
      funcPm.addPass(createMoEFuseCombinePass());
  }
  funcPm.addPass(createCanonicalizerPass());
  funcPm.addPass(createCSEPass());
}

void mlir::moe::buildMoEToLinalgStage(
    OpPassManager &pm, const ConvertMoEToLinalgPassOptions &options) {
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createConvertMoEToLinalgPass(options));
  funcPm.addPass(createCanonicalizerPass());
  funcPm.addPass(createCSEPass());
}

void mlir::moe::buildMoECPUKernelStage(OpPassManager &pm,
                                       const CPUPipelineOptions &options) {
  if (!options.vectorize)
    return;
  MoECPUTileAndVectorizePassOptions tiling;
  tiling.panelWidth = options.panelWidth;
  tiling.rowTile = options.rowTile;
  tiling.reductionBlock = options.reductionBlock;
  tiling.gatedRowBlock = options.gatedRowBlock;
  tiling.combineRowBlock = options.combineRowBlock;
  tiling.parallelPanels = options.threads;
  tiling.amxTiles = amxSchedule(options);
  pm.addPass(createMoECPUTileAndVectorizePass(tiling));
  // What no kernel took (the unfused activation, bf16 roundings): over
  // threads when there are threads, in vectors.
  MoECPUVectorizeElementwisePassOptions elementwise;
  pm.addNestedPass<func::FuncOp>(
      createMoECPUVectorizeElementwisePass(elementwise));
  pm.addPass(createMoECPUApproximateVectorMathPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::moe::buildMoEEntryAndBufferizeStage(OpPassManager &pm,
                                               bool prepareSlices) {
  MoEEntryABIPassOptions entry;
  entry.prepareSlices = prepareSlices;
  pm.addPass(createMoEEntryABIPass(entry));
  pm.addPass(createInlinerPass());
  pm.addPass(createSymbolDCEPass());
  // Let results be computed in the output arena instead of copied there,
  // each in its own: no destination tensor may be shared between results.
  pm.addPass(createMoEUntieSharedInitsPass());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Matching extract/insert slice pairs bufferize to copies between equal
  // subviews: CSE makes them one value and canonicalization drops the
  // self-copy.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  // Outlined layers write their result into the buffer they are passed
  // (once canonicalization has folded the loops that carry it, the
  // function returns that argument): the result goes, and no call result
  // aliases a caller's buffer unseen.
  pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  // The caller then copies such a result onto the buffer it passed (a
  // residual add's, the output's): the self-copy folds before anything
  // (a GPU launch) is made of it.
  pm.addPass(createCanonicalizerPass());
}

void mlir::moe::buildMoECPUBufferizationStage(
    OpPassManager &pm, const CPUPipelineOptions &options) {
  // Threads, the hoist and the prefetch apply to the vectorized kernels.
  bool threads = options.vectorize && options.threads;
  buildMoEEntryAndBufferizeStage(pm);
  // The AMX tiles' contractions, while their operands are still read
  // through the subviews that give each tile its rows' stride (or, for
  // amx-host-semantics, as f32 matmuls of vector registers).
  if (amxTileUnit(options)) {
    pm.addPass(createConvertVectorToAMX());
    // The conversion views the accumulator's place twice (for the load and
    // the store): one value, for the hoist to see they are one place.
    pm.addPass(createCSEPass());
    pm.addNestedPass<func::FuncOp>(createMoECPUHoistAMXAccumulatorsPass());
  } else if (amxSchedule(options)) {
    pm.addPass(createMoECPULowerVnniContractionsPass());
  }
  pm.addPass(createMoECPUExpandStridedCopiesPass());
  pm.addPass(createMoECPUFlattenVectorTransfersPass());
  // Buffers sized by the token count live in the caller's scratch arena:
  // no allocation, and no fresh page, on each call.
  pm.addPass(createMoEScratchArenaPass());
  // One parallel loop over every expert's panels, not one per expert.
  if (threads && options.hoistPanelLoops)
    pm.addPass(createMoECPUHoistPanelLoopsPass());
  // Memory streams the next weight block while the tiles compute on this
  // one.
  if (options.vectorize && options.prefetch) {
    MoECPUPrefetchNextBlockPassOptions prefetchOptions;
    prefetchOptions.spreadRows = options.prefetchSpreadRows;
    prefetchOptions.shortSpreadRows = options.prefetchShortSpreadRows;
    prefetchOptions.localityHint = options.prefetchLocality;
    pm.addNestedPass<func::FuncOp>(
        createMoECPUPrefetchNextBlockPass(prefetchOptions));
  }
  // A tile's temporaries (a K-blocked gated kernel's partial sums) are
  // allocated once per thread share instead of once per tile.
  if (options.vectorize)
    pm.addNestedPass<func::FuncOp>(createMoECPUHoistTileBuffersPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  if (threads) {
    // Each forall iteration writes its own panel or column chunk: they run
    // as OpenMP work-sharing loops (a canonicalization right after keeps the
    // allocation scopes valid).
    pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(createCanonicalizerPass());
  } else {
    // One thread: the foralls (the routing data's column chunks) are loops.
    pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  }
}

void mlir::moe::buildMoECPUToLLVMStage(OpPassManager &pm, bool runtimeChecks,
                                       bool amx) {
  if (runtimeChecks)
    pm.addPass(createGenerateRuntimeVerificationPass());
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createConvertLinalgToLoopsPass());
  funcPm.addPass(createLowerAffinePass());
  // Transfers the vectorizer leaves are unrolled, not looped over.
  funcPm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  funcPm.addPass(createSCFToControlFlowPass());
  funcPm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // bf16 conversions become integer shifts before LLVM sees bf16 vectors
  // (see the pass's description).
  pm.addPass(createMoECPUExpandBF16Pass());
  // Math ops with an LLVM lowering first; what is left (erf) becomes a libm
  // call.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // x86vector: the AVX-512 BF16 dot products of moe-cpu-bf16-dot; amx:
  // the tiles of convert-vector-to-amx.
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.x86Vector = true;
  vectorToLLVM.amx = amx;
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::moe::buildMoECPUPipeline(OpPassManager &pm,
                                    const CPUPipelineOptions &options) {
  DecompositionOptions decomposition;
  decomposition.decomposeExpertFFN = options.decomposeExpertFFN;
  decomposition.fuseRouter = options.fuseRouter;
  decomposition.fuseGateUp = options.fuseGateUp;
  decomposition.fuseGather = options.fuseGather;
  // The combine's tiles are scheduled and lowered by
  // moe-cpu-tile-and-vectorize, for the FMA kernels (not the pair layout).
  decomposition.fuseCombine =
      options.fuseCombine && options.vectorize && !options.bf16Dot;
  // Unpadded segments by default: a padded row costs as much compute as a
  // real one (a decoding token's one row became eight), more than the
  // remainder's one-row tiles cost (docs/cpu-codegen.md).
  if (options.vectorize)
    decomposition.segmentAlignment = options.segmentAlignment > 0
                                         ? options.segmentAlignment
                                         : options.rowTile;
  // AMX tiles run plain grouped matmuls: gate and up apart, each on the
  // tile unit, instead of the fused kernel's vector registers; and whole
  // blocks of tile rows, padded (a padded row costs a tile little, a
  // remainder row would run on the dot products at a small fraction of
  // the tile unit's rate).
  if (amxSchedule(options)) {
    decomposition.fuseGateUp = false;
    decomposition.segmentAlignment =
        std::lcm<int64_t>(decomposition.segmentAlignment, kAMXBlockRows);
  }
  // Before outlining: the fusion matches a layer and its shared FFN by the
  // tokens they run over, which outlining passes in as separate arguments.
  if (options.fuseSharedExperts)
    pm.addNestedPass<func::FuncOp>(createMoEFuseSharedExpertsPass());
  if (options.outlineLayers)
    buildMoEOutlineLayersStage(pm);
  buildMoEDecompositionPipeline(pm, decomposition);
  // The hook calls that the executable's --profile times, after the
  // fusions: a fused step is one phase.
  pm.addPass(createMoECPUProfilePhasesPass());
  // Weights concatenated by the fusions are laid out at load time, before
  // the kernels' layouts are chosen for them.
  pm.addPass(createMoEConcatParametersPass());
  if (options.vectorize) {
    if (options.bf16Dot) {
      MoECPUBF16DotPassOptions bf16Dot;
      bf16Dot.panelWidth = options.panelWidth;
      pm.addPass(createMoECPUBF16DotPass(bf16Dot));
    }
    MoECPUPrepareExpertWeightsPassOptions prepare;
    prepare.panelWidth = options.panelWidth;
    pm.addPass(createMoECPUPrepareExpertWeightsPass(prepare));
  }
  ConvertMoEToLinalgPassOptions lowering;
  lowering.dispatchChunkTokens = options.dispatchChunkTokens;
  lowering.permuteRowBlock = options.permuteRowBlock;
  lowering.combineTokenBlock = options.combineTokenBlock;
  lowering.blockColumnChunks = options.blockColumnChunks;
  buildMoEToLinalgStage(pm, lowering);
  buildMoECPUKernelStage(pm, options);
  buildMoECPUBufferizationStage(pm, options);
  buildMoECPUToLLVMStage(pm, options.runtimeChecks, amxTileUnit(options));
}
