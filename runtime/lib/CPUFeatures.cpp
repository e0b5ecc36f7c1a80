//===- CPUFeatures.cpp - What a compiled model needs of the CPU -----------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements enableCPUFeatures: CPUID for the features an object
// lists, and the Linux permission AMX's tile data needs before its first
// instruction (without it the instruction faults).
//
//===----------------------------------------------------------------------===//

#include "moe/Runtime/CPUFeatures.h"
#include "moe/ABI/ABI.h"

#include <cerrno>
#include <cstring>
#include <sstream>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace moe {
namespace {

/// A feature moe_cpu_features may list: its CPUID leaf 7 bit.
struct KnownFeature {
  const char *name;
  unsigned subleaf;
  /// Which of eax, ebx, ecx, edx (0 to 3) holds the bit.
  unsigned reg;
  unsigned bit;
};

constexpr KnownFeature kKnownFeatures[] = {
    {MOE_ABI_CPU_FEATURE_AVX512BF16, 1, 0, 5},
    {MOE_ABI_CPU_FEATURE_AMX_BF16, 0, 3, 22},
    {MOE_ABI_CPU_FEATURE_AMX_TILE, 0, 3, 24},
};

const KnownFeature *findFeature(const std::string &name) {
  for (const KnownFeature &feature : kKnownFeatures)
    if (name == feature.name)
      return &feature;
  return nullptr;
}

/// Whether this CPU reports `feature` (false where it has no leaf 7).
bool hasFeature(const KnownFeature &feature) {
  unsigned registers[4] = {0, 0, 0, 0};
#if defined(__x86_64__)
  if (__get_cpuid_max(0, nullptr) >= 7)
    __cpuid_count(7, feature.subleaf, registers[0], registers[1], registers[2],
                  registers[3]);
#endif
  return registers[feature.reg] & (1u << feature.bit);
}

} // namespace

bool requestAMXTileData(std::string &reason) {
  static const std::string refusal = []() -> std::string {
#if defined(__linux__) && defined(__x86_64__)
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0)
      return std::strerror(errno);
    return std::string();
#else
    return "not Linux on x86-64";
#endif
  }();
  reason = refusal;
  return refusal.empty();
}

bool cpuHasFeature(const std::string &name) {
  const KnownFeature *feature = findFeature(name);
  return feature && hasFeature(*feature);
}

bool enableCPUFeatures(const std::string &features, std::string &error) {
  std::stringstream list(features);
  std::string name;
  bool amx = false;
  while (std::getline(list, name, ',')) {
    if (name.empty())
      continue;
    const KnownFeature *feature = findFeature(name);
    if (!feature) {
      error = "the model needs the CPU feature '" + name +
              "', which this runtime does not know; compile it again with "
              "this moe-compile";
      return false;
    }
    if (!hasFeature(*feature)) {
      error =
          "the model was compiled for a CPU with " + name + " (moe-compile " +
          (name == MOE_ABI_CPU_FEATURE_AVX512BF16 ? "--bf16-dot" : "--amx") +
          "), and this one has none; compile it without that option";
      return false;
    }
    amx = amx || name == MOE_ABI_CPU_FEATURE_AMX_TILE;
  }
  std::string reason;
  if (!amx || requestAMXTileData(reason))
    return true;
  error = "the kernel refused this process the AMX tile state "
          "(arch_prctl ARCH_REQ_XCOMP_PERM: " +
          reason + "), which the model's --amx code needs";
  return false;
}

} // namespace moe
