//===- ModelMain.cpp - main() of compiled model executables -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The command-line front of every executable moe-compile links:
//
//   OUT [--input X.npy]... [--output Y.npy] [--outputs DIR] [--weights FILE]
//       [--tokens T] [--seed S] [--bench N] [--bench-tokens T1,T2,...]
//       [--bench-inputs R] [--threads N]
//
// It loads the model description embedded by moe-compile, binds the weights
// into the parameter arena, lays out the input and output arenas and calls
// the compiled `moe_forward` (docs/abi.md). It carries no model math.
//
//===----------------------------------------------------------------------===//

#include "moe/ABI/ABI.h"
#include "moe/Runtime/Backend.h"
#include "moe/Runtime/Inputs.h"
#include "moe/Runtime/ModelLoader.h"
#include "moe/Model/ModelSpec.h"
#include "moe/Runtime/Npy.h"
#include "moe/Runtime/ProfilePhases.h"
#include "moe/Model/Safetensors.h"
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
#include <unistd.h>

extern "C" {
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


struct Options {
  /// One .npy file per graph input, in the model's order.
  std::vector<std::string> inputs;
  std::string output, outputsDir, weights, savePrepared;
  int64_t tokens = 16;
  uint64_t seed = 0;
  int64_t bench = 0;
  /// Token counts to time after the run (--bench-tokens), each on
  /// `benchInputs` seeded inputs in rotation.
  std::vector<int64_t> benchTokens;
  int64_t benchInputs = 1;
  int64_t threads = 0;
  /// Time the forward pass by phase (--profile).
  bool profile = false;
  /// Replay each call's kernels as a CUDA graph (--cuda-graphs).
  bool cudaGraphs = false;
};

/// The time `moe_profile_phase` adds up, by phase, while enabled.
struct PhaseProfile {
  bool enabled = false;
  std::chrono::steady_clock::time_point started[moe::kNumProfilePhases];
  double seconds[moe::kNumProfilePhases] = {};
  int64_t steps[moe::kNumProfilePhases] = {};

  void start() {
    std::fill(std::begin(seconds), std::end(seconds), 0.0);
    std::fill(std::begin(steps), std::end(steps), 0);
    enabled = true;
  }
};
PhaseProfile phaseProfile;

/// Each kernel's device time over the profiled calls, on a GPU.
std::vector<moe::KernelTime> kernelProfile;

/// Starts --profile's timing: the phases of CPU code, or the kernels on
/// the device.
void startProfile(moe::Backend &backend) {
  phaseProfile.start();
  if (backend.hasDeviceClock())
    backend.startKernelProfile();
}

/// Stops it, after the profiled calls finished.
void stopProfile(moe::Backend &backend) {
  phaseProfile.enabled = false;
  if (backend.hasDeviceClock())
    kernelProfile = backend.readKernelProfile();
}

} // namespace

extern "C" {
/// The compiled code's profile hook (ProfilePhases.h): `begin` 1 before a
/// step of `phase`, 0 after it. Returns at once unless --profile is on.
__attribute__((visibility("default"))) void
moe_profile_phase(int32_t phase, int32_t begin) {
  if (!phaseProfile.enabled || phase < 0 || phase >= moe::kNumProfilePhases)
    return;
  auto now = std::chrono::steady_clock::now();
  if (begin) {
    phaseProfile.started[phase] = now;
    return;
  }
  phaseProfile.seconds[phase] +=
      std::chrono::duration<double>(now - phaseProfile.started[phase])
          .count();
  ++phaseProfile.steps[phase];
}
} // extern "C"

