//===- machine-peak.cpp - Measure this CPU's limits -------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// Prints the FP32 FMA peak (a register-only loop of independent FMAs, as
// wide as the CPU's vectors: 16 floats with AVX-512, else 8 with AVX2 and
// FMA) and the streaming read bandwidth (a sum over a buffer much larger
// than the caches), on one thread and on every core, so benchmarks can
// report MoE throughput as a percentage of the limit that binds it. On a
// CPU with AMX-BF16 it also prints the tile unit's BF16 peak (a loop of
// independent tdpbf16ps on tiles that stay in the tile registers), and
// otherwise says why there is none.
//
//   machine-peak -> "fp32_fma_gflops=... read_gbps=... threads=N
//                    fp32_fma_gflops_all=... read_gbps_all=...
//                    [amx_bf16_gflops=... amx_bf16_gflops_all=...]"
//
//===----------------------------------------------------------------------===//

#include "moe/ABI/ABI.h"
#include "moe/Runtime/CPUFeatures.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

// The widest float vectors this build's target has (-march=native): the
// session machines have AVX-512 or only AVX2, and the peak is the width's.
#if defined(__AVX512F__)
using FloatVector = __m512;
constexpr int kVectorFloats = 16;
FloatVector splat(float value) { return _mm512_set1_ps(value); }
FloatVector loadFloats(const float *data) { return _mm512_loadu_ps(data); }
FloatVector addFloats(FloatVector a, FloatVector b) {
  return _mm512_add_ps(a, b);
}
FloatVector fusedMultiplyAdd(FloatVector a, FloatVector b, FloatVector c) {
  return _mm512_fmadd_ps(a, b, c);
}
float sumLanes(FloatVector v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
using FloatVector = __m256;
constexpr int kVectorFloats = 8;
FloatVector splat(float value) { return _mm256_set1_ps(value); }
FloatVector loadFloats(const float *data) { return _mm256_loadu_ps(data); }
FloatVector addFloats(FloatVector a, FloatVector b) {
  return _mm256_add_ps(a, b);
}
FloatVector fusedMultiplyAdd(FloatVector a, FloatVector b, FloatVector c) {
  return _mm256_fmadd_ps(a, b, c);
}
float sumLanes(FloatVector v) {
  alignas(32) float lanes[kVectorFloats];
  _mm256_store_ps(lanes, v);
  float sum = 0;
  for (float lane : lanes)
    sum += lane;
  return sum;
}
#else
#error "machine-peak needs AVX2 and FMA, or AVX-512"
#endif

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// GFLOP/s of 12 independent FMA chains on vector registers.
double fmaPeak() {
  constexpr int kChains = 12;
  constexpr long kIterations = 20'000'000;
  FloatVector acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = splat(1.0f + i * 1e-3f);
  FloatVector a = splat(0.999999f), b = splat(1e-7f);
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    auto start = std::chrono::steady_clock::now();
    for (long it = 0; it < kIterations; ++it)
      for (int i = 0; i < kChains; ++i)
        acc[i] = fusedMultiplyAdd(acc[i], a, b);
    double flops = 2.0 * kVectorFloats * kChains * kIterations;
    best = std::max(best, flops / seconds(start) / 1e9);
  }
  float sink = 0;
  for (int i = 0; i < kChains; ++i)
    sink += sumLanes(acc[i]);
  if (sink == 42.0f)
    std::puts("");
  return best;
}

/// Whether this CPU has AMX-BF16 and Linux lets this process use the tile
/// data (asked once, for every thread), as the runtime checks and asks
/// for an --amx model; `why` says what is missing.
bool amxUsable(std::string &why) {
  if (!moe::cpuHasFeature(MOE_ABI_CPU_FEATURE_AMX_TILE) ||
      !moe::cpuHasFeature(MOE_ABI_CPU_FEATURE_AMX_BF16)) {
    why = "this CPU has no AMX-BF16";
    return false;
  }
  std::string reason;
  if (!moe::requestAMXTileData(reason)) {
    why = "the kernel refused the AMX tile state: " + reason;
    return false;
  }
  return true;
}

