//===- EntryABI.h - The entry points' ABI in the compiler -------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What every target's entry points (`moe-entry-abi`) and scratch placement
// share: the names and arena layout of runtime/include/moe/ABI/ABI.h, as
// the compiler uses them.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_CODEGEN_COMMON_ENTRYABI_H
#define MOE_CODEGEN_COMMON_ENTRYABI_H

#include "moe/ABI/ABI.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir {
namespace moe {

/// Name of the entry point every compiled model exports.
constexpr const char kForwardEntryName[] = MOE_ABI_FORWARD_NAME;
/// Name of the load-time weight preparation entry point.
constexpr const char kPrepareEntryName[] = MOE_ABI_PREPARE_NAME;
/// Name of the entry point preparing one slice of one weight.
constexpr const char kPrepareSliceEntryName[] = MOE_ABI_PREPARE_SLICE_NAME;
/// Alignment of every tensor in a byte arena (docs/abi.md).
constexpr int64_t kArenaAlignment = MOE_ABI_ARENA_ALIGNMENT;
/// The bytes an element of `type` takes in memory (i1 takes a byte, index
/// eight), or 0 when it has no place in a byte arena.
int64_t arenaElementBytes(Type type);
/// Builds the bytes a buffer of `type` (dynamic sizes `dynamicSizes`) takes
/// in a byte arena, rounded up to `kArenaAlignment`: the step from its
/// offset to the next tensor's.
Value buildArenaBytes(OpBuilder &b, Location loc, MemRefType type,
                      ValueRange dynamicSizes);
/// Name of the function that gives the scratch arena's size for T tokens.
constexpr const char kScratchBytesName[] = MOE_ABI_SCRATCH_BYTES_NAME;
/// Arguments of `moe_forward`: the token count, then the byte arenas.
enum ForwardArgument : unsigned {
  kForwardTokens = MOE_FORWARD_TOKENS,
  kForwardInputs = MOE_FORWARD_INPUTS,
  kForwardParams = MOE_FORWARD_PARAMS,
  kForwardOutputs = MOE_FORWARD_OUTPUTS,
  kForwardScratch = MOE_FORWARD_SCRATCH,
  kForwardNumArguments = MOE_FORWARD_NUM_ARGUMENTS
};
} // namespace moe
} // namespace mlir

#endif // MOE_CODEGEN_COMMON_ENTRYABI_H
