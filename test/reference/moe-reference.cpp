//===- moe-reference.cpp - Runs moe-graph models the plain way ------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The command line of the reference implementation: runs a moe-graph model
// on an .npy input (or the seeded random input compiled models use too),
// writes or compares its outputs, and makes inputs and weights files for
// tests. Errors of the runtime library are printed as the library words them
// (`FILE: error: ...`); errors of the command line read
// `moe-reference: error: ...`. The exit status is 0 on success, 1 otherwise.
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include "moe/Runtime/Inputs.h"
#include "moe/Model/ModelSpec.h"
#include "moe/Runtime/Npy.h"
#include "moe/Model/Safetensors.h"
#include "moe/Runtime/Weights.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sys/stat.h>

using namespace moe;

namespace {

const char *const usage =
    "usage: moe-reference MODEL.json [options]\n"
    "\n"
    "Runs a moe-graph model with the reference implementation.\n"
    "\n"
    "  --weights FILE            safetensors weights (overrides the JSON)\n"
    "  --input X.npy             input array [T, width]; repeat for models\n"
    "                            with several inputs, in order\n"
    "  --tokens T --seed S       seeded random input instead (default 16, 0);\n"
    "                            input i uses seed S + i\n"
    "  --output Y.npy            write the first graph output\n"
    "  --outputs DIR             write every output as DIR/NAME.npy\n"
    "  --compare Y.npy           compare the first output with Y.npy\n"
    "  --compare-outputs DIR     compare every output with DIR/NAME.npy\n"
    "  --rtol R                  tolerance of the comparisons (default "
    "1e-4)\n"
    "  --make-input OUT.npy      write the random input (first input)\n"
    "  --make-weights OUT.safetensors\n"
    "                            write the model's weights as F32 tensors\n"
    "                            under their source names\n"
    "  --bf16-dot                as moe-compile --bf16-dot: projections\n"
    "                            with BF16 weights (experts, shared experts,\n"
    "                            linear nodes; not routers) take their\n"
    "                            inputs rounded to bf16\n"
    "  --amx                     as moe-compile --amx: rounds as --bf16-dot,\n"
    "                            and the default --rtol is 1e-3 (the tile\n"
    "                            unit adds the products in its own order)\n"
    "  --tensor-cores            as the NVPTX target's tensor cores: as\n"
    "                            --bf16-dot, and projections with F16\n"
    "                            weights take their inputs rounded to f16\n"
    "  --tf32                    as the NVPTX target's tensor cores with\n"
    "                            tf32=true: as --tensor-cores, and\n"
    "                            projections with F32 weights take their\n"
    "                            inputs and weights rounded to tf32\n"
    "\n"
    "With no action option, prints a summary of every output.\n";

/// The parsed command line.
struct Options {
  std::string model;
  std::string weights;
  std::vector<std::string> inputs;
  std::optional<int64_t> tokens;
  std::optional<uint64_t> seed;
  std::string output, outputsDir, compare, compareDir, makeInput, makeWeights;
  /// --rtol, or the default of the rounding asked for.
  std::optional<double> rtol;
  bool bf16Dot = false;
  bool amx = false;
  bool tensorCores = false;
  bool tf32 = false;
};

/// Prints a command-line error and returns the failing exit status.
int toolError(const std::string &text) {
  std::fprintf(stderr, "moe-reference: error: %s\n", text.c_str());
  return 1;
}

/// Prints a message of the runtime library, which names its own file.
int libraryError(const std::string &text) {
  std::fprintf(stderr, "%s\n", text.c_str());
  return 1;
}

bool parseInt(const std::string &text, int64_t &value) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno || *end)
    return false;
  value = parsed;
  return true;
}

bool parseUInt(const std::string &text, uint64_t &value) {
  if (text.empty() || text[0] == '-')
    return false;
  char *end = nullptr;
  errno = 0;
  unsigned long long parsed = std::strtoull(text.c_str(), &end, 10);
  if (errno || *end)
    return false;
  value = parsed;
  return true;
}

