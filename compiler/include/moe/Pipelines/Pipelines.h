//===- Pipelines.h - moe-mlir pass pipelines --------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file declares the named pass pipelines of moe-mlir, one per target,
// and the stage builders they are chained from. `moe-opt` registers them by
// name; `moe-compile` calls the same builders.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_PIPELINES_PIPELINES_H
#define MOE_PIPELINES_PIPELINES_H

#include "moe/Conversion/MoEToLinalg/MoEToLinalg.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;

namespace moe {

/// The options of the decomposition stage, shared by every pipeline that
/// starts with it (`Derived` is the pipeline's option struct).
template <typename Derived>
struct DecompositionOptionsBase : public PassPipelineOptions<Derived> {
  mlir::detail::PassOptions::Option<bool> decomposeExpertFFN{
      *this, "decompose-expert-ffn",
      llvm::cl::desc("Decompose moe.expert_ffn into moe.grouped_matmul ops "
                     "and an elementwise activation"),
      llvm::cl::init(true)};
  mlir::detail::PassOptions::Option<bool> fuseRouter{
      *this, "fuse-router",
      llvm::cl::desc("Fuse each router with the top-k selection of its "
                     "scores (moe-fuse-router)"),
      llvm::cl::init(true)};
  mlir::detail::PassOptions::Option<bool> fuseGateUp{
      *this, "fuse-gate-up",
      llvm::cl::desc("Fuse a gated FFN's gate and up grouped matmuls with "
                     "its activation (moe-fuse-gate-up)"),
      llvm::cl::init(true)};
  mlir::detail::PassOptions::Option<bool> fuseSharedExperts{
      *this, "fuse-shared-experts",
      llvm::cl::desc("Run each layer's shared experts as more experts of its "
                     "routed grouped loop (moe-fuse-shared-experts, "
                     "moe-concat-parameters)"),
      llvm::cl::init(true)};
  mlir::detail::PassOptions::Option<bool> fuseGather{
      *this, "fuse-gather",
      llvm::cl::desc("Read a gated FFN's rows through the token ids "
                     "instead of a permuted copy (moe-fuse-gather; needs "
                     "fuse-gate-up)"),
      llvm::cl::init(true)};
  mlir::detail::PassOptions::Option<bool> fuseCombine{
      *this, "fuse-combine",
      llvm::cl::desc("Run the combine in the down projection's epilogue "
                     "(moe-fuse-combine; on the CPU with vectorize only, "
                     "and not with bf16-dot)"),
      llvm::cl::init(true)};
};

/// Options of the MoE dialect decomposition stage.
struct DecompositionOptions
    : public DecompositionOptionsBase<DecompositionOptions> {
  PassOptions::Option<int64_t> segmentAlignment{
      *this, "segment-alignment",
      llvm::cl::desc("Pad each expert's segment of rows to a multiple of "
                     "this (moe-cpu-pipeline has its own option)"),
      llvm::cl::init(1)};
};

/// Options of the CPU pipeline.
struct CPUPipelineOptions
    : public DecompositionOptionsBase<CPUPipelineOptions> {
  PassOptions::Option<bool> outlineLayers{
      *this, "outline-layers",
      llvm::cl::desc("Compile each moe.layer as a function of its own, one "
                     "per distinct layer shape (moe-outline-layers, then "
                     "duplicate-function-elimination)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Transpose expert weights at load time and tile and "
                     "vectorise the expert matmuls (off: plain loops)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> threads{
      *this, "threads",
      llvm::cl::desc("Run the expert matmul panels on OpenMP threads"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> runtimeChecks{
      *this, "runtime-checks",
      llvm::cl::desc("Check memref accesses at run time (bounds, sizes) "
                     "with MLIR's runtime verification; aborts with a "
                     "message on a violation"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> panelWidth{
      *this, "panel-width",
      llvm::cl::desc("Largest N tile of the expert matmul kernel"),
      llvm::cl::init(64)};
  PassOptions::Option<bool> hoistPanelLoops{
      *this, "hoist-panel-loops",
      llvm::cl::desc("Make each grouped kernel one parallel loop over "
                     "per-thread shares of its panels "
                     "(moe-cpu-hoist-panel-loops)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> prefetch{
      *this, "prefetch",
      llvm::cl::desc("Register tiles prefetch the weight block their kernel "
                     "reads next (moe-cpu-prefetch-next-block)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> prefetchSpreadRows{
      *this, "prefetch-spread-rows",
      llvm::cl::desc("Rows of register tiles that share the prefetch of "
                     "the next weight block"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> prefetchShortSpreadRows{
      *this, "prefetch-short-spread-rows",
      llvm::cl::desc("Rows over which a block of half to 1.5 times this "
                     "many rows (fewer than prefetch-spread-rows) spreads "
                     "the next block's prefetch (0: off)"),
      llvm::cl::init(16)};
  PassOptions::Option<unsigned> prefetchLocality{
      *this, "prefetch-locality",
      llvm::cl::desc("Locality hint of the next block's prefetches (0-3; 3: "
                     "keep in every cache level)"),
      llvm::cl::init(3)};
  PassOptions::Option<int64_t> segmentAlignment{
      *this, "segment-alignment",
      llvm::cl::desc("Pad each expert's segment of rows to a multiple of "
                     "this (1: no padding, the kernels' one-row tiles take "
                     "the remainder; 0: the row tile, whole row tiles "
                     "only)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> rowTile{
      *this, "row-tile",
      llvm::cl::desc("Rows of the expert matmul register tile"),
      llvm::cl::init(6)};
  PassOptions::Option<int64_t> gatedRowBlock{
      *this, "gated-row-block",
      llvm::cl::desc("Rows of a gated expert kernel's block, whose gate "
                     "and up contractions run K-blocked into a block-sized "
                     "stack buffer (0: each register tile runs over the "
                     "whole of K); rounded down to whole row tiles"),
      llvm::cl::init(64)};
  PassOptions::Option<int64_t> combineRowBlock{
      *this, "combine-row-block",
      llvm::cl::desc("Rows of a combining down projection's block "
                     "(fuse-combine), whose contraction runs K-blocked "
                     "into a block-sized buffer before its rows are "
                     "combined; rounded down to whole row tiles"),
      llvm::cl::init(64)};
  PassOptions::Option<int64_t> reductionBlock{
      *this, "reduction-block",
      llvm::cl::desc("Largest K block of the expert matmul kernel"),
      llvm::cl::init(128)};
  // The layouts of the routing data ops that the NVPTX pipeline takes, to
  // check them on the CPU (see convert-moe-to-linalg's options).
  PassOptions::Option<int64_t> dispatchChunkTokens{
      *this, "dispatch-chunk-tokens",
      llvm::cl::desc("Count and place the dispatch's assignments in "
                     "parallel over (expert, chunk of this many tokens); 0: "
                     "one serial pass, which a CPU thread runs fastest"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> permuteRowBlock{
      *this, "permute-row-block",
      llvm::cl::desc("Copy permuted rows in parallel over blocks of this "
                     "many rows (0: over column chunks of all rows)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> combineTokenBlock{
      *this, "combine-token-block",
      llvm::cl::desc("Combine in parallel over blocks of this many tokens "
                     "(0: over column chunks of all rows)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> blockColumnChunks{
      *this, "block-column-chunks",
      llvm::cl::desc("The most column chunks a block of permute-row-block "
                     "or combine-token-block splits into (0: chunks of 256 "
                     "columns)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> bf16Dot{
      *this, "bf16-dot",
      llvm::cl::desc("Expert matmuls with bf16 weights round their "
                     "activations to bf16 and use AVX-512 BF16 dot products "
                     "(moe-cpu-bf16-dot); needs vectorize"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> amx{
      *this, "amx",
      llvm::cl::desc("The bf16-dot kernels run their 16-row tiles on the "
                     "AMX tile unit (tdpbf16ps, convert-vector-to-amx), "
                     "with gate and up as two grouped matmuls; needs "
                     "bf16-dot"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> amxHostSemantics{
      *this, "amx-host-semantics",
      llvm::cl::desc("With amx, leave the AMX tiles' contractions to the "
                     "vector lowering instead of AMX: the AMX schedule, "
                     "checked on a CPU without AMX"),
      llvm::cl::init(false)};
};

/// Options of the NVPTX pipeline.
struct NVPTXPipelineOptions
    : public DecompositionOptionsBase<NVPTXPipelineOptions> {
  PassOptions::Option<std::string> gpuArch{
      *this, "gpu-arch",
      llvm::cl::desc("The GPU to compile for: sm_80, sm_90 or sm_90a"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> binaryFormat{
      *this, "format",
      llvm::cl::desc("What gpu-module-to-binary embeds: isa (PTX), bin "
                     "(cubin) or fatbin (cubin and PTX)"),
      llvm::cl::init("fatbin")};
  PassOptions::Option<std::string> cudaToolkit{
      *this, "cuda-toolkit",
      llvm::cl::desc("The CUDA toolkit: ptxas, and libdevice for the math "
                     "functions"),
      llvm::cl::init("/usr/local/cuda")};
  PassOptions::Option<bool> hostSemantics{
      *this, "host-semantics",
      llvm::cl::desc("Lower the GPU schedule for the host CPU instead, its "
                     "block and thread foralls run as loops, to check what "
                     "it computes without a GPU"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> rowBlock{
      *this, "row-block",
      llvm::cl::desc("Rows of an expert's segment each GPU block takes"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> threads{*this, "threads",
                                       llvm::cl::desc("Threads of a GPU block"),
                                       llvm::cl::init(128)};
  PassOptions::Option<int64_t> columnBlock{
      *this, "column-block",
      llvm::cl::desc("Columns of an expert or linear matmul's output each "
                     "GPU block takes (0: all of them)"),
      llvm::cl::init(128)};
  PassOptions::Option<int64_t> columnGroup{
      *this, "column-group",
      llvm::cl::desc("Grouped matmul blocks run over this many column "
                     "blocks before the next row slot (moe-gpu-distribute; "
                     "1: the row slots fastest)"),
      llvm::cl::init(1)};
  PassOptions::Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Expert and linear matmuls with BF16 or F16 weights "
                     "round their activations to that type and run on "
                     "tensor cores "
                     "(mma.sync, f32 accumulators)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> narrowActivations{
      *this, "narrow-activations",
      llvm::cl::desc("With tensor-cores, rows that only tensor-core "
                     "matmuls read (the permuted copy's, the gated "
                     "matmul's) are written rounded to their BF16 or F16 "
                     "operand type (the same results, half the bytes; "
                     "moe-gpu-narrow-activations)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> stageActivations{
      *this, "stage-activations",
      llvm::cl::desc("Tensor-core matmuls read their activation rows from "
                     "shared memory, where each block stages them, rounded, "
                     "64 columns at a time"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> stageWeights{
      *this, "stage-weights",
      llvm::cl::desc("Tensor-core matmuls whose activations are staged "
                     "stage the block's weight rows in shared memory too, "
                     "by cp.async a chunk ahead (moe-gpu-warp-mma)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> prefetchWeights{
      *this, "prefetch-weights",
      llvm::cl::desc("Tensor-core matmuls load the next K step's weight "
                     "groups before a step's mma.syncs (moe-gpu-warp-mma)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> weightStages{
      *this, "weight-stages",
      llvm::cl::desc("Tensor-core matmuls copy their weight groups this "
                     "many K steps ahead minus one into a ring in shared "
                     "memory by cp.async (moe-gpu-warp-mma; 0: off)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> warpTileRows{
      *this, "warp-tile-rows",
      llvm::cl::desc("Rows of a warp's tensor-core tile (16, 32, 48 or 64; "
                     "a row block of more rows runs them in turn)"),
      llvm::cl::init(32)};
  PassOptions::Option<int64_t> warpTileColumns{
      *this, "warp-tile-columns",
      llvm::cl::desc("Columns of a warp's tensor-core tile (a multiple of "
                     "8, at most 128; a warp of more columns runs them in "
                     "turn)"),
      llvm::cl::init(32)};
  PassOptions::Option<bool> wgmma{
      *this, "wgmma",
      llvm::cl::desc("Tensor-core matmuls run as one warpgroup a block "
                     "(wgmma.mma_async, needs gpu-arch=sm_90a): 128 "
                     "threads, 64 rows a block, each warp 16 of them and "
                     "all of the block's columns, activations and weights "
                     "staged as core matrices (sets threads, row-block, "
                     "warp-rows, warp-tile-rows and warp-tile-columns)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> warpgroups{
      *this, "warpgroups",
      llvm::cl::desc("With wgmma, warpgroups a block (1 or 2): 128 threads "
                     "and 64 rows each, the block's weight rows staged "
                     "once for all of them"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> weightChunksAhead{
      *this, "weight-chunks-ahead",
      llvm::cl::desc("With stage-weights or wgmma, the chunks of 64 along "
                     "K whose weight copies (cp.async) are in flight while "
                     "a chunk's steps run (1 to 3; moe-gpu-warp-mma)"),
      llvm::cl::init(1)};
  PassOptions::Option<bool> copyActivationsAsync{
      *this, "copy-activations-async",
      llvm::cl::desc("With wgmma, f32 activation chunks are copied by "
                     "cp.async with the weights' (rounded in shared memory) "
                     "instead of through registers (moe-gpu-warp-mma; "
                     "narrowed activations always are)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> tmaWeights{
      *this, "tma-weights",
      llvm::cl::desc("With wgmma, the weights' chunks come by TMA (one thread "
                     "issues each chunk's boxes, 128-byte swizzled; an "
                     "mbarrier a slot) instead of by every thread's cp.async "
                     "(moe-gpu-warp-mma)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> tmaActivations{
      *this, "tma-activations",
      llvm::cl::desc("With tma-weights, the narrowed activations' chunks "
                     "come by TMA too, beside the weights' on the same "
                     "mbarriers, so that no thread copies by cp.async "
                     "(moe-gpu-warp-mma)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> tmaEmptyBarriers{
      *this, "tma-empty-barriers",
      llvm::cl::desc("With tma-activations, a second mbarrier a slot (each "
                     "warp arrives once its wgmmas have read the slot; the "
                     "issuing thread waits on it before the slot's next "
                     "boxes) in place of the block barrier a chunk "
                     "(moe-gpu-warp-mma)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> wgmmaPendingChunks{
      *this, "wgmma-pending-chunks",
      llvm::cl::desc("With wgmma, the chunks whose wgmmas may still run "
                     "while the block stages the next (0 to 2; "
                     "moe-gpu-warp-mma)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> wgmmaWideUngated{
      *this, "wgmma-wide-ungated",
      llvm::cl::desc(
          "With wgmma and tma-weights, a matmul outside a gated FFN (a down "
          "projection, a linear node) takes twice column-block's "
          "columns a block, up to 256 a warpgroup (wgmma "
          "m64n256k16): a gated tile's 128 accumulators a "
          "thread, and each staged chunk of activations serves "
          "twice the columns (moe-gpu-distribute, "
          "moe-gpu-warp-mma)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> warpRows{
      *this, "warp-rows",
      llvm::cl::desc("Tensor-core matmuls split the block's warps into a "
                     "grid of this many rows of warps, a warp tile each, "
                     "so that a grid column's warps read the same weight "
                     "rows (row-block = warp-rows x warp-tile-rows; 1: "
                     "each warp takes all of the block's rows)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> splitK{
      *this, "split-k",
      llvm::cl::desc("Split each expert and linear matmul with a reduction "
                     "of at least split-k-min into this many independent "
                     "parts over slices of K, and a sum "
                     "(moe-split-grouped-matmul-k; 1: no split)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> splitKMin{
      *this, "split-k-min",
      llvm::cl::desc("The smallest reduction split-k splits"),
      llvm::cl::init(2048)};
  PassOptions::Option<bool> tf32{
      *this, "tf32",
      llvm::cl::desc("Expert and linear matmuls with F32 weights round "
                     "their activations and weights to TF32 and run on "
                     "tensor cores (mma.sync m16n8k8; off by default: "
                     "TF32 keeps 10 of f32's 23 mantissa bits)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> mergeKernels{
      *this, "merge-kernels",
      llvm::cl::desc("Independent kernels share one launch "
                     "(moe-gpu-merge-independent-kernels)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> gemmMinBlocksPerSM{
      *this, "gemm-min-blocks-per-sm",
      llvm::cl::desc("Blocks an SM must fit of each expert GEMM kernel, by "
                     "its registers (nvvm.minctasm; 0: ptxas's choice)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> decodeTokens{
      *this, "decode-tokens",
      llvm::cl::desc("Calls of at most this many tokens run each layer in "
                     "a version compiled with decode-options "
                     "(moe-version-layers; 0: one version)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> decodeOptions{
      *this, "decode-options",
      llvm::cl::desc("The schedule options of the layers' version for "
                     "decode-tokens or fewer, over these ones: "
                     "'{split-k=4 weight-stages=4}' (any of column-block, "
                     "column-group, split-k, split-k-min, prefetch-weights, "
                     "weight-stages, stage-activations, stage-weights, "
                     "weight-chunks-ahead, wgmma-pending-chunks, "
                     "wgmma-wide-ungated)"),
      llvm::cl::init("")};
};

/// Checks that `options` can be built: the options that need others
/// (wgmma=true needs gpu-arch=sm_90a, ...), and decode-options. Returns an
/// error message naming the option, or an empty string.
std::string verifyNVPTXPipelineOptions(const NVPTXPipelineOptions &options);

/// The PTX ISA version `arch` needs as an LLVM feature ("+ptx80"; with
/// `tensorMaps`, TMA copies' tensor-map fences, "+ptx83"), or an empty
/// string for an architecture the pipeline does not support.
std::string ptxFeaturesForArch(llvm::StringRef arch, bool tensorMaps = false);

/// Where the CUDA toolkit `toolkit` keeps libdevice.
std::string libdevicePath(llvm::StringRef toolkit);

/// Adds the outlining of each `moe.layer` into a function and the merging
/// of identical ones.
void buildMoEOutlineLayersStage(OpPassManager &pm);

/// Adds the passes expanding `moe.layer` into the MoE step ops (and, when
/// asked, expert FFNs into grouped matmuls), then cleans up.
void buildMoEDecompositionPipeline(OpPassManager &pm,
                                   const DecompositionOptions &options);

/// Adds the lowering of the MoE step ops to linalg, scf and tensor ops:
/// convert-moe-to-linalg, with `options`, and its clean-up.
void buildMoEToLinalgStage(OpPassManager &pm,
                           const ConvertMoEToLinalgPassOptions &options = {});

/// Adds what every target runs to reach buffers: the entry-point ABI
/// (with `moe_prepare_slice` when `prepareSlices`), inlining, one-shot
/// bufferization of the whole module and the clean-ups around it.
void buildMoEEntryAndBufferizeStage(OpPassManager &pm,
                                    bool prepareSlices = true);

/// Adds the tiling and vectorisation of the expert matmuls.
void buildMoECPUKernelStage(OpPassManager &pm,
                            const CPUPipelineOptions &options);

/// Adds the CPU entry-point ABI, inlining and bufferization, then, for the
/// vectorized kernels, the panel-loop hoist and the next-block prefetch as
/// `options` ask, and maps `scf.forall` loops to OpenMP with threads.
void buildMoECPUBufferizationStage(OpPassManager &pm,
                                   const CPUPipelineOptions &options);

/// Adds the lowering of loops, memrefs, arith and math to the LLVM dialect,
/// with run-time memref checks when `runtimeChecks` is set, and AMX ops
/// when `amx` is.
void buildMoECPUToLLVMStage(OpPassManager &pm, bool runtimeChecks = false,
                            bool amx = false);

/// Adds the CPU pipeline: a module holding one function marked `moe.entry`
/// in the MoE dialect, to the LLVM dialect with a `moe_forward` entry point
/// (see docs/abi.md).
void buildMoECPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Adds the entry-point ABI, inlining and bufferization for a GPU, then
/// moe-gpu-distribute's block and thread foralls and the scratch arena.
void buildMoEGPUBufferizationStage(OpPassManager &pm,
                                   const NVPTXPipelineOptions &options);

/// Adds the NVPTX pipeline: a module holding one function marked
/// `moe.entry` in the MoE dialect, to the LLVM dialect for the host, which
/// launches kernels from a `gpu.binary` for `options.gpuArch`; with
/// `hostSemantics`, to the LLVM dialect for the host CPU alone.
void buildMoENVPTXPipeline(OpPassManager &pm,
                           const NVPTXPipelineOptions &options);

/// Adds every dialect, extension and LLVM IR translation the pipelines
/// use, the MoE dialect included.
void registerMoEDialects(DialectRegistry &registry);

/// Registers `moe-decomposition-pipeline`, `moe-to-linalg-pipeline`,
/// `moe-cpu-pipeline` and `moe-nvptx-pipeline`.
void registerMoEPipelines();

} // namespace moe
} // namespace mlir

#endif // MOE_PIPELINES_PIPELINES_H
