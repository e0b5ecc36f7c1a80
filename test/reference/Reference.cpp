//===- Reference.cpp - Reference evaluation of moe-graph models -----------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the dtype conversions, the weight reader, the dense
// ops and the graph walk of the reference implementation. The moe layer is
// in ReferenceMoE.cpp.
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include <cmath>
#include <cstring>

namespace moe {
namespace reference {

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

float bf16ToFloat(uint16_t bits) {
  // bfloat16 is the top half of a float.
  uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof(value));
  return value;
}

float halfToFloat(uint16_t bits) {
  bool negative = bits & 0x8000;
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  double value;
  if (exponent == 0)
    value = std::ldexp(mantissa, -24); // zero or subnormal: m * 2^-24
  else if (exponent == 31)
    value = mantissa ? NAN : INFINITY;
  else
    value = std::ldexp(mantissa + 1024, exponent - 25); // (1 + m/2^10) 2^(e-15)
  return static_cast<float>(negative ? -value : value);
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double activate(const std::string &name, double x) {
  if (name == "silu")
    return x * sigmoid(x);
  if (name == "gelu")
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  if (name == "gelu_tanh") {
    const double c = std::sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
  }
  if (name == "relu")
    return x > 0.0 ? x : (x == x ? 0.0 : x); // NaN stays NaN
  return NAN;
}

//===----------------------------------------------------------------------===//
// ReferenceWeights
//===----------------------------------------------------------------------===//

void ReferenceWeights::load(const ModelSpec &model, const uint8_t *arena) {
  params.clear();
  bf16Params.clear();
  f16Params.clear();
  for (const ParamSpec &param : model.params) {
    if (param.dtype == DType::BF16)
      bf16Params.insert(param.key);
    if (param.dtype == DType::F16)
      f16Params.insert(param.key);
    size_t count = 1;
    for (int64_t dim : param.shape)
      count *= static_cast<size_t>(dim);
    std::vector<double> values(count);
    const uint8_t *data = arena + param.offset;
    for (size_t i = 0; i < count; ++i) {
      switch (param.dtype) {
      case DType::F32: {
        float value;
        std::memcpy(&value, data + 4 * i, 4);
        values[i] = value;
        break;
      }
      case DType::BF16:
      case DType::F16: {
        uint16_t bits;
        std::memcpy(&bits, data + 2 * i, 2);
        values[i] =
            param.dtype == DType::BF16 ? bf16ToFloat(bits) : halfToFloat(bits);
        break;
      }
      }
    }
    params[param.key] = std::move(values);
  }
}

const std::vector<double> *
ReferenceWeights::find(const std::string &node, const std::string &role) const {
  return findKey(node + "." + role);
}

InputRounding ReferenceWeights::inputRounding(const std::string &node,
                                              const std::string &role) const {
  std::string key = node + "." + role;
  if ((bf16Dot || tensorCores) && bf16Params.count(key))
    return InputRounding::BF16;
  if (tensorCores && f16Params.count(key))
    return InputRounding::F16;
  if (tf32Params.count(key))
    return InputRounding::TF32;
  return InputRounding::None;
}

void ReferenceWeights::setTF32(const ModelSpec &model) {
  std::vector<std::string> keys;
  for (const NodeSpec &node : model.nodes) {
    if (node.kind == NodeKind::Linear)
      keys.push_back(node.name + ".weight");
    if (node.kind != NodeKind::MoE)
      continue;
    for (const char *role :
         {"gate_proj", "up_proj", "down_proj", "shared.gate_proj",
          "shared.up_proj", "shared.down_proj"})
      keys.push_back(node.name + "." + role);
  }
  for (const std::string &key : keys) {
    auto found = params.find(key);
    if (found == params.end() || bf16Params.count(key) ||
        f16Params.count(key) || !tf32Params.insert(key).second)
      continue;
    for (double &value : found->second)
      value = roundToTF32(value);
  }
}

namespace {
/// `value` as f32 with `round` applied to its bits (a NaN stays itself).
template <typename RoundBits>
double roundF32Bits(double value, RoundBits round) {
  float narrowed = static_cast<float>(value);
  if (std::isnan(narrowed))
    return narrowed;
  uint32_t bits;
  std::memcpy(&bits, &narrowed, 4);
  bits = round(bits);
  std::memcpy(&narrowed, &bits, 4);
  return narrowed;
}
} // namespace

double roundToBF16(double value) {
  return roundF32Bits(value, [](uint32_t bits) {
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16;
  });
}

double roundToTF32(double value) {
  return roundF32Bits(
      value, [](uint32_t bits) { return (bits + 0x1000) & 0xFFFFE000u; });
}

double roundInput(double value, InputRounding rounding) {
  switch (rounding) {
  case InputRounding::None:
    return value;
  case InputRounding::BF16:
    return roundToBF16(value);
  case InputRounding::F16:
    // f32 first, as the compiled code holds it; IEEE half, nearest even.
    return static_cast<float>(static_cast<_Float16>(static_cast<float>(value)));
  case InputRounding::TF32:
    return roundToTF32(value);
  }
  return value;
}

const std::vector<double> *
ReferenceWeights::findKey(const std::string &key) const {
  auto it = params.find(key);
  return it == params.end() ? nullptr : &it->second;
}

//===----------------------------------------------------------------------===//
// Dense ops
//===----------------------------------------------------------------------===//

namespace {

/// A [rows, cols] array of zeros.
Array2D makeArray(int64_t rows, int64_t cols) {
  Array2D array;
  array.rows = rows;
  array.cols = cols;
  array.values.assign(static_cast<size_t>(rows * cols), 0.0f);
  return array;
}

/// y = x W^T + b, W [N, D].
Array2D linear(const Array2D &x, const std::vector<double> &w,
               const std::vector<double> *b, int64_t n,
               InputRounding rounding) {
  Array2D y = makeArray(x.rows, n);
  int64_t d = x.cols;
  auto input = [&](int64_t i) { return roundInput(x.values[i], rounding); };
  for (int64_t t = 0; t < x.rows; ++t)
    for (int64_t j = 0; j < n; ++j) {
      double sum = b ? (*b)[j] : 0.0;
      for (int64_t i = 0; i < d; ++i)
        sum += input(t * d + i) * w[j * d + i];
      y.values[t * n + j] = static_cast<float>(sum);
    }
  return y;
}

/// x / sqrt(mean(x^2) + eps) * w.
Array2D rmsNorm(const Array2D &x, const std::vector<double> &w, double eps) {
  Array2D y = makeArray(x.rows, x.cols);
  int64_t d = x.cols;
  for (int64_t t = 0; t < x.rows; ++t) {
    double sumSquares = 0.0;
    for (int64_t i = 0; i < d; ++i)
      sumSquares +=
          static_cast<double>(x.values[t * d + i]) * x.values[t * d + i];
    double scale = 1.0 / std::sqrt(sumSquares / d + eps);
    for (int64_t i = 0; i < d; ++i)
      y.values[t * d + i] =
          static_cast<float>(x.values[t * d + i] * scale * w[i]);
  }
  return y;
}

/// (x - mean) / sqrt(var + eps) * w + b, with the biased variance.
Array2D layerNorm(const Array2D &x, const std::vector<double> &w,
                  const std::vector<double> *b, double eps) {
  Array2D y = makeArray(x.rows, x.cols);
  int64_t d = x.cols;
  for (int64_t t = 0; t < x.rows; ++t) {
    double mean = 0.0;
    for (int64_t i = 0; i < d; ++i)
      mean += x.values[t * d + i];
    mean /= d;
    double variance = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      double centered = x.values[t * d + i] - mean;
      variance += centered * centered;
    }
    variance /= d;
    double scale = 1.0 / std::sqrt(variance + eps);
    for (int64_t i = 0; i < d; ++i)
      y.values[t * d + i] = static_cast<float>(
          (x.values[t * d + i] - mean) * scale * w[i] + (b ? (*b)[i] : 0.0));
  }
  return y;
}

/// An elementwise op on one or two arrays of one shape.
template <typename Fn>
Array2D elementwise(const Array2D &a, const Array2D *b, Fn fn) {
  Array2D y = makeArray(a.rows, a.cols);
  for (size_t i = 0; i < a.values.size(); ++i)
    y.values[i] =
        static_cast<float>(fn(static_cast<double>(a.values[i]),
                              b ? static_cast<double>(b->values[i]) : 0.0));
  return y;
}

/// A [1, n] array holding `values`.
Array2D rowOf(const std::vector<double> &values) {
  Array2D y = makeArray(1, static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i)
    y.values[i] = static_cast<float>(values[i]);
  return y;
}

} // namespace

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

bool evaluateModel(const ModelSpec &model, const ReferenceWeights &weights,
                   const std::vector<Array2D> &inputs,
                   std::vector<Array2D> &outputs, std::string &error) {
  if (inputs.size() != model.inputs.size()) {
    error = "the model has " + std::to_string(model.inputs.size()) +
            " inputs, got " + std::to_string(inputs.size());
    return false;
  }
  std::map<std::string, Array2D> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputSpec &spec = model.inputs[i];
    if (inputs[i].cols != spec.width || inputs[i].rows != inputs[0].rows) {
      error = "input '" + spec.name + "' has shape [" +
              std::to_string(inputs[i].rows) + ", " +
              std::to_string(inputs[i].cols) + "], expected [" +
              std::to_string(inputs[0].rows) + ", " +
              std::to_string(spec.width) + "]";
      return false;
    }
    values[spec.name] = inputs[i];
  }

