//===- ModelMain.cpp - main() of compiled model executables -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The command-line front of every executable moe-compile links:
//
//   OUT [--input X.npy]... [--output Y.npy] [--outputs DIR] [--weights FILE]
//       [--tokens T] [--seed S] [--bench N] [--threads N]
//
// It loads the model description embedded by moe-compile, binds the weights
// into the parameter arena, lays out the input and output arenas and calls
// the compiled `moe_forward` (docs/abi.md). It carries no model math.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Inputs.h"
#include "moe/Runtime/ModelSpec.h"
#include "moe/Runtime/Npy.h"
#include "moe/Runtime/Safetensors.h"
#include "moe/Runtime/Weights.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace {

/// The descriptor of a rank-1 memref, as MLIR's C interface passes it.
struct MemRef1D {
  int8_t *allocated;
  int8_t *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
};

} // namespace

extern "C" {
/// Embedded by moe-compile: the model's JSON text, the path it was read
/// from, and the size of the parameter arena the code was compiled for.
extern const char moe_model_json[];
extern const char moe_model_path[];
extern const uint64_t moe_param_bytes;
/// What the code was compiled for: widths and parameter shapes, one per
/// line (moe::compiledSignature).
extern const char moe_model_signature[];
/// The compiled entry point.
void _mlir_ciface_moe_forward(int64_t tokens, MemRef1D *inputs,
                              MemRef1D *params, MemRef1D *outputs);
/// The load-time weight preparation, when the model has one: it writes the
/// weights into a second arena of the same layout in the kernels' layout.
__attribute__((weak)) void _mlir_ciface_moe_prepare(MemRef1D *raw,
                                                    MemRef1D *prepared);
/// OpenMP's thread count, present when the model uses threads.
__attribute__((weak)) void omp_set_num_threads(int threads);
}

namespace {

std::string programName = "model";

/// User text and paths in messages: quoted and cut, as the library does.
std::string quote(const std::string &text) {
  return moe::quoteForMessage(text);
}
std::string quotePath(const std::string &path) {
  return "'" + moe::pathForMessage(path) + "'";
}

int fail(const std::string &message) {
  std::fprintf(stderr, "%s: error: %s\n", programName.c_str(),
               message.c_str());
  return 1;
}

/// Prints a message of the runtime library, which is already a complete
/// diagnostic (`FILE: error: ...`).
int failWith(const std::string &diagnostic) {
  std::fprintf(stderr, "%s\n", diagnostic.c_str());
  return 1;
}

/// The offsets of tensors of `bytes` each, one after another at 64-byte
/// aligned offsets, as the arenas lay them out (docs/abi.md); `total` is the
/// arena's size.
std::vector<uint64_t> layoutArena(const std::vector<uint64_t> &bytes,
                                  uint64_t &total) {
  std::vector<uint64_t> offsets;
  total = 0;
  for (uint64_t size : bytes) {
    offsets.push_back(total);
    total = moe::alignArenaOffset(total + size);
  }
  return offsets;
}

MemRef1D describe(moe::AlignedBuffer &buffer) {
  auto *data = reinterpret_cast<int8_t *>(buffer.data());
  return MemRef1D{data, data, 0, {static_cast<int64_t>(buffer.size())}, {1}};
}

struct Options {
  /// One .npy file per graph input, in the model's order.
  std::vector<std::string> inputs;
  std::string output, outputsDir, weights;
  int64_t tokens = 16;
  uint64_t seed = 0;
  int64_t bench = 0;
  int64_t threads = 0;
};

void printUsage() {
  std::printf(
      "usage: %s [--input X.npy]... [--output Y.npy] [--outputs DIR]\n"
      "          [--weights FILE] [--tokens T] [--seed S] [--bench N]\n"
      "          [--threads N]\n\n"
      "Runs the compiled moe-graph model on X ([tokens, width] float32, C\n"
      "order; one --input per graph input, in the model's order) and writes\n"
      "the first output to Y, or every output to DIR/NAME.npy. Without\n"
      "--input it runs on a seeded random input of T tokens (default 16;\n"
      "input i from seed S + i) and prints a summary. --weights replaces the\n"
      "weights file the model names; --bench N times N calls; --threads N\n"
      "sets the number of threads (default: every core; the results do not\n"
      "depend on it).\n",
      programName.c_str());
}

bool parseInt(const char *text, int64_t &value) {
  char *end = nullptr;
  errno = 0;
  long long parsed = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || parsed < 0)
    return false;
  value = parsed;
  return true;
}

