//===- Reference.h - Reference evaluation of moe-graph models ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// A plain, test-only implementation of the semantics of docs/model-format.md,
// written to be obviously correct rather than fast: every value is computed
// in double, one token and one expert at a time, and stored as float (as the
// compiled code stores f32 values). Compiled models are checked against it.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_TEST_REFERENCE_REFERENCE_H
#define MOE_TEST_REFERENCE_REFERENCE_H

#include "moe/Model/ModelSpec.h"
#include "moe/Runtime/Npy.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace moe {
namespace reference {

/// The float value of bfloat16 `bits`.
float bf16ToFloat(uint16_t bits);
/// The float value of IEEE 754 binary16 `bits` (subnormals, inf, NaN).
float halfToFloat(uint16_t bits);

/// The logistic function 1 / (1 + exp(-x)).
double sigmoid(double x);
/// Applies activation `name` (silu, gelu, gelu_tanh or relu) to `x`.
double activate(const std::string &name, double x);

/// The parameters of a model, read from its arena and converted to double.
/// What a projection does to its f32 input before multiplying: nothing, or
/// a rounding to the type that the compiled code computes in (16-bit, or
/// tf32 on the NVPTX target's tensor cores with F32 weights).
enum class InputRounding { None, BF16, F16, TF32 };

class ReferenceWeights {
public:
  /// Reads every parameter of `model` from `arena` (ModelSpec::paramBytes
  /// bytes laid out as ModelSpec::params says).
  void load(const ModelSpec &model, const uint8_t *arena);

  /// The row-major values of parameter "<node>.<role>", or null.
  const std::vector<double> *find(const std::string &node,
                                  const std::string &role) const;
  /// The values of the parameter with ParamSpec::key `key`, or null.
  const std::vector<double> *findKey(const std::string &key) const;

  /// moe-compile --bf16-dot: the projections with BF16 weights (routed and
  /// shared experts, linear nodes; not the router) multiply activations
  /// rounded to bf16.
  void setBF16Dot(bool enabled) { bf16Dot = enabled; }
  /// The NVPTX target's tensor cores: as --bf16-dot, and the projections
  /// with F16 weights multiply activations rounded to f16.
  void setTensorCores(bool enabled) { tensorCores = enabled; }
  /// The NVPTX target's tensor cores with `tf32=true`: the projections with
  /// F32 weights of `model` (routed and shared experts, linear nodes; not
  /// the router) round their weights, now, and their inputs to tf32.
  void setTF32(const ModelSpec &model);
  /// How the projection with weight "<node>.<role>" rounds its input.
  InputRounding inputRounding(const std::string &node,
                              const std::string &role) const;

private:
  std::map<std::string, std::vector<double>> params;
  std::set<std::string> bf16Params, f16Params, tf32Params;
  bool bf16Dot = false, tensorCores = false;
};

/// `value` as f32, then rounded to bf16 (to nearest even), as the compiled
/// code rounds activations under --bf16-dot.
double roundToBF16(double value);

/// `value` as f32, then rounded to tf32 (10 mantissa bits; to nearest,
/// ties away from zero, as PTX's cvt.rna.tf32.f32 and the NVPTX target's
/// TF32 tensor cores).
double roundToTF32(double value);

/// `value` as f32, then rounded as `rounding` says.
double roundInput(double value, InputRounding rounding);

/// The results of one moe node.
struct MoEResult {
  /// [T, D].
  Array2D output;
  /// Assignments per expert after capacity, [E].
  std::vector<double> expertCounts;
  double loadBalancingLoss = 0.0;
  double routerZLoss = 0.0;
};

/// Evaluates the moe node `node` on `x` ([T, D]).
MoEResult evaluateMoE(const NodeSpec &node, const ReferenceWeights &weights,
                      const Array2D &x);

/// Evaluates `model` on `inputs` (one [T, width] array per graph input, all
/// with the same T) and returns its outputs in the order of
/// ModelSpec::outputs. Returns false with a message on inputs that do not fit
/// the model.
bool evaluateModel(const ModelSpec &model, const ReferenceWeights &weights,
                   const std::vector<Array2D> &inputs,
                   std::vector<Array2D> &outputs, std::string &error);

} // namespace reference
} // namespace moe

#endif // MOE_TEST_REFERENCE_REFERENCE_H
