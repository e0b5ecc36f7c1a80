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
#include <optional>
#include <sys/mman.h>
#include <unistd.h>
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

uint64_t fnv1a64(const void *data, size_t bytes, uint64_t hash) {
  const auto *at = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < bytes; ++i) {
    hash ^= at[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

uint64_t fnv1a64(const std::string &text) {
  return fnv1a64(text.data(), text.size(), kFnv1a64Basis);
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

/// Writes the raw bytes of parameters' source tensors (each a slice of its
/// parameter) from the weights files or the random init, whole or in
/// increasing byte ranges.
class SourceFiller {
public:
  SourceFiller(const ModelSpec &model, const WeightFiles *files)
      : model(model), files(files) {}

  /// Writes source `s` of `param` to `slice`, its place in the arena.
  bool fillWhole(const ParamSpec &param, size_t s, uint8_t *slice,
                 std::string &error) {
    if (!param.view)
      return fillRange(param, s, 0, sliceBytes(param), slice, error);
    size_t elementBytes = dtypeSize(param.dtype);
    if (files) {
      const uint8_t *data = nullptr;
      if (!checkTensor(param, s, data, error))
        return false;
      gatherSlice(param, data, elementBytes, slice);
      return true;
    }
    // A view draws its whole source, so the parts of a fused tensor come
    // from one tensor's stream.
    drawn.resize(param.sourceElements());
    if (param.init == InitKind::Normal) {
      SeededNormal generator(model.weights.seed ^
                             fnv1a64(param.sourceNames[s]));
      for (float &value : drawn)
        value = static_cast<float>(generator.normal() * model.weights.stdDev);
    } else {
      std::fill(drawn.begin(), drawn.end(),
                param.init == InitKind::Ones ? 1.0f : 0.0f);
    }
    gatherSlice(param, reinterpret_cast<const uint8_t *>(drawn.data()),
                sizeof(float), slice);
    return true;
  }

  /// Writes bytes [begin, end) of source `s` of `param`, which has no view,
  /// to `slice + begin`. The ranges of one source come in increasing order.
  bool fillRange(const ParamSpec &param, size_t s, uint64_t begin,
                 uint64_t end, uint8_t *slice, std::string &error) {
    if (files) {
      const uint8_t *data = nullptr;
      if (!checkTensor(param, s, data, error))
        return false;
      // The data may be unaligned in the file: copy bytes.
      std::memcpy(slice + begin, data + begin, end - begin);
      source = data;
      return true;
    }
    float *to = reinterpret_cast<float *>(slice + begin);
    uint64_t count = (end - begin) / sizeof(float);
    if (param.init != InitKind::Normal) {
      std::fill(to, to + count, param.init == InitKind::Ones ? 1.0f : 0.0f);
      return true;
    }
    // Each source tensor has its own stream, so a tensor's values do not
    // depend on the rest of the model, nor on the pieces it is drawn in.
    if (begin == 0 || drawing != std::make_pair(&param, s)) {
      generator.emplace(model.weights.seed ^ fnv1a64(param.sourceNames[s]));
      drawing = {&param, s};
    }
    for (uint64_t i = 0; i < count; ++i)
      to[i] = static_cast<float>(generator->normal() * model.weights.stdDev);
    return true;
  }

  /// The bytes of one source slice of `param`.
  static uint64_t sliceBytes(const ParamSpec &param) {
    return param.sliceElements() * dtypeSize(param.dtype);
  }

  /// The mapped data of the last tensor fillRange read, or null.
  const uint8_t *lastSource() const { return source; }

private:
  /// Finds source `s` of `param` in the files and checks it against what
  /// the model was resolved with, in case a file changed in between.
  bool checkTensor(const ParamSpec &param, size_t s, const uint8_t *&data,
                   std::string &error) {
    const std::string &name = param.sourceNames[s];
    const WeightFiles::Tensor *tensor = files->find(name);
    auto fail = [&](const std::string &text) {
      error = detail::makeError(
          tensor ? tensor->file->path() : model.weights.describe(),
          "tensor " + detail::quote(name) + " (parameter " +
              detail::quote(param.key) + "): " + text);
      return false;
    };
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
        entry->end - entry->begin !=
            param.sourceElements() * dtypeSize(param.dtype))
      return fail("shape " + detail::formatShape(entry->shape) +
                  ", expected " + detail::formatShape(param.sourceShape));
    data = tensor->file->data(*entry);
    return true;
  }

  const ModelSpec &model;
  const WeightFiles *files;
  std::vector<float> drawn;
  std::optional<SeededNormal> generator;
  std::pair<const ParamSpec *, size_t> drawing{nullptr, 0};
  const uint8_t *source = nullptr;
};

/// Gives the whole pages inside [begin, begin + bytes) back to the system:
/// a mapped file's are dropped from this process (they stay in the page
/// cache), anonymous ones are freed.
void releasePages(const uint8_t *begin, uint64_t bytes) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page *
                    page;
  uintptr_t last = (reinterpret_cast<uintptr_t>(begin) + bytes) / page * page;
  if (last > first)
    madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
}

/// Checks `model`'s parameter layout before anything is written through it.
bool checkLayout(const ModelSpec &model, std::string &error) {
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
  return true;
}

/// The message of a parameter arena that could not be allocated.
std::string cannotAllocate(const ModelSpec &model) {
  return detail::makeError(model.path, "cannot allocate " +
                                           std::to_string(model.paramBytes) +
                                           " bytes of parameters");
}

/// The weights files of `model`, or null for random init (true) or on
/// failure (false, with `error`).
bool openFiles(const ModelSpec &model, std::unique_ptr<WeightFiles> &files,
               std::string &error) {
  if (model.weights.isRandom())
    return true;
  files = WeightFiles::open(model.weights, error);
  return files != nullptr;
}

} // namespace