/// Parses the command line; returns -1 to go on, else an exit code.
int parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      printUsage();
      return 0;
    }
    if (i + 1 >= argc)
      return fail("option " + quote(arg) + " needs a value (see --help)");
    const char *value = argv[++i];
    int64_t number = 0;
    if (arg == "--input")
      options.inputs.push_back(value);
    else if (arg == "--output")
      options.output = value;
    else if (arg == "--outputs")
      options.outputsDir = value;
    else if (arg == "--weights")
      options.weights = value;
    else if (arg == "--tokens" || arg == "--seed" || arg == "--bench" ||
             arg == "--threads") {
      if (!parseInt(value, number))
        return fail("option " + quote(arg) +
                    " needs a non-negative integer, got " + quote(value));
      if (arg == "--tokens")
        options.tokens = number;
      else if (arg == "--seed")
        options.seed = static_cast<uint64_t>(number);
      else if (arg == "--threads")
        options.threads = number;
      else
        options.bench = number;
    } else {
      return fail("unknown option " + quote(arg) + " (see --help)");
    }
  }
  return -1;
}

} // namespace

int main(int argc, char **argv) {
  programName = argc > 0 ? moe::pathForMessage(argv[0]) : "model";
  Options options;
  if (int status = parseOptions(argc, argv, options); status >= 0)
    return status;

  if (options.threads > 0 && omp_set_num_threads)
    omp_set_num_threads(static_cast<int>(options.threads));

  // The model as compiled, resolved against its weights file (or the one
  // given with --weights).
  moe::ModelSpec model;
  std::string error;
  if (!moe::parseModelSpec(moe_model_json, moe_model_path, model, error) ||
      !moe::resolveModelSpecWithWeights(model, options.weights, error))
    return failWith(error);
  // Every width and weight shape must be the one the code was compiled
  // for; otherwise the code would read and write out of bounds.
  std::string compiled = moe_model_signature, given;
  for (const std::string &line : moe::compiledSignature(model))
    given += line + "\n";
  if (given != compiled || model.paramBytes != moe_param_bytes) {
    size_t at = 0;
    while (at < given.size() && at < compiled.size() &&
           given[at] == compiled[at])
      ++at;
    auto lineAt = [&](const std::string &text) {
      size_t begin = text.rfind('\n', at ? at - 1 : 0);
      begin = (begin == std::string::npos || at == 0) ? 0 : begin + 1;
      return text.substr(begin, text.find('\n', begin) - begin);
    };
    return fail("the weights in " + quotePath(model.weights.file) +
                " do not match the compiled model: it was compiled for " +
                quote(lineAt(compiled)) + ", the weights give " +
                quote(lineAt(given)));
  }
  moe::AlignedBuffer params;
  if (!moe::loadParameterArena(model, params, error))
    return failWith(error);
  if (_mlir_ciface_moe_prepare) {
    moe::AlignedBuffer prepared(params.size());
    if (!prepared)
      return fail("out of memory preparing " + std::to_string(params.size()) +
                  " bytes of weights");
    MemRef1D rawRef = describe(params), preparedRef = describe(prepared);
    _mlir_ciface_moe_prepare(&rawRef, &preparedRef);
    params = std::move(prepared);
  }

  // The inputs: files, or the seeded random input; the arena holds them in
  // the model's order, each at a 64-byte aligned offset (docs/abi.md).
  std::vector<moe::Array2D> inputArrays;
  if (!moe::loadModelInputs(model, options.inputs, options.tokens,
                            options.seed, inputArrays, error))
    return failWith(error);
  int64_t tokens = inputArrays.empty() ? options.tokens : inputArrays[0].rows;

  std::vector<uint64_t> inputSizes, outputSizes;
  for (const moe::Array2D &input : inputArrays)
    inputSizes.push_back(input.values.size() * sizeof(float));
  for (const moe::OutputSpec &output : model.outputs) {
    uint64_t rows = output.perToken ? static_cast<uint64_t>(tokens) : 1;
    outputSizes.push_back(rows * output.width * sizeof(float));
  }
  uint64_t inputBytes = 0, outputBytes = 0;
  std::vector<uint64_t> inputOffsets = layoutArena(inputSizes, inputBytes),
                        outputOffsets = layoutArena(outputSizes, outputBytes);
  moe::AlignedBuffer inputs(inputBytes);
  moe::AlignedBuffer outputs(outputBytes);
  if (!inputs || !outputs)
    return fail("out of memory for " + std::to_string(tokens) + " tokens");
  for (size_t i = 0; i < inputArrays.size(); ++i)
    if (!inputArrays[i].values.empty())
      std::memcpy(inputs.data() + inputOffsets[i],
                  inputArrays[i].values.data(),
                  inputArrays[i].values.size() * sizeof(float));

  MemRef1D inputsRef = describe(inputs), paramsRef = describe(params),
           outputsRef = describe(outputs);
  _mlir_ciface_moe_forward(tokens, &inputsRef, &paramsRef, &outputsRef);

  if (options.bench > 0) {
    std::vector<double> seconds;
    for (int64_t i = 0; i < options.bench; ++i) {
      auto start = std::chrono::steady_clock::now();
      _mlir_ciface_moe_forward(tokens, &inputsRef, &paramsRef, &outputsRef);
      auto end = std::chrono::steady_clock::now();
      seconds.push_back(std::chrono::duration<double>(end - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    double median = seconds[seconds.size() / 2];
    std::printf("bench: %lld calls, %lld tokens: median %.4f ms/call, %.1f "
                "tokens/s\n",
                static_cast<long long>(options.bench),
                static_cast<long long>(tokens), median * 1e3,
                median > 0 ? tokens / median : 0.0);
  }

  auto outputArray = [&](size_t index) {
    moe::Array2D array;
    array.rows = model.outputs[index].perToken ? tokens : 1;
    array.cols = model.outputs[index].width;
    const float *data =
        reinterpret_cast<const float *>(outputs.data() + outputOffsets[index]);
    array.values.assign(data, data + array.rows * array.cols);
    return array;
  };
  if (!options.output.empty() &&
      !moe::writeNpy(options.output, outputArray(0), error))
    return failWith(error);
  if (!options.outputsDir.empty()) {
    if (mkdir(options.outputsDir.c_str(), 0777) != 0 && errno != EEXIST)
      return fail("cannot create the output directory " +
                  quotePath(options.outputsDir) + ": " +
                  std::strerror(errno));
    for (size_t i = 0; i < model.outputs.size(); ++i)
      if (!moe::writeNpy(options.outputsDir + "/" + model.outputs[i].name +
                             ".npy",
                         outputArray(i), error))
        return failWith(error);
  }
  if (options.inputs.empty() && options.output.empty() &&
      options.outputsDir.empty()) {
    std::printf("weights: %llu bytes resident\n",
                static_cast<unsigned long long>(params.size()));
    std::printf("%s: %lld tokens of seeded random input (seed %llu)\n",
                model.name.empty() ? "model" : model.name.c_str(), static_cast<long long>(tokens),
                static_cast<unsigned long long>(options.seed));
    for (size_t i = 0; i < model.outputs.size(); ++i) {
      moe::Array2D array = outputArray(i);
      double sum = 0, sumAbs = 0;
      for (float v : array.values) {
        sum += v;
        sumAbs += std::fabs(v);
      }
      double count = array.values.empty() ? 1.0 : array.values.size();
      std::printf("  output '%s' [%lld, %lld]: mean %.6g, mean |y| %.6g\n",
                  model.outputs[i].name.c_str(),
                  static_cast<long long>(array.rows),
                  static_cast<long long>(array.cols), sum / count,
                  sumAbs / count);
    }
  }
  return 0;
}
