//===- Passes.td - CPU code generation passes --------------*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Passes specific to the CPU target. Keep alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_CPU_PASSES_TD
#define MOE_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def MoECPUApproximateVectorMathPass
    : Pass<"moe-cpu-approximate-vector-math"> {
  let summary = "Expand math functions on vectors into polynomial "
                "approximations";
  let description = [{
    Rewrites `math.exp`, `math.erf` and `math.tanh` on vectors (the
    vectorized activation epilogues) with upstream's polynomial
    approximations, in vector arithmetic. LLVM would otherwise split each
    vector into one libm call per element, spilling every live vector
    register around each call. Scalar math keeps its libm calls, so the
    router's softmax and the unvectorized loops do not change.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def MoECPUBF16DotPass : Pass<"moe-cpu-bf16-dot", "mlir::ModuleOp"> {
  let summary = "Expert matmuls with bf16 weights on bf16 activations";
  let description = [{
    Trades accuracy for speed, as a bf16 autocast does: every
    `moe.grouped_matmul` of the `moe.entry` function whose weight is a bf16
    parameter in the nn.Linear layout [E, N, K], and every
    `moe.grouped_gated_matmul` whose gate and up weights both are, takes
    its input rounded to bf16 (to nearest even); products are exact in f32
    and accumulate in f32. Runs before `moe-cpu-prepare-expert-weights`.

    Where K is even (and at least 4) and N a multiple of 16, the weight
    argument becomes [E, N/P, K/2, P, 2], panels of P columns (the largest
    multiple of 16 that divides N and is at most `panel-width`, or 16)
    holding pairs of consecutive k next to each other
    (`moe.prepare_permutation = array<i64: 0, 1, 3, 2, 4>`, done by
    `moe_prepare` at load time), and the matmul gets the `pair_panels`
    weight layout with a bf16 input (with `gather`, the bf16 token rows it
    gathers from), which the CPU kernel schedule turns
    into AVX-512 BF16 dot products (`vdpbf16ps`, 32 multiply-adds per
    instruction against 16 for an f32 FMA). Other shapes keep the f32
    kernel on the rounded values (and the usual load-time layout), so the
    result does not depend on the shapes. Needs a CPU with AVX512-BF16 to
    run.
  }];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"32",
           "Largest panel of weight columns (that the kernel tiles N by)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::moe::MoEDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def MoECPUExpandBF16Pass : Pass<"moe-cpu-expand-bf16"> {
  let summary = "Rewrite bf16 conversions into integer bitcasts and shifts";
  let description = [{
    Widening bf16 to f32 is a 16-bit shift; x86 has no instruction for it
    (AVX-512 BF16 converts only the other way). Emitting the shift before
    LLVM sees bf16 vectors also avoids an LLVM 22 X86 instruction-selection
    abort on elements extracted from odd-length bf16 vectors with
    AVX512-BF16 ("Do not know how to soft promote this operator's
    operand"). Runs upstream's bf16 expansion patterns only, unlike
    `arith-expand{include-bf16}`, which also expands every
    `arith.maximumf`/`minimumf` into compares and selects.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def MoECPUVectorizeElementwisePass
    : Pass<"moe-cpu-vectorize-elementwise", "mlir::func::FuncOp"> {
  let summary = "Thread and vectorise row-wise elementwise ops";
  let description = [{
    An elementwise `linalg.generic` over [rows, columns] (every map the
    identity, dynamic rows, static columns, a body of arith and math ops)
    that no kernel schedule took runs as scalar loops on one thread
    otherwise: the gated activation and the bf16 roundings of the unfused
    gate and up projections (`--amx`, or `fuse-gate-up=false`), for
    instance. This pass tiles each into an `scf.forall` over blocks of
    `row-block` rows (the CPU pipeline maps it to threads) and, in a block,
    rows of static column chunks (the largest divisor of the columns up to
    `vector-width`), which upstream's vectorizer turns into vector ops (math
    functions then go through moe-cpu-approximate-vector-math). Ops inside
    an `scf.forall` (already parallel) are left alone.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
  let options = [
    Option<"rowBlock", "row-block", "int64_t", /*default=*/"16",
           "Rows of a block, the unit of work of a thread">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"64",
           "Most columns of a vectorized row chunk">,
  ];
}

def MoECPUHoistAMXAccumulatorsPass
    : Pass<"moe-cpu-hoist-amx-accumulators", "mlir::func::FuncOp"> {
  let summary = "Keep AMX tiles in tile registers across k loops";
  let description = [{
    `convert-vector-to-amx` turns each contraction of the `amx-tiles`
    schedule into its own tile loads, product and store: each accumulator
    tile is loaded from C and stored back at every k step, and the A tile
    that a step's products share is loaded once per product. In an
    `scf.for` whose body loads tiles from places (memrefs and indices
    defined outside the loop, after loop-invariant code motion) and stores
    tiles to the same places, this pass loads them once before the loop,
    carries them as `!amx.tile` iteration arguments and stores them once
    after. It does so only when the places are pairwise disjoint (views of
    one buffer that part at subviews over disjoint static boxes), nothing
    else in the loop writes memory, and every other read in the loop is of
    memory disjoint from the places (another buffer, where one of the two
    is a fresh allocation): each place is then only touched by its own load
    and store. The loop, whose trip count must be static and at most 16
    (the K block's tile steps), is then unrolled, and a tile loaded again
    from a place with no write in between is loaded once. The tiles flow
    through straight-line code because the pipeline's OpenMP and
    control-flow conversions to LLVM have no type conversion for a tile in
    a block argument (upstream's `convert-to-llvm` has; LLVM keeps such a
    phi in a tile register).
  }];
  let dependentDialects = ["::mlir::amx::AMXDialect"];
}

def MoECPULowerVnniContractionsPass : Pass<"moe-cpu-lower-vnni-contractions"> {
  let summary = "Lower AMX-shaped VNNI contractions to f32 FMAs";
  let description = [{
    What `moe-compile --amx-host-semantics` runs where `--amx` runs
    `convert-vector-to-amx`: each `vector.contract` in upstream's VNNI form
    (`C[m, n] += A[m, k, p] B[k, n, p]`, p the pair of a 32-bit VNNI
    element, as `moe-cpu-tile-and-vectorize{amx-tiles}` makes them) becomes
    a matmul contraction `C[m, n] += A'[2k + p, m] B'[2k + p, n]` of the
    operands widened to f32 (A shape cast and transposed, each k's slice of
    B transposed, 2-D transposes that lower to one shuffle each), which
    upstream's outer-product patterns then lower in the same pass to 2K
    outer products of FMAs (the vector lowering's default, a dot product
    per element of C, took LLVM tens of seconds on a small model). The
    products of bf16 values are exact in f32, so the result differs from
    the tile unit's only in the order of the f32 sums: the AMX schedule's
    tiling and layouts are checked on a CPU without AMX. Runs after the
    kernel schedules, when no other contraction is left to lower.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def MoECPUExpandStridedCopiesPass
    : Pass<"moe-cpu-expand-strided-copies", "mlir::ModuleOp"> {
  let summary = "Rewrite strided memref.copy ops into linalg.copy";
  let description = [{
    `finalize-memref-to-llvm` lowers a `memref.copy` between non-contiguous
    views to a call of `memrefCopy` from MLIR's C runner utilities, which
    compiled models do not link. This pass turns those copies into
    `linalg.copy`, which lowers to loops; copies between contiguous buffers
    stay `memref.copy` (an `llvm.memcpy`).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def MoECPUFlattenVectorTransfersPass
    : Pass<"moe-cpu-flatten-vector-transfers"> {
  let summary = "Turn n-D vector transfers of contiguous memory into 1-D ones";
  let description = [{
    `convert-vector-to-scf` unrolls an n-D transfer into 1-D transfers of
    its innermost dimension: the [1, 16, 2] bf16 weight reads of the
    `vdpbf16ps` kernels would become sixteen 4-byte loads. Where the memref
    slice is contiguous, upstream's flattening patterns read it as one 1-D
    vector of a collapsed view instead (one 64-byte load).
  }];
  let dependentDialects = [
    "::mlir::memref::MemRefDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def MoECPUHoistPanelLoopsPass
    : Pass<"moe-cpu-hoist-panel-loops", "mlir::ModuleOp"> {
  let summary = "Run each grouped kernel's panel loop outside its loop over "
                "the experts";
  let description = [{
    After bufferization, a grouped matmul is a loop over the experts'
    segments (`moe.segment_loop`, whose iterations write disjoint rows)
    holding, for an expert with rows, the kernel's parallel loop over
    column panels: every expert forks and joins the threads, and all
    threads wait for the slowest panel before the next expert's weights
    start streaming. This pass interchanges the two loops, when all the
    segment loop does besides the panel loop is read memory and compute
    indices:

    ```
    scf.for %e { ...; scf.if %rows { ...; scf.forall (%p) in (N) { B } } }
    ```

    becomes, with C = min(N, omp_get_max_threads()) chunks of the panels,

    ```
    scf.forall (%c) in (C) {
      scf.for %e { ...; scf.if %rows { ...;
        scf.for %p = c N / C to (c + 1) N / C { B } } }
    }
    ```

    one parallel loop per grouped matmul in which each thread takes its
    share of the panels of every expert in turn: no barrier between
    experts, so one thread can stream an expert's weights while another
    computes, and a thread still reuses an expert's rows across its panels.
    Each (expert, panel) runs exactly its own work, so results are
    bit-identical for any thread count. The pass declares
    `omp_get_max_threads` (the OpenMP runtime the threaded model links).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def MoECPUHoistTileBuffersPass : Pass<"moe-cpu-hoist-tile-buffers"> {
  let summary = "Allocate a kernel's bounded tile buffers once per thread "
                "share, not once per tile";
  let description = [{
    After bufferization, a kernel tile's temporaries (the [block rows, P]
    partial sums of a K-blocked gated kernel) are `memref.alloc`s with a
    dynamic leading size inside the kernel's loops: a heap allocation per
    tile. Where that size has a constant upper bound (by
    `ValueBoundsOpInterface`, as `affine.min` tile sizes have) and the bound
    takes at most `max-bytes`, the buffer becomes one allocation of the
    bound, and each allocation a `memref.reinterpret_cast` of it to the size
    it asked for, in its own type. Inside an `scf.forall` the buffer is
    allocated at the start of the iteration (a thread's share of the
    panels; the deallocation pipeline frees it at the end), elsewhere once
    on the function's stack. Not a stack buffer per iteration:
    `memref.alloca_scope`, which would release it, must be a single block,
    and lowering SCF to control flow breaks the loops inside it into many.
    Only the leading size may be dynamic (the trailing strides then do not
    depend on it), and a buffer that reaches a call, a return, a yield or
    a region stays where it is.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"262144",
           "Largest buffer, in bytes, to hoist">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def MoECPUPrefetchNextBlockPass
    : Pass<"moe-cpu-prefetch-next-block", "mlir::func::FuncOp"> {
  let summary = "Prefetch the weight block a kernel reads next, a slice per "
                "register tile";
  let description = [{
    After bufferization, an expert kernel reads one block of a packed
    weight panel (a panel, or a K block of one: a contiguous run of k rows)
    once per register tile of rows: the first tile streams it from memory
    and the others compute from cache, one after the other, so memory and
    the FMA units take turns. This pass makes every tile also prefetch a
    slice of the block after it in memory, which, in the [E, N/P, K, P]
    layout, is the one the kernel reads next (the next K block, the next
    panel, or the next expert's first panel).

    It matches a `vector.transfer_read` of a whole k row,
    `subview %block[0.., %k, 0..] [1.., 1, full..]`, in a loop over k
    with constant bounds, whose trailing dims are contiguous and span a
    cache line at least, where the loops between `%block`'s definition and
    the k loop (one over row tiles and, for the remainder, one over its
    rows) do not move `%block`. Their induction variables add up to the
    tile's first row r, and the innermost one's step is its height h. At k
    step j, the tile prefetches element

    ```
    (r * K + j * h) * rowElements / spread-rows
    ```

    of the next block (K the k loop's trip count): tiles covering
    `spread-rows` rows prefetch the whole block, spread evenly over their
    k loops. Each tile's first address is clamped, before its k loop, so
    that all of the tile's addresses stay in the next block (later tiles
    prefetch its end again) and in the allocation the block is a view of
    (the last block prefetches within it): the k loop only adds to it.

    With `short-spread-rows` S' (0: off; `spread-rows` a multiple of it), a
    block whose outermost row loop runs to S' / 2 rows or more, and fewer
    than both 3 S' / 2 and `spread-rows` (an expert with a few rows more
    than a decoding token's), spreads the prefetch over S' rows instead, so
    that its tiles prefetch the whole next block. Such a tile runs a copy
    of the k loop, chosen before it (`scf.if`), that issues m =
    spread-rows / S' prefetches a k step, m streams of a regular tile's
    step each: every cache line of the larger slice, with the k loop's step
    still a constant.
  }];
  let options = [
    Option<"spreadRows", "spread-rows", "int64_t", /*default=*/"32",
           "Rows of register tiles over which the next block is prefetched">,
    Option<"shortSpreadRows", "short-spread-rows", "int64_t", /*default=*/"0",
           "Rows over which blocks of half to 1.5 times this many rows "
           "(fewer than spread-rows) spread the prefetch (0: off)">,
    Option<"localityHint", "locality-hint", "unsigned", /*default=*/"3",
           "memref.prefetch locality hint (0: none, 3: keep in all levels)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def MoECPUPrepareExpertWeightsPass
    : Pass<"moe-cpu-prepare-expert-weights", "mlir::ModuleOp"> {
  let summary = "Lay expert weights out in [E, N/P, K, P] panels, at load time";
  let description = [{
    In the function marked `moe.entry`, every weight argument used only as
    the weight of `moe.grouped_matmul` ops in the `nn.Linear` layout
    [E, N, K] becomes an [E, N/P, K, P] argument, panels of P columns (the
    largest divisor of N up to `panel-width`, the kernel's N tile),
    carrying `moe.prepare_permutation = array<i64: 0, 1, 3, 2>`, and its
    users get the `panels` weight layout (`kn` where N has no panel). The
    vectorised kernel then reads each panel as one contiguous run of K rows
    of P, where an [E, K, N] layout would read P elements N apart (the same
    cache sets for N a multiple of 1024).
    `moe-entry-abi` emits the `moe_prepare` entry point that the runtime
    calls once after loading the weights to do the re-layout. Where no
    panel is wider than one column (N prime, above `panel-width`), the
    weight becomes [E, K, N] instead (`array<i64: 0, 2, 1>`). Weights that
    already have a load-time permutation (moe-cpu-bf16-dot) are left alone.

    A weight used only as the [E, D] weight of `moe.router` ops becomes
    [D, E] (`array<i64: 1, 0>`) and its routers get the `kn` weight
    layout: the logits then accumulate along contiguous weight rows, which
    LLVM vectorizes, instead of a scalar dot product over D per (token,
    expert).
  }];
  let dependentDialects = ["::mlir::moe::MoEDialect"];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"32",
           "Largest panel of weight columns (the kernel's N tile)">,
  ];
}

def MoECPUProfilePhasesPass
    : Pass<"moe-cpu-profile-phases", "mlir::ModuleOp"> {
  let summary = "Bracket each MoE step with calls to the runtime's profile "
                "hook";
  let description = [{
    Before and after each MoE step op (router, top_k, dispatch, permute,
    grouped matmuls, gated activation, combine) at the top level of a
    function (the `moe.entry` function or a layer moe-outline-layers made),
    inserts `func.call @moe_profile_phase(phase,
    begin)`, declaring the hook if needed (see
    `runtime/include/moe/Runtime/ProfilePhases.h` and docs/abi.md). The
    executable's `--profile` sums the time between the calls; without it the
    hook returns at once. Runs on the MoE dialect, after the fusions, so
    that a fused step is one phase.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
  ];
}

def MoECPUTileAndVectorizePass
    : Pass<"moe-cpu-tile-and-vectorize", "mlir::ModuleOp"> {
  let summary = "Tile and vectorise expert segment matmuls for the CPU";
  let description = [{
    Applies a transform-dialect schedule to every expert segment contraction
    (`linalg.generic` tagged `moe.segment_matmul` whose weight is [K, N]):
    N panels of up to 32 columns (an `scf.forall`, which the CPU pipeline
    maps to OpenMP threads) and K blocks of up to 256 (the largest
    divisors of N and K not above them, so every tile is static), then
    8-row register tiles over the dynamic rows, peeled, with single rows
    for the remainder, and a k-loop of rank-1 updates whose 8 x 32
    accumulator stays in vector registers. Contractions are lowered to
    outer products (FMAs after LLVM contraction).

    The pair-layout (`pair_panels`) contractions of `moe-cpu-bf16-dot` get
    the same tiling over pairs of k, with each rank-1 step split into
    1 x 16 tiles that upstream's x86vector patterns turn into `vdpbf16ps`.
    With `amx-tiles`, where K is a multiple of 32, the full tiles are 16
    rows instead, whose k loop, in steps of 16 pairs, runs the panel's
    16 x 16 blocks of C (unrolled): one `vector.contract` in upstream's
    VNNI form (A [16, 16, 2], W [16, 16, 2], C [16, 16]) per block and
    step, read from and written to the tensors (not hoisted into
    registers) so that after bufferization `convert-vector-to-amx` loads
    and stores its tiles straight from memory; the remainder rows (none
    where the pipeline pads the segments) keep the `vdpbf16ps` tiles.

    A gated epilogue (`moe-fuse-gate-up`) is tiled into panels and blocks
    of `gated-row-block` rows, with its gate and up contractions fused into
    each block and tiled as above into the block's [rows, P] partial sums;
    the activation then reads the two a row at a time. With
    `gated-row-block=0`, and always in the pair layout, each register tile
    of the epilogue runs both contractions over the whole of K in
    registers instead: no buffer, but the panel's weights are read once per
    register tile rather than once per block.

    A combine epilogue (`moe.segment_combine`, moe-fuse-combine) is tiled
    the same way into panels and blocks of `combine-row-block` rows, its
    contraction and the zero fill of its partial sums fused into each
    block; the block's rows are then added into their tokens' rows, a row
    at a time (lowered after the schedule). A combine of anything else is
    lowered untiled.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::transform::TransformDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::x86vector::X86VectorDialect",
  ];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"32",
           "Largest N tile (columns of the register tile)">,
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"8",
           "Rows of the register tile">,
    Option<"reductionBlock", "reduction-block", "int64_t", /*default=*/"256",
           "Largest K block kept in cache">,
    Option<"gatedRowBlock", "gated-row-block", "int64_t", /*default=*/"64",
           "Rows of a gated kernel's block, whose contractions run K-blocked "
           "(0: each register tile runs over the whole of K); rounded down "
           "to whole row tiles">,
    Option<"combineRowBlock", "combine-row-block", "int64_t",
           /*default=*/"64",
           "Rows of a combining kernel's block (moe-fuse-combine), whose "
           "contraction runs K-blocked before its rows are combined; rounded "
           "down to whole row tiles">,
    Option<"parallelPanels", "parallel-panels", "bool", /*default=*/"true",
           "Distribute the N panels over threads (an scf.forall)">,
    Option<"amxTiles", "amx-tiles", "bool", /*default=*/"false",
           "Pair-layout contractions whose K is whole AMX tiles run their "
           "16-row tiles as 16 x 16 x 32 VNNI contractions that "
           "convert-vector-to-amx turns into AMX tiles (tdpbf16ps)">,
  ];
}

#endif // MOE_CODEGEN_CPU_PASSES_TD
