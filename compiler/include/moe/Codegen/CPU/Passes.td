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

def MoECPUEntryABIPass : Pass<"moe-cpu-entry-abi", "mlir::ModuleOp"> {
  let summary = "Wrap the model function in the arena entry-point ABI";
  let description = [{
    Finds the function marked `moe.entry` (inputs carry a `moe.input`
    argument attribute, weights a `moe.param` one) and adds the entry point
    the runtime calls, with one fixed C signature for every model:

    ```
    func.func @moe_forward(%tokens: index, %inputs: memref<?xi8>,
                           %params: memref<?xi8>, %outputs: memref<?xi8>)
        attributes {llvm.emit_c_interface}
    ```

    Every input, weight and output is a view into one of the three byte
    arenas, at an offset rounded up to 64 bytes, in argument (or result)
    order: inputs are [tokens, width] f32, weights have their static shapes
    and element types, outputs are [tokens, width] (or static) f32. The model
    function becomes private so the inliner folds it into the entry point.
    The entry point records the parameter arena's size in
    `moe.param_bytes`, which the driver checks against the runtime's
    layout.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

#endif // MOE_CODEGEN_CPU_PASSES_TD
