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
  // The tensor-map proxy fence before TMA copies is PTX 8.3's.
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
/// 128).
struct ScheduleShape {
  int64_t threads, rowBlock, warpRows, warpTileRows, warpTileColumns;
};
} // namespace

static ScheduleShape scheduleShape(const NVPTXPipelineOptions &options) {
  if (options.wgmma) {
    int64_t groups = options.warpgroups;
    return {128 * groups, 64 * groups, 4 * groups, 16, 128};
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
  warpMma.wgmma = options.wgmma;
  warpMma.weightChunksAhead = options.weightChunksAhead;
  warpMma.wgmmaPendingChunks = options.wgmmaPendingChunks;
  warpMma.copyActivationsAsync = options.copyActivationsAsync;
  warpMma.tmaWeights = options.tmaWeights;
  return warpMma;
}

void mlir::moe::buildMoEGPUBufferizationStage(
    OpPassManager &pm, const NVPTXPipelineOptions &options) {
  // The CUDA runtime lays the weights out on the device, the whole arena
  // at once.
  buildMoEEntryAndBufferizeStage(pm, /*prepareSlices=*/false);
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
  distribute.warpRows = shape.warpRows;
  pm.addNestedPass<func::FuncOp>(createMoEGPUDistributePass(distribute));
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
  // At decode a narrow output is few blocks: its K slices run side by side.
  if (options.splitK > 1) {
    MoESplitGroupedMatmulKPassOptions split;
    split.parts = options.splitK;
    split.minK = options.splitKMin;
    pm.addPass(createMoESplitGroupedMatmulKPass(split));
  }
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
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.cudaToolkit;
  binary.compilationTarget = options.binaryFormat;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
