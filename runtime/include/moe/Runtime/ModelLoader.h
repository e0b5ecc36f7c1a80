//===- ModelLoader.h - A compiled model with its weights --------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// What the executable's main and the embedding library (moe-compile
// --emit=lib) both do before running a compiled model: check its ABI,
// resolve its description against the weights it is given, check that
// against what the code was compiled for, pick the backend of its target
// and load the weights there in the code's layout (from safetensors a
// slice at a time, or mapped from a prepared file).
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_MODELLOADER_H
#define MOE_RUNTIME_MODELLOADER_H

#include "moe/ABI/ABI.h"
#include "moe/Runtime/Backend.h"

#include <memory>
#include <string>
#include <vector>

namespace moe {

/// What a compiled model object exports (ABI.h), as the program that links
/// it sees it.
struct CompiledModel {
  uint32_t abiVersion = 0;
  const char *json = nullptr, *path = nullptr, *signature = nullptr,
             *target = nullptr, *cpuFeatures = nullptr;
  uint64_t paramBytes = 0;
  EntryPoints entryPoints;
  /// Null when the model lays nothing out at load time.
  MoEPrepareSliceFunction prepareSlice = nullptr;
  /// The identity of the binary holding the code, which prepared weights
  /// files name (fileIdentity of the executable or library).
  std::string build;
};

/// The model object linked into this program, as ABI.h declares it; only a
/// program that links one may call this. `build` names the binary.
inline CompiledModel linkedCompiledModel(std::string build) {
  CompiledModel compiled;
  compiled.abiVersion = moe_abi_version;
  compiled.json = moe_model_json;
  compiled.path = moe_model_path;
  compiled.signature = moe_model_signature;
  compiled.target = moe_target;
  compiled.cpuFeatures = moe_cpu_features;
  compiled.paramBytes = moe_param_bytes;
  compiled.entryPoints = {_mlir_ciface_moe_forward, moe_scratch_bytes,
                          _mlir_ciface_moe_prepare};
  compiled.prepareSlice = _mlir_ciface_moe_prepare_slice;
  compiled.build = std::move(build);
  return compiled;
}

/// A compiled model with its weights loaded on its backend.
struct LoadedModel {
  ModelSpec spec;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<DeviceArena> params;
};

/// The offsets of tensors of `bytes` each, one after another at 64-byte
/// aligned offsets, as the arenas lay them out (docs/abi.md); `total`
/// receives the arena's size.
std::vector<uint64_t> layoutArena(const std::vector<uint64_t> &bytes,
                                  uint64_t &total);

/// The input arena's size for `tokens` tokens; `offsets` receives each
/// input's offset.
uint64_t inputArenaBytes(const ModelSpec &model, int64_t tokens,
                         std::vector<uint64_t> &offsets);

/// The output arena's size for `tokens` tokens; `offsets` receives each
/// output's offset.
uint64_t outputArenaBytes(const ModelSpec &model, int64_t tokens,
                          std::vector<uint64_t> &offsets);

/// The FNV-1a hash of the file at `path`, as text ("fnv1a64:..."), or an
/// empty string when it cannot be read.
std::string fileIdentity(const std::string &path);

/// Loads `compiled` with `weights` (empty: the weights its JSON names; else
/// a safetensors file, a Hugging Face index or a prepared file). On failure
/// returns false with a message in `error`: the model library's are
/// complete diagnostics (`FILE: error: ...`), the loader's own read
/// `WHO: error: ...`.
bool loadCompiledModel(const CompiledModel &compiled,
                       const std::string &weights, const std::string &who,
                       LoadedModel &loaded, std::string &error,
                       const LoadProgress &progress = nullptr);

/// Writes `loaded`'s parameters, as the compiled code reads them, to the
/// prepared weights file `path`.
bool savePreparedWeights(const CompiledModel &compiled, LoadedModel &loaded,
                         const std::string &path, std::string &error);

} // namespace moe

#endif // MOE_RUNTIME_MODELLOADER_H
