//===- NVPTXPipeline.cpp - The moe-mlir NVPTX pipeline ----------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the pass pipeline that takes the MoE dialect to host
// code launching NVPTX kernels: the shared decomposition and linalg stages,
// bufferization with moe-gpu-distribute's schedule, then upstream's GPU
// lowering to NVVM and gpu-module-to-binary.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/Common/Passes.h"
#include "moe/Codegen/GPU/Passes.h"
#include "moe/Codegen/GPU/TensorCores.h"
#include "moe/Pipelines/Pipelines.h"
#include "moe/Transforms/FunctionPassOptions.h"
#include "moe/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::moe;

std::string mlir::moe::ptxFeaturesForArch(llvm::StringRef arch,
                                          bool tensorMaps) {
  // LLVM's default PTX version is too old for these: it aborts.
  if (arch == "sm_80")
    return "+ptx70";
  // Kernels with TMA tensor maps: PTX 8.3, what their checks (ptxas, the
  // stand-in driver) ran with since the tensor-map proxy fence needed it.
  if (arch == "sm_90" || arch == "sm_90a")
    return tensorMaps ? "+ptx83" : "+ptx80";
  return "";
}

std::string mlir::moe::libdevicePath(llvm::StringRef toolkit) {
  return (toolkit + "/nvvm/libdevice/libdevice.10.bc").str();
}

namespace {
/// The block and warp shape of the schedule: the options', or with `wgmma`
/// `warpgroups` warpgroups a block (128 threads each) whose 4 warps take 16
/// of the warpgroup's 64 rows each, and all of the block's columns (up to
/// 128; with `wgmma-wide-ungated`, a matmul outside a gated FFN twice
/// column-block's, up to 256). 0 for the ungated shape: the same as the
/// others'.
struct ScheduleShape {
  int64_t threads, rowBlock, warpRows, warpTileRows, warpTileColumns;
  int64_t ungatedColumnBlock = 0, ungatedWarpTileColumns = 0;
};
} // namespace

static ScheduleShape scheduleShape(const NVPTXPipelineOptions &options) {
  if (options.wgmma) {
    int64_t groups = options.warpgroups;
    ScheduleShape shape = {128 * groups, 64 * groups, 4 * groups, 16, 128};
    if (options.wgmmaWideUngated) {
      // (column-block 0, all columns in one block, stays so.)
      shape.ungatedColumnBlock = 2 * options.columnBlock;
      shape.ungatedWarpTileColumns = 2 * shape.warpTileColumns;
    }
    return shape;
  }
  return {options.threads, options.rowBlock, options.warpRows,
          options.warpTileRows, options.warpTileColumns};
}

/// moe-gpu-warp-mma's options from the pipeline's, its lanes on the host
/// with `emulateLanes`.
static MoEGPUWarpMMAPassOptions
warpMmaOptions(const NVPTXPipelineOptions &options, bool emulateLanes) {
  ScheduleShape shape = scheduleShape(options);
  MoEGPUWarpMMAPassOptions warpMma;
  warpMma.emulateLanes = emulateLanes;
  warpMma.stageActivations = options.stageActivations;
  warpMma.stageWeights = options.stageWeights;
  warpMma.prefetchWeights = options.prefetchWeights;
  warpMma.weightStages = options.weightStages;
  warpMma.warpTileRows = shape.warpTileRows;
  warpMma.warpTileColumns = shape.warpTileColumns;
  warpMma.ungatedWarpTileColumns = shape.ungatedWarpTileColumns;
  warpMma.wgmma = options.wgmma;
  warpMma.weightChunksAhead = options.weightChunksAhead;
  warpMma.wgmmaPendingChunks = options.wgmmaPendingChunks;
  warpMma.copyActivationsAsync = options.copyActivationsAsync;
  warpMma.tmaWeights = options.tmaWeights;
  warpMma.tmaActivations = options.tmaActivations;
  warpMma.tmaEmptyBarriers = options.tmaEmptyBarriers;
  return warpMma;
}

