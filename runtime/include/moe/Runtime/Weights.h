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
#include <functional>
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

/// The FNV-1a offset basis: the hash of no bytes.
constexpr uint64_t kFnv1a64Basis = 0xcbf29ce484222325ULL;

/// `hash` (of the bytes before) continued over `bytes` bytes at `data`.
uint64_t fnv1a64(const void *data, size_t bytes, uint64_t hash);

/// Called as weights load: bytes done of the total.
using LoadProgress = std::function<void(uint64_t done, uint64_t total)>;

/// Builds the parameter arena of `model` (resolved) from its weights.
/// Returns false with a message naming the file and tensor on bad input.
bool loadParameterArena(const ModelSpec &model, AlignedBuffer &arena,
                        std::string &error,
                        const LoadProgress &progress = nullptr);

/// The compiled moe_prepare_slice on host arenas (docs/abi.md): lays out
/// slice `slice` of parameter `param` and returns its slice count.
using PrepareSliceFunction = std::function<int64_t(
    int64_t param, int64_t slice, uint8_t *raw, uint8_t *prepared)>;

/// Builds the prepared parameter arena of `model` on the host a slice at a
/// time: each slice is read into a reservation the size of the arena,
/// laid out by `prepareSlice`, and its raw pages (and those of its source
/// in a mapped file) are given back. Besides the prepared arena, about one
/// slice is resident at a time, where loading then preparing would hold
/// two arenas.
bool loadPreparedParameterArena(const ModelSpec &model,
                                const PrepareSliceFunction &prepareSlice,
                                AlignedBuffer &prepared, std::string &error,
                                const LoadProgress &progress = nullptr);

} // namespace moe

#endif // MOE_RUNTIME_WEIGHTS_H