  for (const NodeSpec &node : model.nodes) {
    const Array2D &x = values.at(node.inputs.at(0));
    const std::vector<double> *w = weights.find(node.name, "weight");
    const std::vector<double> *b = weights.find(node.name, "bias");
    Array2D y;
    switch (node.kind) {
    case NodeKind::Linear:
      y = linear(x, *w, b, node.outFeatures,
                 weights.inputRounding(node.name, "weight"));
      break;
    case NodeKind::RMSNorm:
      y = rmsNorm(x, *w, node.eps);
      break;
    case NodeKind::LayerNorm:
      y = layerNorm(x, *w, b, node.eps);
      break;
    case NodeKind::Add:
      y = elementwise(x, &values.at(node.inputs.at(1)),
                      [](double p, double q) { return p + q; });
      break;
    case NodeKind::Mul:
      y = elementwise(x, &values.at(node.inputs.at(1)),
                      [](double p, double q) { return p * q; });
      break;
    case NodeKind::SiLU:
    case NodeKind::GELU:
    case NodeKind::GELUTanh:
    case NodeKind::ReLU: {
      std::string name = nodeKindName(node.kind);
      y = elementwise(x, nullptr,
                      [&](double p, double) { return activate(name, p); });
      break;
    }
    case NodeKind::MoE: {
      MoEResult result = evaluateMoE(node, weights, x);
      const AuxSpec &aux = node.moe.aux;
      if (aux.expertCounts)
        values[*aux.expertCounts] = rowOf(result.expertCounts);
      if (aux.loadBalancingLoss)
        values[*aux.loadBalancingLoss] = rowOf({result.loadBalancingLoss});
      if (aux.routerZLoss)
        values[*aux.routerZLoss] = rowOf({result.routerZLoss});
      y = std::move(result.output);
      break;
    }
    }
    values[node.name] = std::move(y);
  }

  outputs.clear();
  for (const OutputSpec &output : model.outputs)
    outputs.push_back(values.at(output.name));
  return true;
}

} // namespace reference
} // namespace moe