/// moe-gpu-distribute's options from the pipeline's.
static MoEGPUDistributePassOptions
distributeOptions(const NVPTXPipelineOptions &options) {
  ScheduleShape shape = scheduleShape(options);
  MoEGPUDistributePassOptions distribute;
  distribute.rowBlock = shape.rowBlock;
  distribute.threads = shape.threads;
  distribute.columnBlock = options.columnBlock;
  distribute.columnGroup = options.columnGroup;
  distribute.tensorCores = options.tensorCores;
  distribute.tf32 = options.tf32;
  distribute.warpTileRows = shape.warpTileRows;
  distribute.warpTileColumns = shape.warpTileColumns;
  distribute.ungatedColumnBlock = shape.ungatedColumnBlock;
  distribute.ungatedWarpTileColumns = shape.ungatedWarpTileColumns;
  distribute.warpRows = shape.warpRows;
  return distribute;
}

/// moe-split-grouped-matmul-k's options from the pipeline's.
static MoESplitGroupedMatmulKPassOptions
splitKOptions(const NVPTXPipelineOptions &options) {
  MoESplitGroupedMatmulKPassOptions split;
  split.parts = std::max<int64_t>(options.splitK, 1);
  split.minK = options.splitKMin;
  return split;
}

/// The options decode-options may set: the ones of the passes that
/// moe.pass_options reaches (the split, the distribution, the warps' code),
/// which leave the block shape, and so the routing kernels that share it,
/// as they are.
static void copyDecodeScheduleOptions(const NVPTXPipelineOptions &from,
                                      NVPTXPipelineOptions &to) {
  to.columnBlock = static_cast<int64_t>(from.columnBlock);
  to.columnGroup = static_cast<int64_t>(from.columnGroup);
  to.splitK = static_cast<int64_t>(from.splitK);
  to.splitKMin = static_cast<int64_t>(from.splitKMin);
  to.prefetchWeights = static_cast<bool>(from.prefetchWeights);
  to.weightStages = static_cast<int64_t>(from.weightStages);
  to.stageActivations = static_cast<bool>(from.stageActivations);
  to.stageWeights = static_cast<bool>(from.stageWeights);
  to.weightChunksAhead = static_cast<int64_t>(from.weightChunksAhead);
  to.wgmmaPendingChunks = static_cast<int64_t>(from.wgmmaPendingChunks);
  to.wgmmaWideUngated = static_cast<bool>(from.wgmmaWideUngated);
  to.tmaEmptyBarriers = static_cast<bool>(from.tmaEmptyBarriers);
}

/// `options` with decode-options over them, in `decode`; an error message,
/// or an empty string.
static std::string parseDecodeOptions(const NVPTXPipelineOptions &options,
                                      NVPTXPipelineOptions &decode) {
  decode.copyOptionValuesFrom(options);
  decode.decodeTokens = 0;
  decode.decodeOptions = "";
  StringRef text = StringRef(options.decodeOptions).trim();
  if (text.starts_with("{") && text.ends_with("}"))
    text = text.drop_front().drop_back();
  std::string errors;
  llvm::raw_string_ostream errorStream(errors);
  if (failed(decode.parseFromString(text, errorStream)))
    return "--pipeline-options=decode-options='" + options.decodeOptions +
           "': " + StringRef(errors).trim().str();
  // Only the schedule options may differ.
  NVPTXPipelineOptions rest;
  rest.copyOptionValuesFrom(decode);
  copyDecodeScheduleOptions(options, rest);
  rest.decodeTokens = static_cast<int64_t>(options.decodeTokens);
  rest.decodeOptions = options.decodeOptions;
  std::string restText, optionsText;
  llvm::raw_string_ostream restStream(restText), optionsStream(optionsText);
  rest.print(restStream);
  options.print(optionsStream);
  if (restText != optionsText)
    return "--pipeline-options=decode-options='" + options.decodeOptions +
           "' may set only column-block, column-group, split-k, "
           "split-k-min, prefetch-weights, weight-stages, "
           "stage-activations, stage-weights, weight-chunks-ahead, "
           "wgmma-pending-chunks, wgmma-wide-ungated and tma-empty-barriers "
           "(the layers' block "
           "shape is the same at every token count)";
  return "";
}

