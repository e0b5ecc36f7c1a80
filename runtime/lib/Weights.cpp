//===- Weights.cpp - Binding weights into the parameter arena -------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements the aligned arena buffer, the seeded generator of the
// random init, and loadParameterArena, which fills the arena of a resolved
// model from its safetensors file (bytes copied as they are, so weights keep
// their dtype) or from the random init.
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/Weights.h"
#include "moe/Model/WeightFiles.h"

#include "Support.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

namespace moe {

//===----------------------------------------------------------------------===//
// AlignedBuffer
//===----------------------------------------------------------------------===//

AlignedBuffer::AlignedBuffer(uint64_t size) : bytes(size) {
  if (size == 0)
    return;
  // aligned_alloc wants a multiple of the alignment.
  uint64_t rounded = alignArenaOffset(size);
  if (rounded < size || rounded > SIZE_MAX)
    return;
  ptr = static_cast<uint8_t *>(
      std::aligned_alloc(kArenaAlignment, static_cast<size_t>(rounded)));
  if (ptr)
    std::memset(ptr, 0, static_cast<size_t>(rounded));
}

AlignedBuffer::AlignedBuffer(AlignedBuffer &&other) noexcept
    : ptr(std::exchange(other.ptr, nullptr)),
      bytes(std::exchange(other.bytes, 0)) {}

AlignedBuffer &AlignedBuffer::operator=(AlignedBuffer &&other) noexcept {
  if (this != &other) {
    std::free(ptr);
    ptr = std::exchange(other.ptr, nullptr);
    bytes = std::exchange(other.bytes, 0);
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { std::free(ptr); }

//===----------------------------------------------------------------------===//
// SeededNormal
//===----------------------------------------------------------------------===//

uint64_t SeededNormal::next() {
  // splitmix64 (Steele, Lea and Flood).
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SeededNormal::uniform() {
  // The top 53 bits: every double in [0, 1) on a 2^-53 grid.
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double SeededNormal::normal() {
  if (hasSpare) {
    hasSpare = false;
    return spare;
  }
  // Box-Muller: the cosine sample now, the sine sample on the next call.
  // 1 - u lies in (0, 1], so the logarithm is finite.
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  double radius = std::sqrt(-2.0 * std::log(u1));
  const double twoPi = 6.283185307179586476925286766559;
  double angle = twoPi * u2;
  spare = radius * std::sin(angle);
  hasSpare = true;
  return radius * std::cos(angle);
}

uint64_t fnv1a64(const std::string &text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

//===----------------------------------------------------------------------===//
// loadParameterArena
//===----------------------------------------------------------------------===//

namespace {

/// Copies one slice of `param` out of its source tensor `source` into
/// `slice`, element by element of `elementBytes` bytes.
void gatherSlice(const ParamSpec &param, const uint8_t *source,
                 size_t elementBytes, uint8_t *slice) {
  param.forEachSliceRun([&](const SliceRun &run) {
    uint8_t *to = slice + run.sliceOffset * elementBytes;
    const uint8_t *from = source + run.sourceOffset * elementBytes;
    if (run.sourceStride == 1) {
      std::memcpy(to, from, run.count * elementBytes);
      return;
    }
    for (uint64_t i = 0; i < run.count; ++i)
      std::memcpy(to + i * elementBytes,
                  from + i * run.sourceStride * elementBytes, elementBytes);
  });
}

/// Fills `arena` from the random init of `model`.
void fillRandom(const ModelSpec &model, uint8_t *arena) {
  std::vector<float> drawn;
  for (const ParamSpec &param : model.params) {
    uint64_t count = param.sliceElements();
    for (size_t s = 0; s < param.sourceNames.size(); ++s) {
      float *slice =
          reinterpret_cast<float *>(arena + param.offset) + s * count;
      switch (param.init) {
      case InitKind::Ones:
        std::fill(slice, slice + count, 1.0f);
        break;
      case InitKind::Zeros:
        std::fill(slice, slice + count, 0.0f);
        break;
      case InitKind::Normal: {
        // Each source tensor has its own stream, so a tensor's values do
        // not depend on the rest of the model; a view draws its whole
        // source, so the parts of a fused tensor come from one tensor.
        SeededNormal generator(model.weights.seed ^
                               fnv1a64(param.sourceNames[s]));
        float *target = slice;
        if (param.view) {
          drawn.resize(param.sourceElements());
          target = drawn.data();
        }
        for (uint64_t i = 0, n = param.sourceElements(); i < n; ++i)
          target[i] =
              static_cast<float>(generator.normal() * model.weights.stdDev);
        if (param.view)
          gatherSlice(param, reinterpret_cast<const uint8_t *>(drawn.data()),
                      sizeof(float), reinterpret_cast<uint8_t *>(slice));
        break;
      }
      }
    }
  }
}

/// Copies every parameter of `model` from its weights file into `arena`.
bool fillFromFile(const ModelSpec &model, uint8_t *arena, std::string &error) {
  std::unique_ptr<WeightFiles> files = WeightFiles::open(model.weights, error);
  if (!files)
    return false;
  for (const ParamSpec &param : model.params) {
    size_t elementBytes = dtypeSize(param.dtype);
    uint64_t sliceBytes = param.sliceElements() * elementBytes;
    uint64_t sourceBytes = param.sourceElements() * elementBytes;
    for (size_t s = 0; s < param.sourceNames.size(); ++s) {
      const std::string &name = param.sourceNames[s];
      const WeightFiles::Tensor *tensor = files->find(name);
      auto fail = [&](const std::string &text) {
        error = detail::makeError(
            tensor ? tensor->file->path() : model.weights.describe(),
            "tensor " + detail::quote(name) + " (parameter " +
                detail::quote(param.key) + "): " + text);
        return false;
      };
      // The model was resolved against these files' headers; check again in
      // case a file changed in between.
      if (!tensor)
        return fail("not found");
      const SafetensorsEntry *entry = tensor->entry;
      if (!entry->dtype)
        return fail(std::string("unsupported dtype ") +
                    storageDTypeName(entry->storageDType) +
                    " (expected F32, BF16 or F16)");
      if (*entry->dtype != param.dtype)
        return fail(std::string("dtype ") + dtypeName(*entry->dtype) +
                    ", expected " + dtypeName(param.dtype));
      if (entry->shape != param.sourceShape ||
          entry->end - entry->begin != sourceBytes)
        return fail("shape " + detail::formatShape(entry->shape) +
                    ", expected " + detail::formatShape(param.sourceShape));
      // The data may be unaligned in the file: copy bytes.
      gatherSlice(param, tensor->file->data(*entry), elementBytes,
                  arena + param.offset + s * sliceBytes);
    }
  }
  return true;
}

} // namespace

bool loadParameterArena(const ModelSpec &model, AlignedBuffer &arena,
                        std::string &error) {
  try {
    // Check the layout before writing through it.
    for (const ParamSpec &param : model.params) {
      uint64_t end = 0;
      bool f32 = !model.weights.isRandom() || param.dtype == DType::F32;
      if (!f32 || param.sourceNames.empty() ||
          !detail::checkedAdd(param.offset, param.bytes(), end) ||
          end > model.paramBytes ||
          param.sliceElements() * param.sourceNames.size() *
                  dtypeSize(param.dtype) !=
              param.bytes()) {
        error = detail::makeError(model.path,
                                  "parameter " + detail::quote(param.key) +
                                      " has an invalid layout; was the "
                                      "model resolved?");
        return false;
      }
    }
    AlignedBuffer buffer(model.paramBytes);
    if (!buffer) {
      error = detail::makeError(
          model.path, "cannot allocate " + std::to_string(model.paramBytes) +
                          " bytes of parameters");
      return false;
    }
    if (model.weights.isRandom())
      fillRandom(model, buffer.data());
    else if (!fillFromFile(model, buffer.data(), error))
      return false;
    arena = std::move(buffer);
    return true;
  } catch (const std::exception &e) {
    error = detail::makeError(model.path,
                              std::string("cannot load weights: ") + e.what());
    return false;
  }
}

} // namespace moe