bool loadParameterArena(const ModelSpec &model, AlignedBuffer &arena,
                        std::string &error, const LoadProgress &progress) {
  try {
    if (!checkLayout(model, error))
      return false;
    AlignedBuffer buffer(model.paramBytes);
    if (!buffer) {
      error = cannotAllocate(model);
      return false;
    }
    std::unique_ptr<WeightFiles> files;
    if (!openFiles(model, files, error))
      return false;
    SourceFiller filler(model, files.get());
    uint64_t done = 0;
    for (const ParamSpec &param : model.params) {
      uint64_t bytes = SourceFiller::sliceBytes(param);
      for (size_t s = 0; s < param.sourceNames.size(); ++s) {
        if (!filler.fillWhole(param, s,
                              buffer.data() + param.offset + s * bytes, error))
          return false;
        done += bytes;
        if (progress)
          progress(done, model.paramBytes);
      }
    }
    arena = std::move(buffer);
    return true;
  } catch (const std::exception &e) {
    error = detail::makeError(model.path,
                              std::string("cannot load weights: ") + e.what());
    return false;
  }
}

bool loadPreparedParameterArena(const ModelSpec &model,
                                const PrepareSliceFunction &prepareSlice,
                                AlignedBuffer &prepared, std::string &error,
                                const LoadProgress &progress) {
  try {
    if (!checkLayout(model, error))
      return false;
    AlignedBuffer buffer(model.paramBytes);
    // The raw arena is a reservation: a slice's pages are touched when it
    // is read and given back once it is laid out.
    void *reservation =
        model.paramBytes == 0
            ? nullptr
            : mmap(nullptr, model.paramBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!buffer || reservation == MAP_FAILED) {
      error = cannotAllocate(model);
      return false;
    }
    struct Unmap {
      void *at;
      uint64_t bytes;
      ~Unmap() {
        if (at)
          munmap(at, bytes);
      }
    } unmap{reservation, model.paramBytes};
    auto *raw = static_cast<uint8_t *>(reservation);
    std::unique_ptr<WeightFiles> files;
    if (!openFiles(model, files, error))
      return false;
    SourceFiller filler(model, files.get());
    uint64_t done = 0;
    for (size_t index = 0; index < model.params.size(); ++index) {
      const ParamSpec &param = model.params[index];
      int64_t slices = prepareSlice(static_cast<int64_t>(index), -1, raw,
                                    buffer.data());
      if (slices < 1 || param.bytes() % static_cast<uint64_t>(slices) != 0) {
        error = detail::makeError(
            model.path, "internal error: parameter " +
                            detail::quote(param.key) + " has " +
                            std::to_string(slices) + " slices to lay out");
        return false;
      }
      uint64_t sliceBytes = param.bytes() / static_cast<uint64_t>(slices);
      uint64_t sourceBytes = SourceFiller::sliceBytes(param);
      uint8_t *base = raw + param.offset;
      // Lays out and releases every slice that [0, filled) completes.
      int64_t next = 0;
      auto layOut = [&](uint64_t filled) {
        for (; next < slices && (next + 1) * sliceBytes <= filled; ++next) {
          prepareSlice(static_cast<int64_t>(index), next, raw, buffer.data());
          releasePages(base + next * sliceBytes, sliceBytes);
        }
      };
      for (size_t s = 0; s < param.sourceNames.size(); ++s) {
        uint8_t *slice = base + s * sourceBytes;
        if (param.view) {
          if (!filler.fillWhole(param, s, slice, error))
            return false;
          layOut((s + 1) * sourceBytes);
        } else {
          // A source in pieces of the slices it holds: a stacked tensor
          // is read an expert at a time.
          uint64_t begin = s * sourceBytes, end = begin + sourceBytes;
          while (begin < end) {
            uint64_t stop =
                std::min(end, (begin / sliceBytes + 1) * sliceBytes);
            if (!filler.fillRange(param, s, begin - s * sourceBytes,
                                  stop - s * sourceBytes, slice, error))
              return false;
            if (filler.lastSource())
              releasePages(filler.lastSource() + (begin - s * sourceBytes),
                           stop - begin);
            layOut(stop);
            begin = stop;
          }
        }
        done += sourceBytes;
        if (progress)
          progress(done, model.paramBytes);
      }
      layOut(param.bytes());
    }
    prepared = std::move(buffer);
    return true;
  } catch (const std::exception &e) {
    error = detail::makeError(model.path,
                              std::string("cannot load weights: ") + e.what());
    return false;
  }
}

} // namespace moe