/// The options that need others, or an empty string.
static std::string verifyScheduleOptions(const NVPTXPipelineOptions &options) {
  std::string gpuArch = options.gpuArch;
  if (options.wgmma && !options.hostSemantics && gpuArch != "sm_90a")
    return "--pipeline-options=wgmma=true needs --gpu-arch=sm_90a "
           "(wgmma.mma_async), not '" +
           gpuArch + "'";
  if (options.warpgroups != 1 && (!options.wgmma || options.warpgroups != 2))
    return "--pipeline-options=warpgroups=" +
           std::to_string(options.warpgroups) +
           " needs wgmma=true and is 1 or 2 (two warpgroups of 128 threads "
           "fill an SM's registers)";
  if (options.weightChunksAhead < 1 || options.weightChunksAhead > 3 ||
      (options.weightChunksAhead > 1 && !options.wgmma &&
       !options.stageWeights))
    return "--pipeline-options=weight-chunks-ahead=" +
           std::to_string(options.weightChunksAhead) +
           " is 1 to 3, and above 1 needs stage-weights=true or wgmma=true "
           "(the weights it copies ahead are the staged ones)";
  if (options.wgmmaPendingChunks < 0 || options.wgmmaPendingChunks > 2 ||
      (options.wgmmaPendingChunks > 0 && !options.wgmma))
    return "--pipeline-options=wgmma-pending-chunks=" +
           std::to_string(options.wgmmaPendingChunks) +
           " is 0 to 2, and above 0 needs wgmma=true";
  if (options.wgmmaWideUngated && (!options.wgmma || !options.tmaWeights))
    return "--pipeline-options=wgmma-wide-ungated=true needs wgmma=true "
           "(m64n256k16) and tma-weights=true (by cp.async each thread "
           "would copy twice the weight pieces a chunk, whose addresses "
           "beside 128 accumulators leave ptxas no registers)";
  if (options.copyActivationsAsync && !options.wgmma)
    return "--pipeline-options=copy-activations-async=true needs wgmma=true";
  if (options.tmaWeights && !options.wgmma)
    return "--pipeline-options=tma-weights=true needs wgmma=true (TMA boxes "
           "in wgmma's swizzled layout)";
  if (options.tmaActivations &&
      (!options.tmaWeights || !options.narrowActivations))
    return "--pipeline-options=tma-activations=true needs tma-weights=true "
           "and narrow-activations=true (A's boxes land on W's mbarriers, "
           "of the operand type as the tensor holds them)";
  if (options.tmaEmptyBarriers && !options.tmaActivations)
    return "--pipeline-options=tma-empty-barriers=true needs "
           "tma-activations=true (the block barrier a chunk can go only "
           "where no thread writes a slot)";
  return "";
}

std::string
mlir::moe::verifyNVPTXPipelineOptions(const NVPTXPipelineOptions &options) {
  std::string error = verifyScheduleOptions(options);
  if (!error.empty())
    return error;
  if (options.decodeTokens < 0)
    return "--pipeline-options=decode-tokens=" +
           std::to_string(options.decodeTokens) + " must not be negative";
  if (options.decodeTokens == 0)
    return "";
  NVPTXPipelineOptions decode;
  error = parseDecodeOptions(options, decode);
  if (!error.empty())
    return error;
  error = verifyScheduleOptions(decode);
  if (!error.empty())
    return "in --pipeline-options=decode-options='" + options.decodeOptions +
           "': " + error;
  return "";
}