/// Parses argv into `options`; returns an error text, empty on success, or
/// "help" for --help.
std::string parseOptions(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help")
      return "help";
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0 || arg == "--") {
      if (!options.model.empty())
        return "unexpected argument '" + arg + "' (one model only)";
      options.model = arg;
      continue;
    }
    if (arg == "--bf16-dot") {
      options.bf16Dot = true;
      continue;
    }
    if (arg == "--amx") {
      options.bf16Dot = options.amx = true;
      continue;
    }
    if (arg == "--tensor-cores") {
      options.tensorCores = true;
      continue;
    }
    if (arg == "--tf32") {
      options.tensorCores = options.tf32 = true;
      continue;
    }
    std::string name = arg.substr(0, arg.find('=')), value;
    static const char *const known[] = {
        "--weights",         "--input",      "--tokens",       "--seed",
        "--output",          "--outputs",    "--compare",      "--rtol",
        "--compare-outputs", "--make-input", "--make-weights"};
    if (std::find(std::begin(known), std::end(known), name) == std::end(known))
      return "unknown option '" + name + "'";
    size_t equals = arg.find('=');
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else {
      if (i + 1 >= argc)
        return "option '" + arg + "' needs a value";
      value = argv[++i];
    }
    if (name == "--weights") {
      options.weights = value;
    } else if (name == "--input") {
      options.inputs.push_back(value);
    } else if (name == "--tokens") {
      int64_t tokens;
      if (!parseInt(value, tokens) || tokens < 0)
        return "invalid --tokens '" + value + "' (expected an integer >= 0)";
      options.tokens = tokens;
    } else if (name == "--seed") {
      uint64_t seed;
      if (!parseUInt(value, seed))
        return "invalid --seed '" + value + "' (expected an integer >= 0)";
      options.seed = seed;
    } else if (name == "--output") {
      options.output = value;
    } else if (name == "--outputs") {
      options.outputsDir = value;
    } else if (name == "--compare") {
      options.compare = value;
    } else if (name == "--compare-outputs") {
      options.compareDir = value;
    } else if (name == "--rtol") {
      char *end = nullptr;
      options.rtol = std::strtod(value.c_str(), &end);
      if (value.empty() || *end || !std::isfinite(*options.rtol) ||
          *options.rtol < 0)
        return "invalid --rtol '" + value + "' (expected a number >= 0)";
    } else if (name == "--make-input") {
      options.makeInput = value;
    } else {
      options.makeWeights = value;
    }
  }
  if (options.model.empty())
    return "no model given";
  if (!options.inputs.empty() && options.makeInput.empty() &&
      (options.tokens || options.seed))
    return "--input and --tokens/--seed exclude each other";
  return "";
}

/// Writes the parameters of `model` from `arena` as F32 tensors under their
/// source names (per-expert names expanded; the parts of a fused tensor put
/// back in their places).
bool writeWeights(const ModelSpec &model,
                  const reference::ReferenceWeights &weights,
                  const std::string &path, std::string &error) {
  std::vector<SafetensorsWriteEntry> entries;
  std::map<std::string, size_t> written;
  for (const ParamSpec &param : model.params) {
    const std::vector<double> &values = *weights.findKey(param.key);
    size_t sliceSize = param.sliceElements();
    for (size_t s = 0; s < param.sourceNames.size(); ++s) {
      auto [at, added] =
          written.try_emplace(param.sourceNames[s], entries.size());
      // A tensor shared by several parameters is written once: whole (tied
      // weights), or from the parts its views take.
      if (!added && !param.view)
        continue;
      if (added) {
        SafetensorsWriteEntry entry;
        entry.name = param.sourceNames[s];
        entry.shape = param.sourceShape;
        entry.values.assign(param.sourceElements(), 0.0f);
        entries.push_back(std::move(entry));
      }
      std::vector<float> &target = entries[at->second].values;
      param.forEachSliceRun([&](const SliceRun &run) {
        for (uint64_t i = 0; i < run.count; ++i)
          target[run.sourceOffset + i * run.sourceStride] = static_cast<float>(
              values[s * sliceSize + run.sliceOffset + i]);
      });
    }
  }
  return writeSafetensorsF32(path, entries, error);
}

/// Compares `actual` (read from `path`) with the reference output `expected`:
/// non-finite values (NaN, +Inf, -Inf) must agree in place and value (any
/// NaN matches any NaN), and over the finite ones max|a - b| /
/// max(max finite |expected|, 1e-6) must not exceed `rtol`. The scale leaves
/// out infinities: an Inf in both would make every finite error pass.
/// Prints the errors; returns the exit status. `label`, when not empty,
/// starts the printed line.
int compareOutputs(const Array2D &expected, const std::string &outputName,
                   const std::string &path, double rtol,
                   const std::string &label = "") {
  Array2D actual;
  std::string error;
  if (!readNpy(path, actual, error))
    return libraryError(error);
  if (actual.rows != expected.rows || actual.cols != expected.cols ||
      actual.values.size() != expected.values.size())
    return toolError(path + " has shape [" + std::to_string(actual.rows) +
                     ", " + std::to_string(actual.cols) + "], output '" +
                     outputName + "' has shape [" +
                     std::to_string(expected.rows) + ", " +
                     std::to_string(expected.cols) + "]");
  double maxAbs = 0.0, maxRef = 0.0;
  std::optional<size_t> nonFiniteMismatch;
  for (size_t i = 0; i < expected.values.size(); ++i) {
    double a = expected.values[i], b = actual.values[i];
    if (!std::isfinite(a) || !std::isfinite(b)) {
      bool same = (std::isnan(a) && std::isnan(b)) || a == b;
      if (!same && !nonFiniteMismatch)
        nonFiniteMismatch = i;
      continue;
    }
    maxRef = std::max(maxRef, std::fabs(a));
    maxAbs = std::max(maxAbs, std::fabs(a - b));
  }
  double maxRel = maxAbs / std::max(maxRef, 1e-6);
  bool ok = !nonFiniteMismatch && maxRel <= rtol;
  std::printf("%s%smax_abs_err=%.6g max_rel_err=%.6g %s\n", label.c_str(),
              label.empty() ? "" : ": ", maxAbs, maxRel,
              ok ? "OK" : "MISMATCH");
  std::fflush(stdout);
  if (nonFiniteMismatch) {
    size_t i = *nonFiniteMismatch;
    size_t cols = expected.cols ? static_cast<size_t>(expected.cols) : 1;
    double a = expected.values[i], b = actual.values[i];
    std::fprintf(stderr,
                 "moe-reference: %s, first at [%zu, %zu]: %g, expected %g\n",
                 std::isnan(a) != std::isnan(b)
                     ? "NaN positions differ"
                     : "non-finite values differ",
                 i / cols, i % cols, b, a);
  }
  return ok ? 0 : 1;
}

