//===- Passes.td - Code generation passes shared by targets -*- tablegen -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Passes that every target's pipeline runs on the way to buffers. Keep
// alphabetical.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_COMMON_PASSES_TD
#define MOE_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def MoEConcatParametersPass
    : Pass<"moe-concat-parameters", "mlir::ModuleOp"> {
  let summary = "Concatenate weights at load time instead of on every call";
  let description = [{
    A `tensor.concat` along dimension 0 whose operands are weights (model
    parameters, or arguments of an outlined layer that every call passes
    parameters), each read through `tensor.expand_shape` and
    `tensor.collapse_shape` ops and at most one `linalg.transpose` after
    them, becomes a weight argument of the model function marked
    `moe.param_concat` with the positions of its parts. Each part is
    re-declared as the type the concatenation reads it as (with the
    transpose as its `moe.prepare_permutation`), and `moe-entry-abi` lays
    the parts out one after another at load time, where the forward pass
    reads them as one tensor. A layer function gets the concatenation as a
    new argument instead of its parts, from each call its own.

    `moe-fuse-shared-experts` writes such concatenations: the routed
    experts' weights followed by the shared experts' cut into pieces.
  }];
  let dependentDialects = ["::mlir::moe::MoEDialect"];
}

def MoEEntryABIPass : Pass<"moe-entry-abi", "mlir::ModuleOp"> {
  let summary = "Wrap the model function in the arena entry-point ABI";
  let description = [{
    Finds the function marked `moe.entry` (inputs carry a `moe.input`
    argument attribute, weights a `moe.param` one) and adds the entry point
    the runtime calls, with one fixed C signature for every model:

    ```
    func.func @moe_forward(%tokens: index, %inputs: memref<?xi8>,
                           %params: memref<?xi8>, %outputs: memref<?xi8>,
                           %scratch: memref<?xi8>)
        attributes {llvm.emit_c_interface}
    ```

    Every input, weight and output is a view into one of the three byte
    arenas, at an offset rounded up to 64 bytes, in argument (or result)
    order: inputs are [tokens, width] f32, weights have their static shapes
    and element types, outputs are [tokens, width] (or static) f32. The
    scratch arena holds the forward pass's temporary buffers once a
    target has placed them there (`moe-scratch-arena`). The model
    function becomes private so the inliner folds it into the entry point.
    The entry point records the parameter arena's size in
    `moe.param_bytes`, which the driver checks against the runtime's
    layout.

    When weights carry `moe.prepare_permutation`, or an argument
    concatenates weights (`moe.param_concat`, see `moe-concat-parameters`),
    the pass also adds

    ```
    func.func @moe_prepare(%raw: memref<?xi8>, %prepared: memref<?xi8>)
    ```

    which the runtime calls once after loading: it writes every weight into
    a second arena of the same size, permuted where asked. The prepared
    arena holds the weights in argument order too, each at a 64-byte
    boundary, but the parts of a concatenation follow one another without
    a gap where the first of them comes, and the forward pass reads the
    concatenation as one view there. It also adds

    ```
    func.func @moe_prepare_slice(%param: index, %slice: index,
                                 %raw: memref<?xi8>,
                                 %prepared: memref<?xi8>) -> index
    ```

    which does the same for one slice of one weight (one expert of a
    stacked weight whose permutation keeps the expert dimension first, or
    the whole weight) and returns the weight's number of slices, so that a
    runtime can load and lay out the weights a slice at a time (on the
    host: `prepare-slices=false` leaves it out for a GPU, whose runtime
    lays the whole arena out on the device).

    Private functions with a body (the outlined layers) get internal
    linkage, so the object exports the entry points alone, and those marked
    `no_inline` LLVM's `noinline`.
  }];
  let options = [
    Option<"prepareSlices", "prepare-slices", "bool", /*default=*/"true",
           "Add moe_prepare_slice beside moe_prepare">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def MoEScratchArenaPass : Pass<"moe-scratch-arena", "mlir::ModuleOp"> {
  let summary = "Place the forward pass's buffers in one caller-owned arena";
  let description = [{
    After bufferization, `moe_forward` allocates its temporary buffers with
    `memref.alloc` on every call: large ones are fresh pages each time (page
    faults and zeroing on every call). This pass gives every buffer
    allocated at the top level of `moe_forward` whose size follows from the
    token count alone (through pure arithmetic) a fixed place in the scratch
    arena (`moe_forward`'s last argument), one after another at 64-byte
    aligned offsets, and adds

    ```
    func.func @moe_scratch_bytes(%tokens: index) -> index
    ```

    which returns that arena's size for a token count, so the runtime
    allocates it once and reuses it for every call. Buffers whose size
    depends on data, or that are allocated inside a loop, keep their
    `memref.alloc`. Runs after one-shot bufferization and before the
    deallocation pipeline (views of the arena are never freed).

    The private functions `moe_forward` calls at its top level only (the
    layers `moe-outline-layers` made) run one at a time, so their buffers
    share one region after `moe_forward`'s own: each such function takes
    its part of the arena as a new last argument, and its top-level
    buffers sized by its index arguments and its memref arguments' sizes
    become views of it (a buffer it returns stays an allocation). Each
    call passes the bytes its operands make those buffers take, and
    `moe_scratch_bytes` adds the largest call's.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def MoEUntieSharedInitsPass : Pass<"moe-untie-shared-inits"> {
  let summary = "Give each use of a shared empty or zero-filled tensor its "
                "own copy";
  let description = [{
    CSE merges equal destination tensors: the zero-filled accumulators of
    two graph outputs (two `moe.combine` loops) become one `linalg.fill` of
    one `tensor.empty`, used twice. Empty-tensor elimination then places
    that shared tensor in the buffer of the first output, and one-shot
    bufferization lets the second computation accumulate there too: the
    analysis does not see the entry point's final copy into the first
    output's buffer, which overwrites the second result.

    This pass gives every use of a `tensor.empty` with several uses, and
    of a `linalg.fill` of a `tensor.empty` with several uses, its own
    `tensor.empty` (and fill), so that each destination has one user and
    empty-tensor elimination is sound. It costs nothing at run time: the
    shared tensor would have been copied for all uses but one.

    Example:
    ```mlir
    %e = tensor.empty(%n) : tensor<?x8xf32>
    %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
    %a = scf.for ... iter_args(%acc = %z) ...
    %b = scf.for ... iter_args(%acc = %z) ...
    ```
    becomes two `tensor.empty` + `linalg.fill` pairs, one for each loop.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // MOE_CODEGEN_COMMON_PASSES_TD
