//===- ModelLoader.cpp - A compiled model with its weights ----------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements loadCompiledModel and savePreparedWeights, shared by
// the executable's main and the embedding library.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/ModelLoader.h"
#include "moe/Runtime/CPUFeatures.h"
#include "moe/Runtime/PreparedWeights.h"

#include "Support.h"

#include <fstream>
#include <vector>

namespace moe {

std::vector<uint64_t> layoutArena(const std::vector<uint64_t> &bytes,
                                  uint64_t &total) {
  std::vector<uint64_t> offsets;
  total = 0;
  for (uint64_t size : bytes) {
    offsets.push_back(total);
    total = alignArenaOffset(total + size);
  }
  return offsets;
}

uint64_t inputArenaBytes(const ModelSpec &model, int64_t tokens,
                         std::vector<uint64_t> &offsets) {
  std::vector<uint64_t> sizes;
  for (const InputSpec &input : model.inputs)
    sizes.push_back(static_cast<uint64_t>(tokens) * input.width *
                    sizeof(float));
  uint64_t bytes = 0;
  offsets = layoutArena(sizes, bytes);
  return bytes;
}

uint64_t outputArenaBytes(const ModelSpec &model, int64_t tokens,
                          std::vector<uint64_t> &offsets) {
  std::vector<uint64_t> sizes;
  for (const OutputSpec &output : model.outputs) {
    uint64_t rows = output.perToken ? static_cast<uint64_t>(tokens) : 1;
    sizes.push_back(rows * output.width * sizeof(float));
  }
  uint64_t bytes = 0;
  offsets = layoutArena(sizes, bytes);
  return bytes;
}

std::string fileIdentity(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return std::string();
  uint64_t hash = kFnv1a64Basis;
  std::vector<char> chunk(1 << 20);
  while (file) {
    file.read(chunk.data(), chunk.size());
    hash = fnv1a64(chunk.data(), static_cast<size_t>(file.gcount()), hash);
  }
  char text[32];
  std::snprintf(text, sizeof(text), "fnv1a64:%016llx",
                static_cast<unsigned long long>(hash));
  return text;
}

bool loadCompiledModel(const CompiledModel &compiled,
                       const std::string &weights, const std::string &who,
                       LoadedModel &loaded, std::string &error,
                       const LoadProgress &progress) {
  auto fail = [&](const std::string &text) {
    error = who + ": error: " + text;
    return false;
  };
  auto quotePath = [](const std::string &path) {
    return "'" + pathForMessage(path) + "'";
  };
  // A signature as the compiled model holds it: one line each.
  auto joined = [](const std::vector<std::string> &lines) {
    std::string text;
    for (const std::string &line : lines)
      text += line + "\n";
    return text;
  };
  // An object compiled for another interface would be called wrongly.
  if (compiled.abiVersion != MOE_ABI_VERSION)
    return fail("the model was compiled for ABI version " +
                std::to_string(compiled.abiVersion) +
                ", but this runtime implements version " +
                std::to_string(MOE_ABI_VERSION) +
                "; compile it again with this moe-compile");
  // Code for a feature this CPU lacks would stop on an illegal
  // instruction; AMX needs the kernel's permission first.
  if (compiled.cpuFeatures && *compiled.cpuFeatures &&
      !enableCPUFeatures(compiled.cpuFeatures, error))
    return fail(error);

  // Prepared weights (--save-prepared) name their source tensors, which
  // resolve the model without the files they came from.
  ModelSpec &model = loaded.spec;
  bool prepared = !weights.empty() && isPreparedWeightsFile(weights);
  PreparedHeader preparedHeader;
  std::shared_ptr<MappedFile> preparedFile;
  uint64_t preparedOffset = 0;
  if (prepared) {
    if (!openPreparedWeights(weights, preparedHeader, preparedFile,
                             preparedOffset, error))
      return false;
    if (joined(preparedHeader.signature) != compiled.signature)
      return fail(quotePath(weights) +
                  " holds the prepared weights of another model; this one "
                  "was compiled for other widths, weights or dtypes");
    if (preparedHeader.build != compiled.build ||
        preparedHeader.target != compiled.target)
      return fail(quotePath(weights) +
                  " was prepared by another build of this model (another "
                  "moe-compile, other options or another target), whose "
                  "weight layout may differ; write it again with this "
                  "executable's --save-prepared");
    if (preparedHeader.paramBytes != compiled.paramBytes)
      return fail(quotePath(weights) + " holds " +
                  std::to_string(preparedHeader.paramBytes) +
                  " bytes of weights; the model needs " +
                  std::to_string(compiled.paramBytes));
    if (!parseModelSpec(compiled.json, compiled.path, model, error))
      return false;
    model.weights.files = {weights};
    if (!resolveModelSpec(model, &preparedHeader.tensors, error))
      return false;
  } else if (!parseModelSpec(compiled.json, compiled.path, model, error) ||
             !resolveModelSpecWithWeights(model, weights, error)) {
    return false;
  }
  // Every width and weight shape must be the one the code was compiled
  // for; otherwise the code would read and write out of bounds.
  std::string compiledSignature = compiled.signature,
              given = joined(moe::compiledSignature(model));
  if (given != compiledSignature || model.paramBytes != compiled.paramBytes) {
    size_t at = 0;
    while (at < given.size() && at < compiledSignature.size() &&
           given[at] == compiledSignature[at])
      ++at;
    auto lineAt = [&](const std::string &text) {
      size_t begin = text.rfind('\n', at ? at - 1 : 0);
      begin = (begin == std::string::npos || at == 0) ? 0 : begin + 1;
      return text.substr(begin, text.find('\n', begin) - begin);
    };
    return fail("the weights in " +
                (model.weights.files.size() == 1
                     ? quotePath(model.weights.files.front())
                     : model.weights.describe()) +
                " do not match the compiled model: it was compiled for " +
                quoteForMessage(lineAt(compiledSignature)) +
                ", the weights give " + quoteForMessage(lineAt(given)));
  }

  // The compiled code runs on the host, or launches its kernels on a GPU.
  std::string target = compiled.target;
  if (target == MOE_ABI_TARGET_NVPTX) {
    loaded.backend = createCUDABackend(compiled.entryPoints, error);
    if (!loaded.backend)
      return fail("no GPU to run this model on, which was compiled for "
                  "NVIDIA GPUs (--target=nvptx): " +
                  error);
  } else if (target == MOE_ABI_TARGET_CPU) {
    loaded.backend = createCPUBackend(compiled.entryPoints);
  } else {
    return fail("the model was compiled for an unknown target '" + target +
                "'");
  }
  Backend &backend = *loaded.backend;
  std::unique_ptr<DeviceArena> &params = loaded.params;
  // Whether the weights are already in the compiled code's layout.
  bool laidOut = prepared;
  if (prepared) {
    // Mapped, not copied; on the CPU read once now (disk-bound) so that the
    // first call does not fault them in. (A GPU backend reads them as it
    // copies them up.)
    volatile uint8_t sink = 0;
    const uint8_t *bytes = preparedFile->data() + preparedOffset;
    constexpr uint64_t kPage = 4096, kChunk = 64u << 20;
    uint64_t toRead =
        target == MOE_ABI_TARGET_CPU ? preparedHeader.paramBytes : 0;
    for (uint64_t done = 0; done < toRead;) {
      uint64_t end = std::min(done + kChunk, preparedHeader.paramBytes);
      for (; done < end; done += kPage)
        sink = sink + bytes[done];
      done = end;
      if (progress)
        progress(done, preparedHeader.paramBytes);
    }
    params = backend.mapHost(preparedFile, preparedOffset,
                             preparedHeader.paramBytes, error);
  } else if (target == MOE_ABI_TARGET_CPU && compiled.entryPoints.prepare &&
             compiled.prepareSlice) {
    // Read and laid out a slice at a time: one arena resident, not two.
    AlignedBuffer preparedParams;
    uint64_t arenaBytes = compiled.paramBytes;
    MoEPrepareSliceFunction function = compiled.prepareSlice;
    auto prepareSlice = [function, arenaBytes](int64_t param, int64_t slice,
                                               uint8_t *raw,
                                               uint8_t *prepared) {
      MoEArena rawRef = arenaDescriptor(raw, arenaBytes),
               preparedRef = arenaDescriptor(prepared, arenaBytes);
      return function(param, slice, &rawRef, &preparedRef);
    };
    if (!loadPreparedParameterArena(model, prepareSlice, preparedParams,
                                    error, progress))
      return false;
    params = backend.upload(std::move(preparedParams), error);
    laidOut = true;
  } else {
    AlignedBuffer rawParams;
    if (!loadParameterArena(model, rawParams, error, progress))
      return false;
    params = backend.upload(std::move(rawParams), error);
  }
  if (!params)
    return fail("loading the weights onto " + backend.name() + ": " + error);
  if (backend.hasPrepare() && !laidOut) {
    std::unique_ptr<DeviceArena> preparedParams =
        backend.allocate(params->size(), error);
    if (!preparedParams || !backend.prepare(*params, *preparedParams, error) ||
        !backend.synchronize(error))
      return fail("preparing " + std::to_string(params->size()) +
                  " bytes of weights on " + backend.name() + ": " + error);
    params = std::move(preparedParams);
  }
  return true;
}

bool savePreparedWeights(const CompiledModel &compiled, LoadedModel &loaded,
                         const std::string &path, std::string &error) {
  PreparedHeader header;
  header.build = compiled.build;
  header.target = compiled.target;
  header.signature = compiledSignature(loaded.spec);
  header.tensors = parameterSourceTensors(loaded.spec);
  header.paramBytes = loaded.params->size();
  return writePreparedWeights(
      path, header,
      [&](uint64_t offset, uint8_t *buffer, uint64_t bytes,
          std::string &readError) {
        return loaded.backend->download(*loaded.params, offset, buffer, bytes,
                                        readError);
      },
      error);
}

} // namespace moe