/// Each pass whose options differ in the layers' version for few tokens,
/// as `argument{options}`: what moe-version-layers gives that version.
static SmallVector<std::string>
decodePassOptions(const NVPTXPipelineOptions &options,
                  const NVPTXPipelineOptions &decode) {
  SmallVector<std::string> entries;
  auto addIfDifferent = [&](std::unique_ptr<Pass> pass,
                            std::unique_ptr<Pass> decodePass) {
    std::string text = getPassOptionsText(*decodePass);
    if (getPassOptionsText(*pass) != text)
      entries.push_back((decodePass->getArgument() + "{" + text + "}").str());
  };
  addIfDifferent(createMoESplitGroupedMatmulKPass(splitKOptions(options)),
                 createMoESplitGroupedMatmulKPass(splitKOptions(decode)));
  addIfDifferent(createMoEGPUDistributePass(distributeOptions(options)),
                 createMoEGPUDistributePass(distributeOptions(decode)));
  addIfDifferent(
      createMoEGPUWarpMMAPass(warpMmaOptions(options, options.hostSemantics)),
      createMoEGPUWarpMMAPass(warpMmaOptions(decode, options.hostSemantics)));
  return entries;
}

void mlir::moe::buildMoEGPUBufferizationStage(
    OpPassManager &pm, const NVPTXPipelineOptions &options) {
  // The CUDA runtime lays the weights out on the device, the whole arena
  // at once.
  buildMoEEntryAndBufferizeStage(pm, /*prepareSlices=*/false);
  // Each call of a layer with a decode version chooses it by token count;
  // on buffers, both versions write the same destinations.
  pm.addPass(createMoECallLayerVersionsPass());
  pm.addNestedPass<func::FuncOp>(
      createMoEGPUDistributePass(distributeOptions(options)));
  if (options.mergeKernels)
    pm.addNestedPass<func::FuncOp>(createMoEGPUMergeIndependentKernelsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The grid's buffers, sized by the token count, join the arena.
  pm.addPass(createMoEScratchArenaPass());
}

void mlir::moe::buildMoENVPTXPipeline(OpPassManager &pm,
                                      const NVPTXPipelineOptions &options) {
  DecompositionOptions decomposition;
  decomposition.decomposeExpertFFN = options.decomposeExpertFFN;
  decomposition.fuseRouter = options.fuseRouter;
  decomposition.fuseGateUp = options.fuseGateUp;
  // (moe-fuse-gather folds the permute into the fused op only.)
  decomposition.fuseGather = false;
  // The GPU schedule has no tiling of moe.segment_combine yet.
  decomposition.fuseCombine = false;
  if (options.fuseSharedExperts)
    pm.addNestedPass<func::FuncOp>(createMoEFuseSharedExpertsPass());
  buildMoEOutlineLayersStage(pm);
  buildMoEDecompositionPipeline(pm, decomposition);
  // The routed and shared experts' weights concatenated at load time, by
  // moe_prepare's kernels.
  pm.addPass(createMoEConcatParametersPass());
  // Few tokens (decode) run each layer in a version of its own schedule
  // (moe-call-layer-versions makes the calls choose, on buffers).
  NVPTXPipelineOptions decode;
  bool versioned =
      options.decodeTokens > 0 && parseDecodeOptions(options, decode).empty();
  if (versioned) {
    MoEVersionLayersPassOptions version;
    version.maxTokens = options.decodeTokens;
    version.passOptions = decodePassOptions(options, decode);
    if (!version.passOptions.empty())
      pm.addPass(createMoEVersionLayersPass(version));
  }
  // At decode a narrow output is few blocks: its K slices run side by side.
  if (options.splitK > 1 || (versioned && decode.splitK > 1))
    pm.addNestedPass<func::FuncOp>(
        createMoESplitGroupedMatmulKPass(splitKOptions(options)));
  // Tensor cores round the activations as they load them: their producers
  // round them once instead, in half the bytes. Only where the matmuls go
  // to tensor cores (moe-gpu-distribute's condition: whole warps a block).
  if (options.tensorCores && options.narrowActivations &&
      scheduleShape(options).threads % kNVIDIAWarpSize == 0)
    pm.addNestedPass<func::FuncOp>(createMoEGPUNarrowActivationsPass());
  // The routing data in kernels over many blocks (docs/gpu-codegen.md,
  // "Routing data on the device"): the dispatch in chunks of the router's
  // token block, the permuted copy in segment row blocks, the combine in
  // token blocks; a block's threads take one column chunk each.
  ConvertMoEToLinalgPassOptions lowering;
  lowering.dispatchChunkTokens = kRouterTokenBlock;
  ScheduleShape shape = scheduleShape(options);
  lowering.permuteRowBlock = shape.rowBlock;
  lowering.combineTokenBlock = kRouterTokenBlock;
  lowering.blockColumnChunks = shape.threads;
  buildMoEToLinalgStage(pm, lowering);
  buildMoEGPUBufferizationStage(pm, options);
  if (options.hostSemantics) {
    // The warps' lane code too, lanes as loops: the fragments, their
    // rounding, padding and stores run against the reference.
    pm.addNestedPass<func::FuncOp>(createMoEGPUWarpMMAPass(
        warpMmaOptions(options, /*emulateLanes=*/true)));
    bufferization::buildBufferDeallocationPipeline(pm);
    // Blocks and threads last to first: the loops must not rely on the
    // order a GPU does not keep.
    pm.addNestedPass<func::FuncOp>(createMoEGPUReverseForallOrderPass());
    pm.addNestedPass<func::FuncOp>(createMoEGPUHoistPrivateScratchPass());
    pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
    buildMoECPUToLLVMStage(pm);
    return;
  }
  pm.addNestedPass<func::FuncOp>(createMoEGPUFormLaunchesPass());
  OpPassManager &funcPm = pm.nest<func::FuncOp>();
  funcPm.addPass(createMoEGPUHoistPrivateScratchPass());
  funcPm.addPass(
      createMoEGPUWarpMMAPass(warpMmaOptions(options, /*emulateLanes=*/false)));
  funcPm.addPass(createConvertLinalgToLoopsPass());
  funcPm.addPass(createCanonicalizerPass());
  // Constants and index computations move into the kernels (upstream's
  // outlining no longer sinks them): immediates, not kernel parameters
  // held in registers.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  // One gpu.module for the model's kernels: one binary to load.
  pm.addPass(createGpuKernelOutliningPass());
  MoEGPUMergeKernelModulesPassOptions merge;
  merge.gemmMinBlocksPerSM = options.gemmMinBlocksPerSM;
  pm.addPass(createMoEGPUMergeKernelModulesPass(merge));
  pm.addPass(createMoEGPUTensorMapArgumentsPass());
  // The launches of a function run in order on one stream, with one wait
  // where host code next runs (a call, the return), not a stream created,
  // synchronized and destroyed around every kernel as gpu-to-llvm lowers a
  // synchronous launch.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  // Upstream's gpu-lower-to-nvvm-pipeline, with the toolkit named: its
  // builder leaves gpu-module-to-binary to find ptxas and libdevice from
  // the environment, and without libdevice the math functions stay
  // unresolved in the PTX. Upstream's nvgpu lowering has no bf16 mma.sync.
  pm.addPass(createMoEGPULowerBF16MmaSyncPass());
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.gpuArch;
  target.features = ptxFeaturesForArch(options.gpuArch, options.tmaWeights);
  target.optLevel = 3;
  target.linkLibs.push_back(libdevicePath(options.cudaToolkit));
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  OpPassManager &kernelPm = pm.nest<gpu::GPUModuleOp>();
  kernelPm.addPass(createConvertGpuOpsToNVVMOps());
  kernelPm.addPass(createMoEGPUExternDynamicSharedMemoryPass());
  kernelPm.addPass(createCanonicalizerPass());
  kernelPm.addPass(createCSEPass());
  kernelPm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createMoEGPUGridConstantTensorMapsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.cudaToolkit;
  binary.compilationTarget = options.binaryFormat;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
