/*===- ABI.h - The binary interface of a compiled moe-mlir model --*- C -*-===*\
|*                                                                            *|
|* Part of the moe-mlir project.                                              *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * The one definition of what an object moe-compile emits exports and
 * imports (docs/abi.md): the compiler builds the entry points and globals
 * with these names and layouts, and the runtime, or any program linking a
 * compiled model, calls them through these declarations. Plain C, so a C
 * program can include it.
 */

#ifndef MOE_ABI_ABI_H
#define MOE_ABI_ABI_H

#include <stdint.h>

/* The version of this interface. Each object exports it as
 * `moe_abi_version`; the runtime refuses an object of another version. It
 * changes whenever an entry point, a global or an arena layout below does. */
#define MOE_ABI_VERSION 5

/* Every tensor in a byte arena starts at a multiple of this many bytes. */
#define MOE_ABI_ARENA_ALIGNMENT 64

/* The symbols, by name. The entry points are exported through MLIR's C
 * interface: the symbol is MOE_ABI_CIFACE_PREFIX followed by the name. */
#define MOE_ABI_CIFACE_PREFIX "_mlir_ciface_"
#define MOE_ABI_FORWARD_NAME "moe_forward"
#define MOE_ABI_PREPARE_NAME "moe_prepare"
#define MOE_ABI_PREPARE_SLICE_NAME "moe_prepare_slice"
#define MOE_ABI_SCRATCH_BYTES_NAME "moe_scratch_bytes"
#define MOE_ABI_VERSION_NAME "moe_abi_version"
#define MOE_ABI_MODEL_JSON_NAME "moe_model_json"
#define MOE_ABI_MODEL_PATH_NAME "moe_model_path"
#define MOE_ABI_PARAM_BYTES_NAME "moe_param_bytes"
#define MOE_ABI_MODEL_SIGNATURE_NAME "moe_model_signature"
#define MOE_ABI_PROFILE_PHASE_NAME "moe_profile_phase"
#define MOE_ABI_TARGET_NAME "moe_target"
#define MOE_ABI_CPU_FEATURES_NAME "moe_cpu_features"

/* The values of moe_target. */
#define MOE_ABI_TARGET_CPU "cpu"
#define MOE_ABI_TARGET_NVPTX "nvptx"

/* The names moe_cpu_features lists (LLVM's names of the x86 features). */
#define MOE_ABI_CPU_FEATURE_AVX512BF16 "avx512bf16"
#define MOE_ABI_CPU_FEATURE_AMX_TILE "amx-tile"
#define MOE_ABI_CPU_FEATURE_AMX_BF16 "amx-bf16"

/* A byte arena as the entry points take it: MLIR's descriptor of a rank-1
 * memref of i8. */
typedef struct MoEArena {
  int8_t *allocated;
  int8_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} MoEArena;

/* The arguments of moe_forward, in order. */
enum MoEForwardArgument {
  MOE_FORWARD_TOKENS = 0,
  MOE_FORWARD_INPUTS,
  MOE_FORWARD_PARAMS,
  MOE_FORWARD_OUTPUTS,
  MOE_FORWARD_SCRATCH,
  MOE_FORWARD_NUM_ARGUMENTS
};

/* The entry points' types, for a program that finds them at run time. */
typedef void (*MoEForwardFunction)(int64_t tokens, MoEArena *inputs,
                                   MoEArena *params, MoEArena *outputs,
                                   MoEArena *scratch);
typedef int64_t (*MoEScratchBytesFunction)(int64_t tokens);
typedef void (*MoEPrepareFunction)(MoEArena *raw, MoEArena *prepared);
typedef int64_t (*MoEPrepareSliceFunction)(int64_t param, int64_t slice,
                                           MoEArena *raw, MoEArena *prepared);

#ifdef __cplusplus
extern "C" {
#endif

/* What the object exports. */

/* MOE_ABI_VERSION when the object was compiled. */
extern const uint32_t moe_abi_version;
/* The model's JSON text, the path it was read from (which resolves a
 * relative weights file), and the parameter arena's size in bytes. */
extern const char moe_model_json[];
extern const char moe_model_path[];
extern const uint64_t moe_param_bytes;
/* What the code was compiled for: widths and parameter shapes, one per
 * line. */
extern const char moe_model_signature[];
/* Where the compiled code runs: MOE_ABI_TARGET_CPU (the arenas are host
 * memory) or MOE_ABI_TARGET_NVPTX (the arenas are CUDA device memory; the
 * host code launches its kernels through the mgpu* functions of
 * runtime/lib/MGPURuntime.cpp). */
extern const char moe_target[];
/* The CPU features the code uses beyond the baseline its options assume,
 * comma-separated (MOE_ABI_CPU_FEATURE_*; empty for most models): the
 * runtime checks this CPU has each, and asks the kernel for the AMX tile
 * state before the first call when the list holds amx-tile. */
extern const char moe_cpu_features[];
/* Runs the model on `tokens` tokens. */
void _mlir_ciface_moe_forward(int64_t tokens, MoEArena *inputs,
                              MoEArena *params, MoEArena *outputs,
                              MoEArena *scratch);
/* The bytes of the scratch arena moe_forward needs for `tokens` tokens. */
int64_t moe_scratch_bytes(int64_t tokens);
/* Optional (weak: null when the model has none): lays the raw weights out
 * for the kernels, once, into a second arena of the same size. */
__attribute__((weak)) void _mlir_ciface_moe_prepare(MoEArena *raw,
                                                    MoEArena *prepared);
/* Present with moe_prepare: lays out slice `slice` of weight `param` (in
 * the parameter arena's order) and returns how many slices that weight
 * has (a `slice` out of range lays out nothing). A slice is a contiguous
 * run of bytes in the raw arena, one expert of a stacked weight or the
 * whole weight; the prepared arena holds the weights in the compiled
 * code's own order, so its bytes may land elsewhere there. */
__attribute__((weak)) int64_t
_mlir_ciface_moe_prepare_slice(int64_t param, int64_t slice, MoEArena *raw,
                               MoEArena *prepared);

/* What the object imports: defined by the program that links it. Called
 * before (`begin` 1) and after (`begin` 0) each step of a MoE layer, with
 * the step's number (runtime/include/moe/Runtime/ProfilePhases.h). */
void moe_profile_phase(int32_t phase, int32_t begin);

#ifdef __cplusplus
}
#endif

#endif /* MOE_ABI_ABI_H */