namespace {

void printUsage() {
  std::printf(
      "usage: %s [--input X.npy]... [--output Y.npy] [--outputs DIR]\n"
      "          [--weights FILE] [--tokens T] [--seed S] [--bench N]\n"
      "          [--bench-tokens T1,T2,...] [--bench-inputs R] [--threads N]\n"
      "          [--profile] [--cuda-graphs] [--save-prepared FILE]\n\n"
      "Runs the compiled moe-graph model on X ([tokens, width] float32, C\n"
      "order; one --input per graph input, in the model's order) and writes\n"
      "the first output to Y, or every output to DIR/NAME.npy. Without\n"
      "--input it runs on a seeded random input of T tokens (default 16;\n"
      "input i from seed S + i) and prints a summary. --weights replaces the\n"
      "weights the model names (a safetensors file, a Hugging Face index, or\n"
      "a file --save-prepared wrote); --save-prepared FILE writes the weights\n"
      "as the compiled code reads them, which --weights FILE then maps with\n"
      "no layout pass and no copy; --bench N times N calls (on a GPU also\n"
      "the device's time on their kernels, by CUDA events); --threads N\n"
      "sets the number of threads (default: every core; the results do not\n"
      "depend on it). --bench-tokens times N calls (default 10) at each\n"
      "token count listed, on seeded inputs; --bench-inputs R rotates R\n"
      "different inputs between the timed calls (so the routing varies, as\n"
      "in decoding). --profile prints the time per call of each phase of\n"
      "the MoE layers (router, top_k, dispatch, permute, gate_up, matmul,\n"
      "combine; other: everything else) over the timed calls, or the run;\n"
      "on a GPU, each kernel's time on the device (CUDA events).\n"
      "--cuda-graphs (a model compiled with --target=nvptx) captures a\n"
      "call's kernels into a CUDA graph at its first call for a token count\n"
      "and launches that graph for later calls.\n",
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
    if (arg == "--profile") {
      options.profile = true;
      continue;
    }
    if (arg == "--cuda-graphs") {
      options.cudaGraphs = true;
      continue;
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
    else if (arg == "--save-prepared")
      options.savePrepared = value;
    else if (arg == "--bench-tokens") {
      std::string list = value;
      size_t begin = 0;
      while (begin <= list.size()) {
        size_t end = std::min(list.find(',', begin), list.size());
        std::string item = list.substr(begin, end - begin);
        if (!parseInt(item.c_str(), number))
          return fail("option '--bench-tokens' needs a comma-separated list "
                      "of non-negative integers, got " +
                      quote(value));
        options.benchTokens.push_back(number);
        begin = end + 1;
      }
    } else if (arg == "--tokens" || arg == "--seed" || arg == "--bench" ||
               arg == "--bench-inputs" || arg == "--threads") {
      if (!parseInt(value, number))
        return fail("option " + quote(arg) +
                    " needs a non-negative integer, got " + quote(value));
      if (arg == "--tokens")
        options.tokens = number;
      else if (arg == "--seed")
        options.seed = static_cast<uint64_t>(number);
      else if (arg == "--threads")
        options.threads = number;
      else if (arg == "--bench-inputs")
        options.benchInputs = std::max<int64_t>(number, 1);
      else
        options.bench = number;
    } else {
      return fail("unknown option " + quote(arg) + " (see --help)");
    }
  }
  return -1;
}

/// The input arena of `arrays` (docs/abi.md): each at a 64-byte aligned
/// offset, in the model's order.
moe::AlignedBuffer inputArena(const std::vector<moe::Array2D> &arrays) {
  std::vector<uint64_t> sizes;
  for (const moe::Array2D &input : arrays)
    sizes.push_back(input.values.size() * sizeof(float));
  uint64_t bytes = 0;
  std::vector<uint64_t> offsets = moe::layoutArena(sizes, bytes);
  moe::AlignedBuffer arena(bytes);
  if (!arena)
    return arena;
  for (size_t i = 0; i < arrays.size(); ++i)
    if (!arrays[i].values.empty())
      std::memcpy(arena.data() + offsets[i], arrays[i].values.data(),
                  arrays[i].values.size() * sizeof(float));
  return arena;
}


/// Appends input arenas of `tokens` seeded rows to `rotation` until it
/// holds `options.benchInputs`; the one at position i from seed
/// S + 7919 * i, so no two share a graph input's draw.
bool seededInputs(const moe::ModelSpec &model, int64_t tokens,
                  const Options &options, moe::Backend &backend,
                  std::vector<std::unique_ptr<moe::DeviceArena>> &rotation,
                  std::string &error) {
  while (rotation.size() < uint64_t(options.benchInputs)) {
    std::vector<moe::Array2D> arrays;
    if (!moe::loadModelInputs(model, {}, tokens,
                              options.seed + 7919 * rotation.size(), arrays,
                              error))
      return false;
    rotation.push_back(backend.upload(inputArena(arrays), error));
    if (!rotation.back())
      return false;
  }
  return true;
}

/// Seconds of each of `calls` calls, the inputs taken in turn from
/// `rotation`, after one untimed call on each.
/// With `profile`, the phases of the timed calls are timed too.
/// Each call is waited for: its time is the whole call's.
bool timeCalls(int64_t calls, int64_t tokens, moe::Backend &backend,
               std::vector<std::unique_ptr<moe::DeviceArena>> &rotation,
               moe::DeviceArena &params, moe::DeviceArena &outputs,
               moe::DeviceArena &scratch, bool profile,
               std::vector<double> &seconds, std::vector<double> &deviceSeconds,
               std::string &error) {
  for (std::unique_ptr<moe::DeviceArena> &input : rotation)
    if (!backend.forward(tokens, *input, params, outputs, scratch, error))
      return false;
  if (!backend.synchronize(error))
    return false;
  if (profile)
    startProfile(backend);
  for (int64_t i = 0; i < calls; ++i) {
    moe::DeviceArena &input = *rotation[i % rotation.size()];
    bool deviceClock = backend.hasDeviceClock();
    if (deviceClock)
      backend.startDeviceClock();
    auto start = std::chrono::steady_clock::now();
    if (!backend.forward(tokens, input, params, outputs, scratch, error) ||
        !backend.synchronize(error))
      return false;
    auto end = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(end - start).count());
    if (deviceClock)
      deviceSeconds.push_back(backend.readDeviceClock());
  }
  if (profile)
    stopProfile(backend);
  return true;
}

/// Prints each kernel's device time per call over `calls` calls, longest
/// first, and their sum.
void printKernelProfile(int64_t calls, int64_t tokens) {
  std::vector<moe::KernelTime> kernels = kernelProfile;
  std::stable_sort(kernels.begin(), kernels.end(),
                   [](const moe::KernelTime &a, const moe::KernelTime &b) {
                     return a.seconds > b.seconds;
                   });
  double total = 0;
  int64_t launches = 0;
  for (const moe::KernelTime &kernel : kernels) {
    total += kernel.seconds;
    launches += kernel.launches;
  }
  std::printf("profile: %lld tokens, device ms per call by kernel (%% of the "
              "kernels' time):\n",
              static_cast<long long>(tokens));
  for (const moe::KernelTime &kernel : kernels)
    std::printf("  %s %.4f (%.1f%%), %.3g launches a call\n",
                kernel.name.c_str(), kernel.seconds / calls * 1e3,
                total > 0 ? 100.0 * kernel.seconds / total : 0.0,
                static_cast<double>(kernel.launches) / calls);
  std::printf("  kernels %.4f ms a call, %.3g launches a call\n",
              total / calls * 1e3, static_cast<double>(launches) / calls);
}

/// Prints the phases' time per call over `calls` calls that took
/// `totalSeconds`, and the rest as "other"; on a GPU, the kernels' time.
void printProfile(int64_t calls, int64_t tokens, double totalSeconds) {
  if (std::string(moe_target) != MOE_ABI_TARGET_CPU)
    return printKernelProfile(calls, tokens);
  std::printf("profile: %lld tokens, ms per call (%% of the call):",
              static_cast<long long>(tokens));
  double phases = 0;
  for (int phase = 0; phase < moe::kNumProfilePhases; ++phase) {
    if (phaseProfile.steps[phase] == 0)
      continue;
    double seconds = phaseProfile.seconds[phase];
    phases += seconds;
    std::printf(" %s %.4f (%.1f%%)", moe::kProfilePhaseNames[phase],
                seconds / calls * 1e3, 100.0 * seconds / totalSeconds);
  }
  double other = std::max(totalSeconds - phases, 0.0);
  std::printf(" other %.4f (%.1f%%)\n", other / calls * 1e3,
              100.0 * other / totalSeconds);
}

/// A progress line on a terminal for work that takes over a second:
/// "loading weights: 1200 of 5600 MB, 950 MB/s". Quiet when stderr is
/// not a terminal.
class Progress {
public:
  explicit Progress(std::string what)
      : what(std::move(what)), start(std::chrono::steady_clock::now()),
        terminal(isatty(STDERR_FILENO)) {}
  ~Progress() {
    if (shown)
      std::fprintf(stderr, "\n");
  }
  void update(uint64_t done, uint64_t total, const std::string &detail = "") {
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    if (!terminal || seconds < 1.0)
      return;
    shown = true;
    std::fprintf(stderr, "\r%s: %s%llu of %llu MB, %.0f MB/s   ",
                 what.c_str(), detail.empty() ? "" : (detail + ", ").c_str(),
                 static_cast<unsigned long long>(done >> 20),
                 static_cast<unsigned long long>(total >> 20),
                 (done >> 20) / seconds);
    std::fflush(stderr);
  }

private:
  std::string what;
  std::chrono::steady_clock::time_point start;
  bool terminal, shown = false;
};

/// Prints the calls' median and least time; and on a device with a clock
/// of its own, the same of the device's time on them (`deviceSeconds`).
void printBench(int64_t calls, int64_t tokens, std::vector<double> seconds,
                std::vector<double> deviceSeconds) {
  std::sort(seconds.begin(), seconds.end());
  double median = seconds[seconds.size() / 2];
  std::printf("bench: %lld calls, %lld tokens: median %.4f ms/call, min "
              "%.4f ms, %.1f tokens/s\n",
              static_cast<long long>(calls), static_cast<long long>(tokens),
              median * 1e3, seconds.front() * 1e3,
              median > 0 ? tokens / median : 0.0);
  if (!deviceSeconds.empty()) {
    std::sort(deviceSeconds.begin(), deviceSeconds.end());
    std::printf("bench: device time (CUDA events): median %.4f ms/call, min "
                "%.4f ms\n",
                deviceSeconds[deviceSeconds.size() / 2] * 1e3,
                deviceSeconds.front() * 1e3);
  }
  std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv) {
  // Line by line even into a pipe: a check compiled into the model (a
  // failed cf.assert of host semantics) prints its line with puts and
  // aborts, which would lose a buffered line.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  programName = argc > 0 ? moe::pathForMessage(argv[0]) : "model";
  Options options;
  if (int status = parseOptions(argc, argv, options); status >= 0)
    return status;

  if (options.threads > 0 && omp_set_num_threads)
    omp_set_num_threads(static_cast<int>(options.threads));

  // The model as compiled, with its weights (or those of --weights), on
  // the machine its target names.
  moe::CompiledModel compiled =
      moe::linkedCompiledModel(moe::fileIdentity("/proc/self/exe"));
  moe::LoadedModel loaded;
  std::string error;
  {
    Progress progress("loading weights");
    if (!moe::loadCompiledModel(compiled, options.weights, programName,
                                loaded, error,
                                [&](uint64_t done, uint64_t total) {
                                  progress.update(done, total);
                                }))
      return failWith(error);
  }
  const moe::ModelSpec &model = loaded.spec;
  moe::Backend *backend = loaded.backend.get();
  std::unique_ptr<moe::DeviceArena> &params = loaded.params;
  if (options.profile && std::string(moe_target) != MOE_ABI_TARGET_CPU &&
      !backend->hasDeviceClock())
    return fail("--profile times a GPU's kernels by CUDA events, which "
                "this driver does not have");
  if (options.cudaGraphs && !backend->useGraphs(error))
    return fail("--cuda-graphs: " + error);
  if (!options.savePrepared.empty()) {
    if (!moe::savePreparedWeights(compiled, loaded, options.savePrepared,
                                  error))
      return failWith(error);
    std::printf("prepared weights: %llu bytes written to %s\n",
                static_cast<unsigned long long>(params->size()),
                options.savePrepared.c_str());
  }

  // The inputs: files, or the seeded random input; the arena holds them in
  // the model's order, each at a 64-byte aligned offset (docs/abi.md).
  std::vector<moe::Array2D> inputArrays;
  if (!moe::loadModelInputs(model, options.inputs, options.tokens,
                            options.seed, inputArrays, error))
    return failWith(error);
  int64_t tokens = inputArrays.empty() ? options.tokens : inputArrays[0].rows;

  // The forward pass's temporary buffers: one arena, allocated once for a
  // token count and reused by every call (docs/abi.md).
  auto arenasFor = [&](int64_t tokens, std::vector<uint64_t> &outputOffsets,
                       std::unique_ptr<moe::DeviceArena> &outputs,
                       std::unique_ptr<moe::DeviceArena> &scratch) {
    outputs = backend->allocate(moe::outputArenaBytes(model, tokens, outputOffsets),
                                error);
    if (outputs)
      scratch = backend->allocate(backend->scratchBytes(tokens), error);
    return outputs && scratch;
  };
  auto outOfMemory = [&](int64_t tokens) {
    return fail("no memory on " + backend->name() + " for " +
                std::to_string(tokens) + " tokens: " + error);
  };
  std::vector<uint64_t> outputOffsets;
  std::unique_ptr<moe::DeviceArena> outputs, scratch;
  std::unique_ptr<moe::DeviceArena> inputs =
      backend->upload(inputArena(inputArrays), error);
  if (!inputs || !arenasFor(tokens, outputOffsets, outputs, scratch))
    return outOfMemory(tokens);

  bool profileRun =
      options.profile && options.bench == 0 && options.benchTokens.empty();
  if (profileRun)
    startProfile(*backend);
  auto runStart = std::chrono::steady_clock::now();
  if (!backend->forward(tokens, *inputs, *params, *outputs, *scratch, error) ||
      !backend->synchronize(error))
    return fail("running the model on " + backend->name() + ": " + error);
  auto runEnd = std::chrono::steady_clock::now();
  if (profileRun)
    stopProfile(*backend);
  if (profileRun)
    printProfile(1, tokens,
                 std::chrono::duration<double>(runEnd - runStart).count());

  // The timed calls' phases, when --profile asks for them.
  auto benchAndProfile =
      [&](int64_t calls, int64_t benchTokens,
          std::vector<std::unique_ptr<moe::DeviceArena>> &rotation,
          moe::DeviceArena &benchOutputs, moe::DeviceArena &benchScratch) {
        std::vector<double> seconds, deviceSeconds;
        if (!timeCalls(calls, benchTokens, *backend, rotation, *params,
                       benchOutputs, benchScratch, options.profile, seconds,
                       deviceSeconds, error))
          return false;
        double total = 0;
        for (double call : seconds)
          total += call;
        printBench(calls, benchTokens, seconds, deviceSeconds);
        if (options.profile)
          printProfile(calls, benchTokens, total);
        return true;
      };

  if (options.bench > 0 && options.benchTokens.empty()) {
    // The run's own input first, then seeded ones; the outputs written
    // below stay the run's.
    std::vector<std::unique_ptr<moe::DeviceArena>> rotation;
    rotation.push_back(std::move(inputs));
    std::vector<uint64_t> offsets;
    std::unique_ptr<moe::DeviceArena> benchOutputs =
        backend->allocate(moe::outputArenaBytes(model, tokens, offsets), error);
    if (!benchOutputs)
      return outOfMemory(tokens);
    if (!seededInputs(model, tokens, options, *backend, rotation, error))
      return failWith(error);
    if (!benchAndProfile(options.bench, tokens, rotation, *benchOutputs,
                         *scratch))
      return fail("running the model on " + backend->name() + ": " + error);
  }
  for (int64_t benchTokens : options.benchTokens) {
    std::vector<std::unique_ptr<moe::DeviceArena>> rotation;
    std::vector<uint64_t> offsets;
    std::unique_ptr<moe::DeviceArena> benchOutputs, benchScratch;
    if (!arenasFor(benchTokens, offsets, benchOutputs, benchScratch))
      return outOfMemory(benchTokens);
    if (!seededInputs(model, benchTokens, options, *backend, rotation, error))
      return failWith(error);
    int64_t calls = options.bench > 0 ? options.bench : 10;
    if (!benchAndProfile(calls, benchTokens, rotation, *benchOutputs,
                         *benchScratch))
      return fail("running the model on " + backend->name() + ": " + error);
  }

  // The outputs, copied back from the backend.
  std::vector<moe::Array2D> outputArrays(model.outputs.size());
  for (size_t i = 0; i < model.outputs.size(); ++i) {
    moe::Array2D &array = outputArrays[i];
    array.rows = model.outputs[i].perToken ? tokens : 1;
    array.cols = model.outputs[i].width;
    array.values.resize(array.rows * array.cols);
    if (!backend->download(*outputs, outputOffsets[i], array.values.data(),
                           array.values.size() * sizeof(float), error))
      return fail("reading the outputs from " + backend->name() + ": " + error);
  }
  if (!options.output.empty() &&
      !moe::writeNpy(options.output, outputArrays[0], error))
    return failWith(error);
  if (!options.outputsDir.empty()) {
    if (mkdir(options.outputsDir.c_str(), 0777) != 0 && errno != EEXIST)
      return fail("cannot create the output directory " +
                  quotePath(options.outputsDir) + ": " +
                  std::strerror(errno));
    for (size_t i = 0; i < model.outputs.size(); ++i)
      if (!moe::writeNpy(options.outputsDir + "/" + model.outputs[i].name +
                             ".npy",
                         outputArrays[i], error))
        return failWith(error);
  }
  if (options.inputs.empty() && options.output.empty() &&
      options.outputsDir.empty()) {
    std::printf("weights: %llu bytes resident\n",
                static_cast<unsigned long long>(params->size()));
    std::printf("%s: %lld tokens of seeded random input (seed %llu)\n",
                model.name.empty() ? "model" : model.name.c_str(), static_cast<long long>(tokens),
                static_cast<unsigned long long>(options.seed));
    for (size_t i = 0; i < model.outputs.size(); ++i) {
      const moe::Array2D &array = outputArrays[i];
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
