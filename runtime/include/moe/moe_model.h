/*===- moe_model.h - The C interface of a compiled model library -*- C -*-===*\
|*                                                                            *|
|* Part of the moe-mlir project.                                              *|
|*                                                                            *|
|*===----------------------------------------------------------------------===*|
|*                                                                            *|
|* `moe-compile --emit=lib MODEL.json -o libmodel.so` gives a shared library  *|
|* with this interface (and writes this header beside it). Every model's      *|
|* library exports the same functions; a program links the one it runs, or   *|
|* loads it with dlopen. Arrays are float32, C order, owned by the caller.    *|
|* docs/embedding.md has an example.                                          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MOE_MODEL_H
#define MOE_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded model: its weights, and the buffers of its calls. */
typedef struct moe_model moe_model;

/* Loads the model with `weights`: a safetensors file, a Hugging Face index
 * (model.safetensors.index.json) or a file moe_model_save_prepared wrote;
 * with NULL, the weights its JSON names. Returns NULL on failure, and
 * moe_model_load_error() says why. */
moe_model *moe_model_load(const char *weights);

/* The message of the calling thread's last failed moe_model_load. */
const char *moe_model_load_error(void);

/* Frees `model` (NULL is ignored). */
void moe_model_free(moe_model *model);

/* The message of the last failed call on `model`, or "". */
const char *moe_model_error(const moe_model *model);

/* The graph inputs, in order: each [tokens, width]. */
int moe_model_num_inputs(const moe_model *model);
const char *moe_model_input_name(const moe_model *model, int index);
int64_t moe_model_input_width(const moe_model *model, int index);

/* The graph outputs, in order: each [rows, width], where rows is the token
 * count, or 1 for a value of the whole call (an aux loss, expert counts). */
int moe_model_num_outputs(const moe_model *model);
const char *moe_model_output_name(const moe_model *model, int index);
int64_t moe_model_output_width(const moe_model *model, int index);
int64_t moe_model_output_rows(const moe_model *model, int index,
                              int64_t tokens);

/* The threads later calls use (0: every core). The results do not depend
 * on it. It sets the process's OpenMP thread count. Returns 0. */
int moe_model_set_threads(moe_model *model, int threads);

/* A model compiled with --target=nvptx: later calls replay their kernels
 * as one CUDA graph, captured at the first call with a token count (and
 * again after a call with another count). Returns 0, or -1 with
 * moe_model_error set (a CPU model; a driver without graphs). */
int moe_model_use_cuda_graphs(moe_model *model);

/* Runs the model on `tokens` tokens (any count, 0 included): inputs[i]
 * holds [tokens, input width i], outputs[i] receives [output rows i,
 * output width i]. Returns 0, or -1 with moe_model_error set. One call at
 * a time on a model; calls on different models may run at the same
 * time. */
int moe_model_forward(moe_model *model, int64_t tokens,
                      const float *const *inputs, float *const *outputs);

/* Writes the model's weights as the compiled code reads them, for a later
 * moe_model_load(path) of this same library. Returns 0, or -1. */
int moe_model_save_prepared(moe_model *model, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* MOE_MODEL_H */