/// Prints one line per output: its shape and a few statistics.
void printSummary(const ModelSpec &model, const std::vector<Array2D> &outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Array2D &y = outputs[i];
    double sum = 0.0, maxAbs = 0.0;
    for (float value : y.values) {
      sum += value;
      maxAbs = std::max(maxAbs, std::fabs(static_cast<double>(value)));
    }
    double mean = y.values.empty() ? 0.0 : sum / y.values.size();
    std::printf("%s [%lld, %lld]: mean=%.6g max_abs=%.6g\n",
                model.outputs[i].name.c_str(), static_cast<long long>(y.rows),
                static_cast<long long>(y.cols), mean, maxAbs);
  }
}

int run(int argc, char **argv) {
  Options options;
  std::string problem = parseOptions(argc, argv, options);
  if (problem == "help") {
    std::fputs(usage, stdout);
    return 0;
  }
  if (!problem.empty())
    return toolError(problem + " (see --help)");

  ModelSpec model;
  std::string error;
  if (!loadModelSpec(options.model, options.weights, model, error))
    return libraryError(error);

  // The inputs, from files or seeded; --make-input writes the first random
  // one.
  int64_t tokens = options.tokens.value_or(16);
  uint64_t seed = options.seed.value_or(0);
  std::vector<Array2D> inputs;
  bool seeded = options.inputs.empty() || !options.makeInput.empty();
  if ((seeded && !loadModelInputs(model, {}, tokens, seed, inputs, error)) ||
      (!options.makeInput.empty() &&
       !writeNpy(options.makeInput, inputs.front(), error)) ||
      (!options.inputs.empty() &&
       !loadModelInputs(model, options.inputs, tokens, seed, inputs, error)))
    return libraryError(error);

  bool makesFiles = !options.makeInput.empty() || !options.makeWeights.empty();
  bool usesOutputs = !options.output.empty() || !options.outputsDir.empty() ||
                     !options.compare.empty() || !options.compareDir.empty();
  if (makesFiles && !usesOutputs && options.makeWeights.empty())
    return 0;

  AlignedBuffer arena;
  if (!loadParameterArena(model, arena, error))
    return libraryError(error);
  reference::ReferenceWeights weights;
  weights.load(model, arena.data());
  weights.setBF16Dot(options.bf16Dot);
  weights.setTensorCores(options.tensorCores);
  if (!options.makeWeights.empty() &&
      !writeWeights(model, weights, options.makeWeights, error))
    return libraryError(error);
  if (makesFiles && !usesOutputs)
    return 0;
  // After --make-weights, which writes the weights unrounded.
  if (options.tf32)
    weights.setTF32(model);

  std::vector<Array2D> outputs;
  if (!reference::evaluateModel(model, weights, inputs, outputs, error))
    return toolError(error);

  if (!options.output.empty() &&
      !writeNpy(options.output, outputs.front(), error))
    return libraryError(error);
  if (!options.outputsDir.empty()) {
    if (mkdir(options.outputsDir.c_str(), 0777) != 0 && errno != EEXIST)
      return toolError("cannot create directory '" + options.outputsDir +
                       "': " + std::strerror(errno));
    for (size_t i = 0; i < outputs.size(); ++i)
      if (!writeNpy(options.outputsDir + "/" + model.outputs[i].name + ".npy",
                    outputs[i], error))
        return libraryError(error);
  }
  double rtol = options.rtol.value_or(options.amx ? 1e-3 : 1e-4);
  int status = 0;
  if (!options.compare.empty())
    status = compareOutputs(outputs.front(), model.outputs.front().name,
                            options.compare, rtol);
  for (size_t i = 0; !options.compareDir.empty() && i < outputs.size(); ++i) {
    const std::string &name = model.outputs[i].name;
    status = std::max(status,
                      compareOutputs(outputs[i], name,
                                     options.compareDir + "/" + name + ".npy",
                                     rtol, name));
  }
  if (status != 0 || !options.compare.empty() || !options.compareDir.empty())
    return status;
  if (!usesOutputs)
    printSummary(model, outputs);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // The library never throws; this catches allocation failures of the
  // reference itself, so that no input makes the tool crash.
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    return toolError(std::string("internal error: ") + e.what());
  }
}
