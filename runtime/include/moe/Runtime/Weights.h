//===- Weights.h - Binding weights into the parameter arena -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Fills the parameter arena of a resolved model (ModelSpec::params) from its
// safetensors file, stacking per-expert tensors into [E, ...] parameters, or
// from the seeded random init of the model format (normal(0, std) weights,
// norm weights 1, biases 0). Weights keep their dtype in the arena.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_WEIGHTS_H
#define MOE_RUNTIME_WEIGHTS_H

#include "moe/Model/ModelSpec.h"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace moe {

/// A 64-byte-aligned, zero-initialised byte buffer.
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(uint64_t bytes);
  AlignedBuffer(AlignedBuffer &&other) noexcept;
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept;
  ~AlignedBuffer();

  uint8_t *data() { return ptr; }
  const uint8_t *data() const { return ptr; }
  uint64_t size() const { return bytes; }
  /// False when the allocation failed.
  explicit operator bool() const { return ptr != nullptr || bytes == 0; }

private:
  uint8_t *ptr = nullptr;
  uint64_t bytes = 0;
};

/// The deterministic generator of the random init: splitmix64 driving a
/// Box-Muller transform. The same seed gives the same values everywhere.
class SeededNormal {
public:
  explicit SeededNormal(uint64_t seed) : state(seed) {}
  /// A uniform double in [0, 1).
  double uniform();
  /// A standard normal sample.
  double normal();

private:
  uint64_t next();
  uint64_t state;
  bool hasSpare = false;
  double spare = 0.0;
};

/// The 64-bit FNV-1a hash of `text`. The random init seeds the generator of
/// each source tensor named N with `seed ^ fnv1a64(N)`.
uint64_t fnv1a64(const std::string &text);

/// Builds the parameter arena of `model` (resolved) from its weights.
/// Returns false with a message naming the file and tensor on bad input.
bool loadParameterArena(const ModelSpec &model, AlignedBuffer &arena,
                        std::string &error);

} // namespace moe

#endif // MOE_RUNTIME_WEIGHTS_H
