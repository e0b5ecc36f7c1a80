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
