//===- ReferenceMoE.cpp - Reference evaluation of the moe node ------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the `moe` node of docs/model-format.md step by step:
// routing (scores, selection bias, groups, top-k, weights), capacity in
// token order, the routed and shared expert FFNs, and the aux outputs. One
// token and one expert at a time, in double.
//
//===----------------------------------------------------------------------===//

#include "Reference.h"

#include "moe/Runtime/Weights.h"

#include <algorithm>
#include <cmath>

namespace moe {
namespace reference {
namespace {

/// log(1 + exp(z)) without overflow.
double softplus(double z) {
  return z > 0.0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

/// Row `row` of a row-major matrix with `cols` columns, dotted with `x`.
double dotRow(const std::vector<double> &matrix, int64_t row, int64_t cols,
              const std::vector<double> &x) {
  double sum = 0.0;
  for (int64_t i = 0; i < cols; ++i)
    sum += matrix[row * cols + i] * x[i];
  return sum;
}

/// The `count` best of the candidates (`eligible[i]`) by `score`, best
/// first, by repeated selection; ties go to the lower index.
std::vector<int64_t> selectTop(const std::vector<double> &score,
                               const std::vector<bool> &eligible,
                               int64_t count) {
  std::vector<bool> taken(score.size(), false);
  std::vector<int64_t> chosen;
  for (int64_t j = 0; j < count; ++j) {
    int64_t best = -1;
    for (size_t i = 0; i < score.size(); ++i)
      if (eligible[i] && !taken[i] && (best < 0 || score[i] > score[best]))
        best = static_cast<int64_t>(i);
    if (best < 0)
      break;
    taken[best] = true;
    chosen.push_back(best);
  }
  return chosen;
}

/// The weights of one FFN (a routed expert or the shared one), as pointers
/// to its slice of the stacked parameters. Biases may be null.
struct FFNWeights {
  const double *gate = nullptr;     // [F, D]
  const double *up = nullptr;       // [F, D]
  const double *down = nullptr;     // [D, F]
  const double *gateBias = nullptr; // [F]
  const double *upBias = nullptr;   // [F]
  const double *downBias = nullptr; // [D]
  /// --bf16-dot, --tensor-cores: how each projection rounds its input.
  InputRounding roundGateInput = InputRounding::None,
                roundUpInput = InputRounding::None,
                roundDownInput = InputRounding::None;
};

/// `x`, its values rounded as `rounding` says.
std::vector<double> roundInputs(const std::vector<double> &x,
                                InputRounding rounding) {
  std::vector<double> result = x;
  for (double &value : result)
    value = roundInput(value, rounding);
  return result;
}

/// One FFN on one token `x` (D values): gated or not, with the experts'
/// activation.
std::vector<double> evaluateFFN(const ExpertsSpec &experts, const FFNWeights &w,
                                int64_t f, const std::vector<double> &x) {
  int64_t d = static_cast<int64_t>(x.size());
  std::vector<double> hidden(f);
  std::vector<double> upInput = roundInputs(x, w.roundUpInput),
                      gateInput = roundInputs(x, w.roundGateInput);
  for (int64_t j = 0; j < f; ++j) {
    double up = (w.upBias ? w.upBias[j] : 0.0);
    for (int64_t i = 0; i < d; ++i)
      up += w.up[j * d + i] * upInput[i];
    if (!experts.gated) {
      hidden[j] = activate(experts.activation, up);
      continue;
    }
    double gate = (w.gateBias ? w.gateBias[j] : 0.0);
    for (int64_t i = 0; i < d; ++i)
      gate += w.gate[j * d + i] * gateInput[i];
    if (experts.activation == "swiglu_oai") {
      // gpt-oss: clamp, then (u + 1) * g * sigmoid(alpha * g).
      double g = std::min(gate, experts.limit);
      double u = std::max(std::min(up, experts.limit), -experts.limit);
      hidden[j] = (u + 1.0) * g * sigmoid(experts.alpha * g);
    } else {
      hidden[j] = activate(experts.activation, gate) * up;
    }
  }
  hidden = roundInputs(hidden, w.roundDownInput);
  std::vector<double> out(d);
  for (int64_t i = 0; i < d; ++i) {
    double sum = w.downBias ? w.downBias[i] : 0.0;
    for (int64_t j = 0; j < f; ++j)
      sum += w.down[i * f + j] * hidden[j];
    out[i] = sum;
  }
  return out;
}

/// Element `offset` of optional parameter `param`, or null.
const double *at(const std::vector<double> *param, int64_t offset) {
  return param ? param->data() + offset : nullptr;
}

} // namespace

MoEResult evaluateMoE(const NodeSpec &node, const ReferenceWeights &weights,
                      const Array2D &input) {
  const MoESpec &moe = node.moe;
  const RouterSpec &router = moe.router;
  const ExpertsSpec &experts = moe.experts;
  const int64_t t = input.rows, d = input.cols, e = moe.numExperts,
                k = moe.topK, f = moe.intermediateSize;
  auto param = [&](const char *role) { return weights.find(node.name, role); };
  const std::vector<double> &routerWeight = *param("router.weight");
  const std::vector<double> *linearBias = param("router.linear_bias");
  const std::vector<double> *selectionBias = param("router.bias");
  const std::vector<double> *noiseWeight = param("router.noise");

  // Steps 1-5 of the routing, token by token.
  SeededNormal noise(router.noiseSeed);
  std::vector<std::vector<double>> rows(t), scores(t), logitsOf(t);
  std::vector<std::vector<int64_t>> chosen(t);
  std::vector<std::vector<double>> routeWeights(t);
  for (int64_t token = 0; token < t; ++token) {
    std::vector<double> &x = rows[token];
    x.assign(input.values.begin() + token * d,
             input.values.begin() + (token + 1) * d);

    std::vector<double> logits(e);
    for (int64_t i = 0; i < e; ++i) {
      logits[i] = dotRow(routerWeight, i, d, x);
      if (linearBias)
        logits[i] += (*linearBias)[i];
      if (noiseWeight) {
        // eps drawn token-major, then in expert order.
        double eps = noise.normal();
        logits[i] += eps * softplus(dotRow(*noiseWeight, i, d, x));
      }
    }

    std::vector<double> s(e);
    if (router.scoring == "softmax") {
      double maxLogit = *std::max_element(logits.begin(), logits.end());
      double sum = 0.0;
      for (int64_t i = 0; i < e; ++i)
        sum += s[i] = std::exp(logits[i] - maxLogit);
      for (double &value : s)
        value /= sum;
    } else {
      for (int64_t i = 0; i < e; ++i)
        s[i] = sigmoid(logits[i]);
    }

    // The bias shifts the selection only, never the weights. Selection
    // compares scores as an f32 model holds them: experts whose scores round
    // to the same float tie, and the lower index wins (as in the compiled
    // code, and in PyTorch with f32 scores).
    std::vector<double> q(e);
    for (int64_t i = 0; i < e; ++i) {
      float score = static_cast<float>(s[i]);
      if (selectionBias)
        score += static_cast<float>((*selectionBias)[i]);
      q[i] = score;
    }

    std::vector<bool> eligible(e, true);
    if (router.numGroups > 1) {
      int64_t groupSize = e / router.numGroups;
      std::vector<double> groupScore(router.numGroups);
      for (int64_t g = 0; g < router.numGroups; ++g) {
        std::vector<double> members(q.begin() + g * groupSize,
                                    q.begin() + (g + 1) * groupSize);
        std::vector<int64_t> top =
            selectTop(members, std::vector<bool>(groupSize, true),
                      std::min<int64_t>(2, groupSize));
        // Summed in f32, as the compiled model does: group scores that
        // round to the same float tie too.
        float sum = 0.0f;
        for (int64_t member : top)
          sum += static_cast<float>(members[member]);
        groupScore[g] = sum;
      }
      std::vector<int64_t> groups =
          selectTop(groupScore, std::vector<bool>(router.numGroups, true),
                    router.topKGroups);
      std::fill(eligible.begin(), eligible.end(), false);
      for (int64_t g : groups)
        for (int64_t i = g * groupSize; i < (g + 1) * groupSize; ++i)
          eligible[i] = true;
    }

    chosen[token] = selectTop(q, eligible, k);
    std::vector<double> w;
    double sum = 0.0;
    for (int64_t index : chosen[token]) {
      w.push_back(s[index]);
      sum += s[index];
    }
    for (double &value : w) {
      if (router.normalizeTopK)
        value /= sum;
      value *= router.scalingFactor;
    }
    routeWeights[token] = w;
    scores[token] = s;
    logitsOf[token] = logits;
  }

  // Step 6: capacity, in token order, then in selection order.
  std::vector<double> routed(e, 0.0);
  std::vector<int64_t> kept(e, 0);
  std::vector<std::vector<bool>> keep(t);
  int64_t capacity = INT64_MAX;
  if (moe.capacityFactor) {
    // C = ceil(capacity_factor * T * k / E), evaluated in double.
    double c = std::ceil(*moe.capacityFactor * static_cast<double>(t * k) /
                         static_cast<double>(e));
    capacity = c < 9.0e18 ? static_cast<int64_t>(c) : INT64_MAX;
  }
  for (int64_t token = 0; token < t; ++token)
    for (int64_t index : chosen[token]) {
      routed[index] += 1.0;
      bool fits = kept[index] < capacity;
      if (fits)
        ++kept[index];
      keep[token].push_back(fits);
    }

  // Step 7: the experts and the shared expert.
  const std::vector<double> *gate = param("gate_proj"), *up = param("up_proj"),
                            *down = param("down_proj"),
                            *gateBias = param("gate_bias"),
                            *upBias = param("up_bias"),
                            *downBias = param("down_bias");
  MoEResult result;
  result.output.rows = t;
  result.output.cols = d;
  result.output.values.assign(static_cast<size_t>(t * d), 0.0f);
  for (int64_t token = 0; token < t; ++token) {
    const std::vector<double> &x = rows[token];
    std::vector<double> y(d, 0.0);
    for (size_t j = 0; j < chosen[token].size(); ++j) {
      if (!keep[token][j])
        continue;
      int64_t index = chosen[token][j];
      FFNWeights w;
      w.gate = at(gate, index * f * d);
      w.up = at(up, index * f * d);
      w.down = at(down, index * d * f);
      w.gateBias = at(gateBias, index * f);
      w.upBias = at(upBias, index * f);
      w.downBias = at(downBias, index * d);
      w.roundGateInput = weights.inputRounding(node.name, "gate_proj");
      w.roundUpInput = weights.inputRounding(node.name, "up_proj");
      w.roundDownInput = weights.inputRounding(node.name, "down_proj");
      std::vector<double> out = evaluateFFN(experts, w, f, x);
      for (int64_t i = 0; i < d; ++i)
        y[i] += routeWeights[token][j] * out[i];
    }
    if (moe.sharedExperts) {
      FFNWeights w;
      w.gate = at(param("shared.gate_proj"), 0);
      w.up = at(param("shared.up_proj"), 0);
      w.down = at(param("shared.down_proj"), 0);
      w.roundGateInput = weights.inputRounding(node.name, "shared.gate_proj");
      w.roundUpInput = weights.inputRounding(node.name, "shared.up_proj");
      w.roundDownInput = weights.inputRounding(node.name, "shared.down_proj");
      std::vector<double> out =
          evaluateFFN(experts, w, moe.sharedExperts->intermediateSize, x);
      double scale = 1.0;
      if (const std::vector<double> *sharedGate = param("shared.gate"))
        scale = sigmoid(dotRow(*sharedGate, 0, d, x));
      for (int64_t i = 0; i < d; ++i)
        y[i] += scale * out[i];
    }
    for (int64_t i = 0; i < d; ++i)
      result.output.values[token * d + i] = static_cast<float>(y[i]);
  }

  // The aux outputs.
  result.expertCounts.assign(kept.begin(), kept.end());
  if (t > 0) {
    double loss = 0.0;
    for (int64_t i = 0; i < e; ++i) {
      double meanScore = 0.0;
      for (int64_t token = 0; token < t; ++token)
        meanScore += scores[token][i];
      meanScore /= static_cast<double>(t);
      loss += routed[i] / static_cast<double>(t * k) * meanScore;
    }
    result.loadBalancingLoss = static_cast<double>(e) * loss;

    double zLoss = 0.0;
    for (int64_t token = 0; token < t; ++token) {
      const std::vector<double> &logits = logitsOf[token];
      double maxLogit = *std::max_element(logits.begin(), logits.end());
      double sum = 0.0;
      for (double logit : logits)
        sum += std::exp(logit - maxLogit);
      double lse = maxLogit + std::log(sum);
      zLoss += lse * lse;
    }
    result.routerZLoss = zLoss / static_cast<double>(t);
  }
  return result;
}

} // namespace reference
} // namespace moe