/// The tile configuration of amxPeak: tiles 0-3 accumulate 16 x 16 f32,
/// tiles 4-7 hold 16 rows of 32 bf16.
struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0, reserved[14] = {};
  uint16_t columnBytes[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

/// GFLOP/s of tdpbf16ps (16 x 16 x 32 multiply-adds each) on four
/// independent accumulator tiles from four operand tiles, all in tile
/// registers: the tile unit's peak, as fmaPeak is the FMA units'.
__attribute__((target("amx-tile,amx-bf16"))) double amxPeak() {
  TileConfig config;
  _tile_loadconfig(&config);
  alignas(64) static const uint16_t ones[16 * 32] = {};
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_loadd(6, ones, 64);
  _tile_loadd(7, ones, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  constexpr long kIterations = 2'000'000;
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    auto start = std::chrono::steady_clock::now();
    for (long it = 0; it < kIterations; ++it) {
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
    double flops = 4.0 * 2 * 16 * 16 * 32 * kIterations;
    best = std::max(best, flops / seconds(start) / 1e9);
  }
  alignas(64) float sink[16 * 16];
  _tile_stored(0, sink, 64);
  _tile_release();
  if (sink[0] == 42.0f)
    std::puts("");
  return best;
}

/// A vectorised sum of `count` floats (a multiple of 64).
float sumFloats(const float *data, size_t count) {
  static_assert(64 % (4 * kVectorFloats) == 0, "64 floats a step");
  FloatVector s0 = splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < count; i += 4 * kVectorFloats) {
    s0 = addFloats(s0, loadFloats(&data[i]));
    s1 = addFloats(s1, loadFloats(&data[i + kVectorFloats]));
    s2 = addFloats(s2, loadFloats(&data[i + 2 * kVectorFloats]));
    s3 = addFloats(s3, loadFloats(&data[i + 3 * kVectorFloats]));
  }
  return sumLanes(addFloats(addFloats(s0, s1), addFloats(s2, s3)));
}

/// Runs `work(thread)` on `threads` threads at once; returns the seconds
/// the slowest took.
template <typename Work> double timeOnThreads(int threads, Work work) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back(work, t);
  for (std::thread &thread : pool)
    thread.join();
  return seconds(start);
}

/// GB/s of `threads` threads each summing its share of 1 GiB.
double readBandwidthOn(int threads) {
  size_t count = (size_t(1) << 30) / sizeof(float);
  std::vector<float> data(count, 1.0f);
  size_t share = count / threads / 64 * 64;
  double best = 0;
  for (int repeat = 0; repeat < 3; ++repeat) {
    std::vector<float> sinks(threads);
    double elapsed = timeOnThreads(threads, [&](int t) {
      sinks[t] = sumFloats(data.data() + t * share, share);
    });
    if (sinks[0] == 42.0f)
      std::puts("");
    best = std::max(best, share * threads * sizeof(float) / elapsed / 1e9);
  }
  return best;
}

} // namespace

int main() {
  int threads = std::max(1u, std::thread::hardware_concurrency());
  double single = fmaPeak();
  double singleRead = readBandwidthOn(1);
  std::vector<double> peaks(threads);
  timeOnThreads(threads, [&](int t) { peaks[t] = fmaPeak(); });
  double all = 0;
  for (double peak : peaks)
    all += peak;
  std::printf("fp32_fma_gflops=%.1f read_gbps=%.1f threads=%d "
              "fp32_fma_gflops_all=%.1f read_gbps_all=%.1f",
              single, singleRead, threads, all, readBandwidthOn(threads));
  std::string why;
  if (amxUsable(why)) {
    double amxSingle = amxPeak();
    std::vector<double> amxPeaks(threads);
    timeOnThreads(threads, [&](int t) { amxPeaks[t] = amxPeak(); });
    double amxAll = 0;
    for (double peak : amxPeaks)
      amxAll += peak;
    std::printf(" amx_bf16_gflops=%.1f amx_bf16_gflops_all=%.1f\n", amxSingle,
                amxAll);
  } else {
    std::printf(" amx_bf16=none (%s)\n", why.c_str());
  }
  return 0;
}
