//===- Passes.td - GPU code generation passes ---------------*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The passes of moe-nvptx-pipeline that take bufferized MoE code to GPU
// kernels. Keep alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_GPU_PASSES_TD
#define MOE_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def MoEGPUDistributePass : Pass<"moe-gpu-distribute", "mlir::func::FuncOp"> {
  let summary = "Distribute a bufferized function's work over GPU blocks "
                "and threads, as mapped scf.forall loops";
  let description = [{
    The GPU schedule of moe-nvptx-pipeline, on buffers. Every top-level op
    of the function that touches memory ends up inside an `scf.forall`
    mapped to `#gpu.block<...>`; inside it, every op that writes memory is
    inside an `scf.forall` mapped to `#gpu.thread<x>`. What stays at the top
    level is host work: pure index arithmetic, views of buffers, calls,
    allocations. No value computed from device memory reaches the host:
    grids are sized from the token count and the buffers' shapes, and a
    block with no work does nothing.

    - An unmapped `scf.forall` (the router's token blocks) maps its
      iterations to blocks.
    - A segment loop (`moe.segment_loop`: a loop over experts whose body
      works on the rows [start, start + size) of its expert's segment, row
      by row) becomes a forall over the segments' blocks of `row-block`
      rows. A serial loop over the experts stores each expert's first
      block (the sum of ceil(size / row-block) over the experts before
      it), once per offsets buffer, in the one-block kernel that computes
      the offsets where there is one; the grid has room for every
      segment's blocks (ceil(R / row-block) + E, R the rows there can be),
      and each block finds its expert by a binary search over those
      starts. A block past the last segment's blocks does nothing. Where
      the segment's ops allow it (every op that writes is a linalg op on
      one [rows, N] output indexed (d0, d1), N static and shared by all,
      and what the body writes is read in that window only), the columns
      split too, `column-block` a block: the grid is the row slots times
      ceil(N / column-block), in one dimension with the row slots
      fastest, and each block's ops run on its window of columns (and
      the weight rows there). With `column-group` G above 1 the grid runs
      over groups of G column blocks instead, in a group the column blocks
      fastest, then the row slots (the last group narrower where G does
      not divide the column blocks): the blocks that run together read
      G column blocks' weights and the activation rows of fewer slots, so
      that both stay in L2. (Where
      the offsets are not loaded from a buffer at the expert's index, or E
      is not constant, the forall runs over (expert, block of the largest
      possible segment) instead.)
    - A top-level linalg op with a parallel first dimension is tiled into
      blocks of `rows-per-block` along it (upstream TilingInterface; a
      one-segment matmul, into blocks of rows and `column-block`
      columns, in one grid dimension); one
      whose only parallel dimension that is (a row reduction, a norm) into
      blocks of `threads` rows, a row a thread.
    - Anything else (the dispatch's histogram, prefix sum and scatter,
      whose loops carry dependences) runs as one block; consecutive ops of
      that kind share it, and so do the ops that use their results.

    Inside a block, a segment matmul with BF16 or F16 weights (f32
    activations [rows, K] times one expert's [N, K]) takes tensor cores
    unless `tensor-cores=false`: its body rounds the activations to the
    weights' type (for BF16 what `moe-compile --bf16-dot` computes on the
    CPU; `moe-reference --tensor-cores` checks both; with `tf32`, one with
    F32 weights rounds its activations and weights to TF32, nearest with
    ties away from zero, as `moe-reference --tf32` does), it is tiled over the
    block's warps along N
    (`#gpu.warp<x>`), and each warp's columns into warp tiles of at most 32
    rows and 32 columns marked `moe.warp_mma`, which moe-gpu-warp-mma makes
    mma.sync instructions. A gated FFN's gate and up matmuls and their
    epilogue (fills, two segment matmuls into [rows, N] buffers, a
    `moe.segment_epilogue`) run as one loop nest instead: the warps (or,
    without tensor cores, the threads) split the columns and walk theirs in
    32 x 32 warp tiles (the block's rows x 1 column), each tile running the
    fills, both matmuls and the epilogue on the worker's own scratch
    (allocas in the worker forall's body); the [rows, N] buffers go. A
    warp whose columns fit one warp tile takes them with no loop, even
    none (a ragged column window's last warps): every warp of the block
    then reaches its tile, where moe-gpu-warp-mma may place barriers.
    With `warp-rows` above 1, the warps (on tensor cores, gated or not)
    form a grid of that many rows of warps, consecutive warps along the
    columns: a warp takes one warp tile of the block's rows (a warp past the
    block's last row an empty one) and its grid column's share of the
    columns, so the warps of a grid column read the same W rows, once per
    block from memory and then from L1, where each warp of a one-row grid
    reads its own. A block whose rows may pass `row-block` (a segment run
    as one block) keeps its warps on all of its rows. One
    over all rows at the top level (a shared expert's) is first wrapped in
    a forall over blocks of `row-block` rows and `column-block` columns. Any other linalg op with a parallel dimension is
    tiled over `threads` threads along its innermost parallel dimension;
    consecutive ops that write memory otherwise (serial loops, stores) run
    on thread 0, and scalar results that later ops of the block use travel
    through a one-element buffer. Ops that only read stay for every thread. A
    uniform `scf.if` is distributed inside. Buffers a block allocates become
    its own slice of one buffer allocated for the whole grid, sized by the
    constant upper bound of their shape.

    Iterations of the mapped foralls are independent by construction (the
    thread foralls of a block are separated by barriers when mapped), so
    running them as sequential loops on the host (`scf-forall-to-for`)
    computes what the GPU computes: moe-nvptx-pipeline's `host-semantics`
    option checks the schedule that way.
  }];
  let options = [
    Option<"rowBlock", "row-block", "int64_t", /*default=*/"32",
           "Rows of a segment each block of a segment loop takes">,
    Option<"rowsPerBlock", "rows-per-block", "int64_t", /*default=*/"4",
           "Rows of a top-level linalg op each block takes">,
    Option<"threads", "threads", "int64_t", /*default=*/"128",
           "Threads of a block">,
    Option<"columnBlock", "column-block", "int64_t", /*default=*/"128",
           "Columns of a segment matmul's output each block takes (0: all "
           "of them)">,
    Option<"columnGroup", "column-group", "int64_t", /*default=*/"1",
           "Column blocks a block index runs over before the next row "
           "slot, in groups of this many (1: the row slots fastest)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Segment matmuls with BF16 or F16 weights round their "
           "activations to that type and run on tensor cores "
           "(moe.warp_mma tiles)">,
    Option<"tf32", "tf32", "bool", /*default=*/"false",
           "Segment matmuls with F32 weights round their activations and "
           "weights to TF32 and run on tensor cores too">,
    Option<"warpTileRows", "warp-tile-rows", "int64_t", /*default=*/"32",
           "Rows of a warp's tensor-core tile (16, 32, 48 or 64)">,
    Option<"warpTileColumns", "warp-tile-columns", "int64_t",
           /*default=*/"32",
           "Columns of a warp's tensor-core tile (a multiple of 8, at most "
           "128)">,
    Option<"ungatedColumnBlock", "ungated-column-block", "int64_t",
           /*default=*/"0",
           "Columns a block takes of a matmul on tensor cores that is not "
           "part of a gated FFN (a down projection, a linear node), where "
           "they split (0: column-block)">,
    Option<"ungatedWarpTileColumns", "ungated-warp-tile-columns", "int64_t",
           /*default=*/"0",
           "Columns of a warp's tensor-core tile of such a matmul (a "
           "multiple of 8, at most 256, above 128 for wgmma only; 0: "
           "warp-tile-columns)">,
    Option<"warpRows", "warp-rows", "int64_t", /*default=*/"1",
           "On tensor cores, the block's warps form a grid of this many "
           "rows of warps, each warp one tile of the row block "
           "(row-block = warp-rows x warp-tile-rows), so that the warps of "
           "a column of the grid read the same weight rows (1: each warp "
           "takes all of the block's rows)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def MoEGPUFormLaunchesPass
    : Pass<"moe-gpu-form-launches", "mlir::func::FuncOp"> {
  let summary = "Make each block-mapped scf.forall a gpu.launch";
  let description = [{
    Each top-level `scf.forall` mapped to `#gpu.block<...>` (from
    moe-gpu-distribute) becomes a `gpu.launch` whose grid is the forall's
    trip counts, computed on the host (upstream's block mapping wants
    static trip counts; the token count is dynamic), and whose block is as
    wide as the widest thread forall inside. Upstream's
    `mapNestedForallToThreadsImpl` then maps the thread foralls, with a
    barrier after each; this pass adds one before each thread forall that
    follows reads by every thread of the block, so that no thread's write
    overtakes another's read. The function's top-level `memref.alloc`s become
    `gpu.alloc`s and their deallocations `gpu.dealloc`s.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def MoEGPUExternDynamicSharedMemoryPass
    : Pass<"moe-gpu-extern-dynamic-shared-memory", "mlir::gpu::GPUModuleOp"> {
  let summary = "Declare the kernels' dynamic shared memory as extern";
  let description = [{
    Runs after `convert-gpu-to-nvvm`. Upstream's lowering of
    `gpu.dynamic_shared_memory` makes a zero-sized `llvm.mlir.global` in
    address space 3 with internal linkage; LLVM's NVPTX backend then
    demotes it into the one kernel that uses it as a static `.shared`
    variable of one byte, whose accesses past that byte reach the dynamic
    shared memory only by where ptxas happens to place it. With external
    linkage it is what CUDA's `extern __shared__` array is: `.extern
    .shared .align 16 .b8 NAME[];`, the start of the launch's dynamic
    shared memory. Every zero-sized global of the workgroup address space
    gets it.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def MoEGPUTensorMapArgumentsPass
    : Pass<"moe-gpu-tensor-map-arguments", "mlir::ModuleOp"> {
  let summary = "Pass TMA tensor maps to kernels as the pointers they lower "
                "to";
  let description = [{
    Runs after kernel outlining. A kernel that issues TMA copies
    (moe-gpu-warp-mma's `tma-weights`) takes the tensor maps the host made
    (`nvgpu.tma.create.descriptor`) as arguments of type
    `!nvgpu.tensormap.descriptor`, which `convert-gpu-to-nvvm` cannot
    convert in a kernel's signature. Each such argument becomes the
    `!llvm.ptr` the map lowers to, cast
    back to the descriptor type at the kernel's entry, and each
    `gpu.launch_func` passes the descriptor cast to `!llvm.ptr`: once
    `convert-nvgpu-to-nvvm` has lowered both ends, the casts fold away
    (and moe-gpu-grid-constant-tensor-maps passes the map by value).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def MoEGPUGridConstantTensorMapsPass
    : Pass<"moe-gpu-grid-constant-tensor-maps", "mlir::ModuleOp"> {
  let summary = "Pass TMA tensor maps to kernels by value, as grid constants";
  let description = [{
    Runs after `gpu-to-llvm`, before `gpu-module-to-binary`: the kernels
    are `llvm.func`s whose arguments match their launches' operands one to
    one. Each launch operand that is a tensor map the host made (the
    result of `mgpuTensorMapEncodeTiledMemref`, the runtime function
    upstream's `nvgpu.tma.create.descriptor` lowers to, which here returns
    the map's 128 bytes in host memory) becomes those 128 bytes, loaded
    before the launch; the kernel's argument becomes a 128-byte `byval`
    parameter aligned to 64, marked `nvvm.grid_constant`: CUDA's
    `const __grid_constant__ CUtensorMap`, whose address the TMA
    instructions take (the NVPTX backend's `cvta.param`). The driver copies
    the map into the launch's parameters, so no map lives in device memory,
    none is copied there before a launch, and a captured CUDA graph keeps
    each launch's own. A kernel argument that takes a map at one launch
    and not at another, or that a kernel uses otherwise than as a TMA
    copy's or prefetch's tensor map, is an error.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def MoEGPULowerBF16MmaSyncPass : Pass<"moe-gpu-lower-bf16-mma-sync"> {
  let summary = "Lower nvgpu.mma.sync on bf16 operands to nvvm.mma.sync";
  let description = [{
    `nvgpu.mma.sync` with `mmaShape = [16, 8, 16]`, `vector<4x2xbf16>` and
    `vector<2x2xbf16>` operands and a `vector<2x2xf32>` accumulator (what
    moe-gpu-warp-mma emits) becomes `nvvm.mma.sync` m16n8k16 row.col with
    bf16 multiplicands: each pair of bf16 is one 32-bit register, its first
    element in the low half. Upstream's `convert-nvgpu-to-nvvm` lowers the
    f16, tf32 and integer forms but finds no PTX type for bf16; it runs
    after this pass for everything else, f16 multiplicands included.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def MoEGPUMergeIndependentKernelsPass
    : Pass<"moe-gpu-merge-independent-kernels", "mlir::func::FuncOp"> {
  let summary = "Independent GPU kernels share one launch";
  let description = [{
    Runs after moe-gpu-distribute, on its block foralls (the function's
    top-level `scf.forall`s mapped to `#gpu.block<x>`). A kernel B that
    touches no buffer a kernel A before it writes, writes none A reads, and
    likewise for everything between them, joins A: one forall over A's
    blocks and then B's, whose body runs A's for a block below A's grid
    size and B's for the others (a condition uniform in the block). The
    host ops B needs from between them (its grid size, its views and
    buffers) move before A. The search stops at calls and deallocations,
    which order host and device work.

    Buffers are told apart by their allocation: views (subviews, reshapes)
    lead back to it, a select to both of its buffers; a fresh allocation
    is neither another nor a function argument, and function arguments may
    be each other. An effect on memory that cannot be traced keeps its
    kernel apart.

    Each launch costs the host a call and the GPU the gap before the next
    kernel starts. The gate and up projections of the routed experts, and
    those of the shared experts, share one; in a layer with shared
    experts, so do independent kernels of the shared experts and of the
    routing.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def MoEGPUMergeKernelModulesPass
    : Pass<"moe-gpu-merge-kernel-modules", "mlir::ModuleOp"> {
  let summary = "Put every outlined kernel in one gpu.module";
  let description = [{
    `gpu-kernel-outlining` gives each kernel a `gpu.module` of its own, so a
    model would become one binary per kernel. This pass moves every kernel
    into the first module (`moe_kernels`) and points each `gpu.launch_func`
    there: the model is one PTX file, one cubin, loaded once. A kernel
    made from a segment loop (its location is named `grouped_matmul` by
    moe-gpu-distribute) is renamed `<function>_grouped_matmul[_N]`, so
    that profiles and `ptxas -v` say which kernels are the expert GEMMs.
    A kernel's workgroup buffers are aligned to 16 bytes (`llvm.align`):
    the attributions of a `gpu.launch` carry no attributes to the outlined
    `gpu.func`, and LLVM would align the buffer to its element only.
    With `gemm-min-blocks-per-sm` > 0, each expert GEMM kernel gets
    `nvvm.minctasm` (PTX `.minnctapersm`): ptxas then keeps its registers
    few enough for that many blocks an SM, trading registers for warps in
    flight.
  }];
  let options = [
    Option<"gemmMinBlocksPerSM", "gemm-min-blocks-per-sm", "int64_t",
           /*default=*/"0",
           "Blocks an SM must fit of each expert GEMM kernel, by its "
           "registers (nvvm.minctasm; 0: as many as ptxas's choice allows)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def MoEGPUHoistPrivateScratchPass
    : Pass<"moe-gpu-hoist-private-scratch", "mlir::func::FuncOp"> {
  let summary = "Move a thread's private scratch to the start of its kernel";
  let description = [{
    moe-gpu-distribute gives a worker (a thread, or a warp) scratch of its
    own as static `memref.alloca`s in the body of its forall, an automatic
    allocation scope: a gated tile's gate and up. This pass moves every
    static alloca nested in an `scf.forall` or a `gpu.launch` to the entry
    block of the outermost `gpu.launch` around it, or of the function when
    there is none.

    - In a kernel: an alloca in the kernel's entry block is a fixed part of
      each thread's frame; one in a nested block (under the thread
      mapping's predicate) is a dynamic stack allocation.
    - On the host (moe-nvptx-pipeline's `host-semantics`, before
      `scf-forall-to-for`): an `scf.for` is no allocation scope, so an
      alloca left in a loop would take new stack on every iteration; the
      loops run one iteration at a time, so one scratch for all of them
      computes the same.

    An alloca's contents start undefined, so moving it out of a loop or a
    branch changes nothing a thread computes.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def MoEGPUNarrowActivationsPass
    : Pass<"moe-gpu-narrow-activations", "mlir::func::FuncOp"> {
  let summary = "Rows that only tensor-core matmuls read are written in "
                "their operand type";
  let description = [{
    Rows of f32 read only as the input of `moe.grouped_matmul`s and
    `moe.grouped_gated_matmul`s over the same segments, each with BF16 (or
    each with F16) weights in the nn.Linear layout, are written rounded to
    that type instead, into a fresh `tensor.empty`, where their width is a
    multiple of 8 (16-byte pieces of 16-bit elements, which a block stages
    by cp.async; tiles load other widths element by element):

    - a `moe.permute`'s (its narrowing form): the routed experts' gate and
      up read them;
    - a `moe.grouped_gated_matmul`'s with BF16 or F16 weights of its own
      (its epilogue rounds what it stores; products and activation stay
      f32): the down projection reads them.

    A reader may also read them through unit-stride `tensor.extract_slice`s
    (moe-split-grouped-matmul-k's parts: slices of K), which then take the
    narrower type too; `tensor.dim` of the rows reads no element.

    On tensor cores (moe-gpu-distribute's `tensor-cores`) those matmuls
    round each activation to the weights' type as they load it, so the
    result is the same to the bit; the producer writes half the bytes, the
    matmuls read half, and a block stages its activation chunks by
    cp.async as it stages weights, without rounding them on the way
    (moe-gpu-warp-mma).

    Run only where the matmuls go to tensor cores: an FFMA kernel on f32
    activations would compute with unrounded ones.

    Example:

    ```mlir
    %rows = moe.permute ins(%x, %tokens, %offsets
                : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
              outs(%e : tensor<?x64xf32>)
    %h = moe.grouped_gated_matmul ins(%rows, %offsets : tensor<?x64xf32>, ...)
           gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>) ...
    ```

    becomes a permute `outs(%e2 : tensor<?x64xbf16>)`, `%e2` a
    `tensor.empty` of the same rows, and the gated matmul's input
    `tensor<?x64xbf16>`.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def MoEGPUReverseForallOrderPass
    : Pass<"moe-gpu-reverse-forall-order", "mlir::func::FuncOp"> {
  let summary = "Run the iterations of mapped foralls last to first";
  let description = [{
    For the host-semantics check of moe-nvptx-pipeline: every `scf.forall`
    mapped to GPU blocks, warps or threads takes its iterations in reverse
    order (each induction variable i becomes ub - 1 - i) before
    `scf-forall-to-for` makes it a sequential loop. A GPU runs a grid's
    blocks in any order, and at once; a host loop runs them first to last,
    so a block that wrongly reads what an earlier block writes (a kernel
    that depends on another it shares a launch with, say) would still
    compute the right thing there. Reversed, it reads what is not written
    yet, and the comparison with the reference fails.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def MoEGPUWarpMMAPass : Pass<"moe-gpu-warp-mma", "mlir::func::FuncOp"> {
  let summary = "Rewrite moe.warp_mma tiles as tensor-core mma.sync loops";
  let description = [{
    Each `linalg.generic` marked `moe.warp_mma` by moe-gpu-distribute
    (`C[m, n] += bf16(A[m, k]) * W[n, k]`, f32 A and C, bf16 W, or the
    same in f16, or with A of W's type already (moe-gpu-narrow-activations),
    at most 32 rows and 32 columns) sits where one warp runs
    it, inside a GPU kernel: every lane reaches it, with the same operands.
    It becomes a loop over K in steps of 32 of `nvgpu.mma.sync` m16n8k16
    (two a step) with f32 accumulators, one for each 16 x 8 tile of it (up
    to 2 x 4). In a step each lane loads 8 consecutive elements along K
    (from k0 + 8 (lane % 4)) of each A row and W row it owns, one vector
    load each, 16-byte aligned, where the buffer's views keep such groups
    aligned (8 divides K and every stride; the ABI aligns the buffers),
    else element by element; each element is loaded when a fragment first
    takes it. The step's first mma.sync takes elements 0-3 of each group
    (the registers PTX's layout for 16-bit operands puts at K columns t,
    t + 1, t + 8, t + 9 with t = 2 (lane % 4), as upstream's
    `transform.nvgpu.rewrite_matmul_as_mma_sync` has them for f16), the
    second 4-7: a permutation of K that A and W share, which the sum over
    K does not see. Each A fragment serves its row of tiles' mma.syncs,
    each W fragment its column's. A's f32 elements are rounded to W's type,
    and each lane stores its C elements back. Where a gated FFN's tile (two
    such tiles of the same A into tiles that only fills write before, and a
    `moe.segment_epilogue` reads) sits, one loop over K loads each A group
    once for two mma.syncs, the accumulators start from the fills' value,
    and the epilogue, cloned, runs on them: only its result is stored. A
    tile smaller than its 16 x 8 tiles, or a K that 32 does not divide, is
    padded with zeros: a lane loads inside the tile only (at a clamped
    index, then selects zero), and stores inside it only. A tile with no
    columns (a warp past a ragged window's last) loads and stores nothing.

    With `stage-activations`, a tile that every thread of its block reaches
    alike (no loop bound or condition around it inside the kernel depends
    on the thread) and whose A comes in aligned 16-byte pieces reads A from
    shared memory: the block's threads copy A's rows (up to 32) in chunks
    of 64 columns into two workgroup buffers of [32, 96] (a row padded to
    192 bytes: no bank conflicts for the lanes' 16-byte reads), rounding
    them to W's type, with zeros past the rows and K; each chunk's steps
    read it while the next chunk is copied into the other buffer, and one
    `gpu.barrier` a chunk, which every thread reaches, keeps the two
    apart. The warps of a block share their A rows, so each is read from
    memory once a block, not once a warp, and rounded once.

    A tile with f32 W (`tf32=true` in moe-gpu-distribute, whose body
    rounds A and W to tf32) becomes `nvgpu.mma.sync` m16n8k8 with
    `tf32Enabled`, in steps of 8 over K: each fragment register holds one
    element, which the lane rounds by `cvt.rna.tf32.f32`
    (`nvvm.convert.float.to.tf32`), the body's rounding in one
    instruction.

    With `prefetch-weights`, a tile whose W groups are vector loads (and
    whose K is static) loads the first step's groups before its K loop, and
    each step then issues the loads of the next step's groups (the last
    step's again, unused, after the last) before its mma.syncs, which take
    the groups the step before loaded, carried as loop values: each warp
    has two steps of W loads in flight where it had one, for a step's
    registers more (8 a group of 16-bit W).

    With `weight-stages` of 2 or more, a tile with 16-bit W groups (and a
    static K, and 16-byte aligned groups) moves them through a ring of that
    many stages in shared memory, one ring a warp: in static shared memory
    where it fits the 48 KB beside the launch's other buffers, else in
    dynamic shared memory, with fewer stages where the block's shared
    memory would pass 80 KB (none below two, nor more than the steps
    ahead):
    before its K loop each lane copies its groups of the first
    `weight-stages - 1` steps by `cp.async` (`nvgpu.device_async_copy`,
    16 bytes past L1), one committed group a step; each step waits until
    its own group has landed (`cp.async.wait_group`), reads its groups back
    (`ld.shared`), copies those of the step `weight-stages - 1` on (the
    last step's again, unused, past the last) into the slot the step
    before read, and runs its mma.syncs. A lane reads only what it copied,
    so no barrier is needed. A warp has `weight-stages - 1` steps of W in
    flight, in shared memory rather than registers. It takes the place of
    `prefetch-weights` where both apply.

    With `wgmma`, a tile of 16 rows that is a warp's window of its block's
    64 staged rows (moe-gpu-distribute's grid with `warp-rows=4
    warp-tile-rows=16` in a block of 128 threads: one warpgroup), whose W
    can be staged too, runs as part of its warpgroup's
    `wgmma.mma_async.sync.aligned.m64nNk16` (N = 8 x the tile's column
    sub-tiles): the block stages A and W chunks as 8 x 8 core matrices (the
    canonical K-major layout without swizzling), each step's operands are
    shared-memory descriptors of them, and a warp's accumulators are rows
    16 (warp % 4) on of the block's, in mma.sync's C layout for each 8
    columns. Each step fences, issues its wgmmas and commits them; the
    chunk waits for them before its barrier, all but the last
    `wgmma-pending-chunks` chunks' (the staged buffers then have a slot
    for each pending chunk, so that no copy overwrites what a running
    wgmma reads; the accumulators are read after a last wait for all).
    Other tiles run on mma.sync.

    With staged W (`stage-weights` or `wgmma`), `weight-chunks-ahead`
    chunks' W copies are in flight while a chunk's steps run: the block's
    W buffers have `weight-chunks-ahead + 1` slots (+ the pending chunks;
    A's, written a chunk ahead, 2 + the pending chunks),
    each chunk's copies are a cp.async group (an empty one past the last
    chunk), and a chunk waits only for the next chunk's group. Where the
    staged A chunks pass the static shared memory, they go to dynamic
    shared memory with W's.

    A of W's type (narrowed) is staged as W is: its chunks by cp.async
    (16-byte pieces of 8 elements), in the groups of W's copies of the same
    chunk (a chunk ahead where W is not staged), into as many slots as W
    has; nothing is rounded, nothing passes through registers.

    With `wgmma` and `copy-activations-async`, f32 A's chunks are copied like
    W's: by cp.async, in their groups, in f32 into a ring of
    `weight-chunks-ahead` slots, and each thread rounds the pieces it
    copied into the core-matrix buffer once its group has landed (no
    barrier between: a thread reads only its own copies). Nothing of A is
    then live in registers across a chunk's steps, and A's loads run as
    many chunks ahead as W's.

    With `wgmma` and `tma-weights`, W's chunks come by TMA instead
    (cp.async.bulk.tensor, sm_90): the host makes a tensor map of each
    weight tensor before the launch (nvgpu.tma.create.descriptor, 128-byte
    swizzling, zeros past the tensor), and the block's thread 0 issues
    each chunk's boxes, `weight-chunks-ahead` chunks on, arriving on the
    slot's mbarrier with their bytes expected; the block's threads wait on
    it where they waited for W's cp.async group (a loop of
    mbarrier.try_wait.parity that traps after 2 s by the global timer, so
    that a phase that never completes is a launch error, not a hang). W's
    buffers are then the
    boxes as TMA writes them (128-byte rows, 16-byte pieces swizzled
    within each 8 rows, slots on 1,024-byte boundaries, in dynamic shared
    memory), which W's wgmma descriptors read with 128-byte swizzling. On
    the host the boxes are copied as TMA writes them and the descriptors'
    swizzling decoded, so host semantics checks the layout, and the slots'
    mbarriers run as a model that checks each wait, arrival and box in
    program order (a wait finds its chunk's phase complete, and no later
    one; the parity names it; no box beyond the bytes expected; nothing in
    flight or unwaited at the end), aborting with a message where one
    fails; races between threads and the tensor maps need a GPU. A tile
    whose W is not a view of whole rows of a static weight tensor (rows a
    multiple of 16 bytes) is copied by cp.async, with a warning.

    With `tma-activations` too, narrowed A's chunks come by TMA with W's:
    the host makes a tensor map of the rows A's view is a window of (a
    [rows, k] memref above the launch, its row count known at run time:
    the runtime makes a map once for each address and shape), and the
    issuing thread's box of A's chunk lands in a swizzled slot beside W's,
    its bytes expected on the same mbarrier. No thread copies anything by
    cp.async then; A's descriptors read it with 128-byte swizzling. Rows
    of the box past the tile's are the next rows of the tensor (zeros past
    its end), which reach only accumulator rows that are never stored. A
    tile whose A is not such a view keeps cp.async, with a warning.

    With `tma-empty-barriers` too (A and W both by TMA: no thread writes a
    slot), the block barrier that ended each chunk goes. Each slot has a
    second mbarrier (its "empty" one, a warp's arrival a phase): lane 0 of
    every warp arrives on it once the warp's wait for its wgmmas retires
    the chunk that read the slot, and the issuing thread waits on it for
    the slot's previous chunk before it issues the slot's next boxes. The
    warps then run up to the depth of the ring apart, where the barrier
    made the block's warps meet at every chunk. One barrier after the loop
    stays (the mbarriers are invalidated there). On the host a model of
    the empty mbarriers checks the protocol in program order.

    With `emulate-lanes` (moe-nvptx-pipeline's `host-semantics`), the same
    lane code runs on the host instead, on tiles still inside their warp
    forall: each phase (the accumulators' first values, each step's
    fragments, the stores or the epilogue) is a loop over the 32 lanes
    that keeps the fragments in memory, a staged chunk's copy is a loop
    over the block's threads in each warp's turn (no barriers: the warps
    run one after another), and each mma.sync is computed from
    them by upstream's fragment layouts
    (`nvgpu::getLaneIdAndValueIdToOperandCoord`): the lanes' fragments
    scattered into A, B and C, C += A B^T in f32, D gathered back. What a
    lane loads, rounds, pads and stores, and what a thread copies, is then
    checked against the reference on every host-semantics run. Since a
    host copy lands at once, the block's cp.async groups and a warp's W
    ring's (`weight-stages`) run as models too (committed, waited for,
    each slot's last copy), checked where a chunk or step is read (its
    copy's group waited for, the slot still holding it) and after the
    loop (nothing in flight), with a message and an abort (cf.assert)
    where one fails. So do the block barriers: the barriers passed and,
    for each staged A and W slot, from which barrier its contents are
    visible to every thread and at which its last reads ended (a pending
    wgmma's at the wait that retires it), checked where a slot is read and
    where it is written.
  }];
  let options = [
    Option<"emulateLanes", "emulate-lanes", "bool", /*default=*/"false",
           "Run each warp tile's lane code on the host, lanes as loops and "
           "mma.sync computed from the fragments (host semantics)">,
    Option<"stageActivations", "stage-activations", "bool",
           /*default=*/"true",
           "Stage the block's activation rows in shared memory, rounded, "
           "for the tiles that every thread of the block reaches">,
    Option<"stageWeights", "stage-weights", "bool", /*default=*/"false",
           "Where the activations are staged, stage the block's 16-bit "
           "weight rows beside them (cp.async, the next chunk's while a "
           "chunk's steps run), so that the warps of a grid column read "
           "them from shared memory, once a block from global memory">,
    Option<"prefetchWeights", "prefetch-weights", "bool", /*default=*/"false",
           "Each K step loads the next step's W groups before its "
           "mma.syncs, which take those the step before loaded (a static "
           "K and 16-byte W groups)">,
    Option<"weightStages", "weight-stages", "int64_t", /*default=*/"0",
           "Stages of each warp's ring of W groups in shared memory, copied "
           "ahead by cp.async (0 or 1: no ring)">,
    Option<"warpTileRows", "warp-tile-rows", "int64_t", /*default=*/"32",
           "The most rows of a tile (moe-gpu-distribute's warp-tile-rows), "
           "and of the staged chunks">,
    Option<"warpTileColumns", "warp-tile-columns", "int64_t",
           /*default=*/"32",
           "The most columns of a tile (moe-gpu-distribute's "
           "warp-tile-columns)">,
    Option<"ungatedWarpTileColumns", "ungated-warp-tile-columns", "int64_t",
           /*default=*/"0",
           "The most columns of a tile that is not part of a gated FFN "
           "(moe-gpu-distribute's ungated-warp-tile-columns; above 128 "
           "with wgmma only: m64n256k16 keeps 128 accumulators a thread, "
           "a gated tile's two weights' of 128 columns; 0: "
           "warp-tile-columns)">,
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "Run the four warps of a 128-thread block's 64-row grid (16-row "
           "warp tiles) as one warpgroup: wgmma.mma_async m64nNk16 (sm_90a) "
           "on the staged activation and weight chunks, laid out as "
           "core matrices, where both are staged">,
    Option<"weightChunksAhead", "weight-chunks-ahead", "int64_t",
           /*default=*/"1",
           "With staged W, the chunks whose W copies are in flight while a "
           "chunk's steps run (1 to 3)">,
    Option<"copyActivationsAsync", "copy-activations-async", "bool",
           /*default=*/"false",
           "With wgmma, copy A's chunks by cp.async with W's, in f32 into a "
           "ring of weight-chunks-ahead slots, each thread rounding its own "
           "pieces once they have landed (instead of loading them into "
           "registers a chunk ahead)">,
    Option<"wgmmaPendingChunks", "wgmma-pending-chunks", "int64_t",
           /*default=*/"0",
           "With wgmma, the last chunks whose wgmmas may still run when the "
           "block passes a chunk's barrier (0 to 2)">,
    Option<"tmaWeights", "tma-weights", "bool", /*default=*/"false",
           "With wgmma, W's chunks come by TMA: one thread issues a box of "
           "each weight's chunk (128-byte swizzled, as wgmma reads it), "
           "whose landing the chunk's slot's mbarrier counts">,
    Option<"tmaActivations", "tma-activations", "bool", /*default=*/"false",
           "With tma-weights and narrowed activations, A's chunks come by "
           "TMA too: a box of the block's rows beside W's, on the same "
           "mbarrier, so that no thread copies by cp.async">,
    Option<"tmaEmptyBarriers", "tma-empty-barriers", "bool",
           /*default=*/"false",
           "With A and W both by TMA, a second mbarrier a slot says when the "
           "block's warps have read it: each warp arrives once its wgmmas "
           "that read the slot are waited for, and the issuing thread waits "
           "on it before it issues the slot's next boxes, in place of the "
           "block barrier that ended each chunk">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // MOE_CODEGEN_GPU_PASSES_TD
