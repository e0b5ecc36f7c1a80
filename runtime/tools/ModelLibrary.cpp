//===- ModelLibrary.cpp - The C interface of a compiled model -------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The functions of moe_model.h, which `moe-compile --emit=lib` links with a
// compiled model into a shared library. Like the executable's main, they
// reach the compiled code through moe::loadCompiledModel and the backend
// of its target; every model handle has its own weights and buffers.
//
//===----------------------------------------------------------------------===//

#include "moe/moe_model.h"

#include "moe/ABI/ABI.h"
#include "moe/Runtime/ModelLoader.h"

#include <dlfcn.h>
#include <new>
#include <string>
#include <vector>

extern "C" {
/// OpenMP's thread count, present when the model uses threads.
__attribute__((weak)) void omp_set_num_threads(int threads);

/// The compiled code's profile hook (ABI.h): the library does not profile.
__attribute__((visibility("default"))) void moe_profile_phase(int32_t,
                                                              int32_t) {}
}

struct moe_model {
  moe::CompiledModel compiled;
  moe::LoadedModel loaded;
  std::string error;
  /// The buffers of the last call's token count, reused by the next (the
  /// inputs copied in): a call allocates nothing, and on a GPU with CUDA
  /// graphs replays the graph of the call before.
  int64_t tokens = -1;
  std::vector<uint64_t> inputOffsets, outputOffsets;
  std::unique_ptr<moe::DeviceArena> inputs, outputs, scratch;
};

namespace {

thread_local std::string loadError;

/// This library's own file, which names its build in prepared files.
std::string libraryPath() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&moe_model_load), &info) &&
      info.dli_fname)
    return info.dli_fname;
  return std::string();
}

bool validInput(const moe_model *model, int index) {
  return model && index >= 0 &&
         index < static_cast<int>(model->loaded.spec.inputs.size());
}
bool validOutput(const moe_model *model, int index) {
  return model && index >= 0 &&
         index < static_cast<int>(model->loaded.spec.outputs.size());
}

int failed(moe_model *model, const std::string &message) {
  model->error = message;
  return -1;
}

} // namespace

extern "C" {

moe_model *moe_model_load(const char *weights) {
  auto *model = new (std::nothrow) moe_model();
  if (!model) {
    loadError = "moe_model_load: error: out of memory";
    return nullptr;
  }
  std::string self = libraryPath();
  model->compiled = moe::linkedCompiledModel(moe::fileIdentity(self));
  const moe::CompiledModel &compiled = model->compiled;
  std::string error;
  if (!moe::loadCompiledModel(compiled, weights ? weights : "",
                              self.empty() ? "moe_model_load"
                                           : moe::pathForMessage(self),
                              model->loaded, error)) {
    loadError = error;
    delete model;
    return nullptr;
  }
  loadError.clear();
  return model;
}

const char *moe_model_load_error(void) { return loadError.c_str(); }

void moe_model_free(moe_model *model) { delete model; }

const char *moe_model_error(const moe_model *model) {
  return model ? model->error.c_str() : "";
}

int moe_model_num_inputs(const moe_model *model) {
  return model ? static_cast<int>(model->loaded.spec.inputs.size()) : 0;
}
const char *moe_model_input_name(const moe_model *model, int index) {
  return validInput(model, index)
             ? model->loaded.spec.inputs[index].name.c_str()
             : nullptr;
}
int64_t moe_model_input_width(const moe_model *model, int index) {
  return validInput(model, index) ? model->loaded.spec.inputs[index].width
                                  : -1;
}

int moe_model_num_outputs(const moe_model *model) {
  return model ? static_cast<int>(model->loaded.spec.outputs.size()) : 0;
}
const char *moe_model_output_name(const moe_model *model, int index) {
  return validOutput(model, index)
             ? model->loaded.spec.outputs[index].name.c_str()
             : nullptr;
}
int64_t moe_model_output_width(const moe_model *model, int index) {
  return validOutput(model, index) ? model->loaded.spec.outputs[index].width
                                   : -1;
}
int64_t moe_model_output_rows(const moe_model *model, int index,
                              int64_t tokens) {
  if (!validOutput(model, index))
    return -1;
  return model->loaded.spec.outputs[index].perToken ? tokens : 1;
}

int moe_model_set_threads(moe_model *model, int threads) {
  if (threads > 0 && omp_set_num_threads)
    omp_set_num_threads(threads);
  return 0;
}

int moe_model_use_cuda_graphs(moe_model *model) {
  if (!model)
    return -1;
  std::string error;
  if (!model->loaded.backend->useGraphs(error))
    return failed(model, "moe_model_use_cuda_graphs: error: " + error);
  model->error.clear();
  return 0;
}

int moe_model_forward(moe_model *model, int64_t tokens,
                      const float *const *inputs, float *const *outputs) {
  if (!model)
    return -1;
  if (tokens < 0)
    return failed(model, "moe_model_forward: error: a negative token count (" +
                             std::to_string(tokens) + ")");
  if ((!inputs && !model->loaded.spec.inputs.empty()) ||
      (!outputs && !model->loaded.spec.outputs.empty()))
    return failed(model, "moe_model_forward: error: no input or output "
                         "array list");
  moe::Backend &backend = *model->loaded.backend;
  const moe::ModelSpec &spec = model->loaded.spec;
  std::string error;
  if (tokens != model->tokens) {
    // The last count's buffers go first: a GPU may not hold both.
    model->inputs.reset();
    model->outputs.reset();
    model->scratch.reset();
    model->inputs = backend.allocate(
        moe::inputArenaBytes(spec, tokens, model->inputOffsets), error);
    model->outputs =
        model->inputs
            ? backend.allocate(
                  moe::outputArenaBytes(spec, tokens, model->outputOffsets),
                  error)
            : nullptr;
    model->scratch = model->outputs
                         ? backend.allocate(backend.scratchBytes(tokens), error)
                         : nullptr;
    if (!model->inputs || !model->outputs || !model->scratch) {
      model->tokens = -1;
      return failed(model, "moe_model_forward: error: no memory on " +
                               backend.name() + " for " +
                               std::to_string(tokens) + " tokens: " + error);
    }
    model->tokens = tokens;
  }
  for (size_t i = 0; i < spec.inputs.size(); ++i)
    if (!backend.copyIn(*model->inputs, model->inputOffsets[i], inputs[i],
                        static_cast<uint64_t>(tokens) * spec.inputs[i].width *
                            sizeof(float),
                        error))
      return failed(model, "moe_model_forward: error: " + error);
  if (!backend.forward(tokens, *model->inputs, *model->loaded.params,
                       *model->outputs, *model->scratch, error) ||
      !backend.synchronize(error))
    return failed(model, "moe_model_forward: error: running the model on " +
                             backend.name() + ": " + error);
  for (size_t i = 0; i < spec.outputs.size(); ++i) {
    uint64_t rows = spec.outputs[i].perToken ? tokens : 1;
    if (!backend.download(*model->outputs, model->outputOffsets[i], outputs[i],
                          rows * spec.outputs[i].width * sizeof(float), error))
      return failed(model, "moe_model_forward: error: " + error);
  }
  model->error.clear();
  return 0;
}

int moe_model_save_prepared(moe_model *model, const char *path) {
  if (!model)
    return -1;
  std::string error;
  if (!path || !moe::savePreparedWeights(model->compiled, model->loaded, path,
                                         error))
    return failed(model, path ? error
                              : "moe_model_save_prepared: error: no path");
  model->error.clear();
  return 0;
}

} // extern "C"
