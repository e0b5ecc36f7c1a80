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
      by row) becomes a forall over (expert, block of `row-block` rows);
      the grid covers the largest possible segment and a block past its
      segment's end does nothing.
    - A top-level linalg op with a parallel first dimension is tiled into
      blocks of `rows-per-block` along it (upstream TilingInterface); one
      whose only parallel dimension that is (a row reduction, a norm) into
      blocks of `threads` rows, a row a thread.
    - Anything else (the dispatch's histogram, prefix sum and scatter,
      whose loops carry dependences) runs as one block; consecutive ops of
      that kind share it, and so do the ops that use their results.

    Inside a block, each linalg op with a parallel dimension is tiled over
    `threads` threads along its innermost parallel dimension; consecutive
    ops that write memory otherwise (serial loops, stores) run on thread 0,
    and scalar results that later ops of the block use travel through a
    one-element buffer. Ops that only read stay for every thread. A
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
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // MOE_CODEGEN_GPU_PASSES_TD
