//===- X86VectorInlining.cpp - Inlining x86vector ops -----------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Upstream's x86vector dialect has no inliner interface, so the inliner
// keeps any function holding one of its ops as a call. moe-cpu-bf16-dot
// puts `x86vector.avx512.dot` in the model function when a linear node's
// weights are BF16, and the entry-point stage must inline that function
// into moe_forward. The ops are register-to-register intrinsics without
// regions: inlining them anywhere is legal.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/CPU/Passes.h"

#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;

namespace {
struct X86VectorInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;

  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void mlir::moe::registerCPUCodegenDialectExtensions(DialectRegistry &registry) {
  registry.addExtension(
      +[](MLIRContext *, x86vector::X86VectorDialect *dialect) {
        dialect->addInterfaces<X86VectorInlinerInterface>();
      });
}
