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

/// Leaf 7's registers for `subleaf`; zeros where the CPU has no leaf 7.
struct Leaf7 {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Leaf7 cpuidLeaf7(unsigned subleaf) {
  Leaf7 leaf;
#if defined(__x86_64__)
  if (__get_cpuid_max(0, nullptr) >= 7)
    __cpuid_count(7, subleaf, leaf.eax, leaf.ebx, leaf.ecx, leaf.edx);
#else
  (void)subleaf;
#endif
  return leaf;
}

/// Asks Linux for the AMX tile data state (XFEATURE_XTILEDATA) for this
/// process; the answer is kept, so the request is made once.
bool requestAMXTileData(std::string &error) {
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
  if (refusal.empty())
    return true;
  error = "the kernel refused this process the AMX tile state "
          "(arch_prctl ARCH_REQ_XCOMP_PERM: " +
          refusal + "), which the model's --amx code needs";
  return false;
}

} // namespace

bool cpuHasFeature(const std::string &name) {
  if (name == MOE_ABI_CPU_FEATURE_AVX512BF16)
    return cpuidLeaf7(1).eax & (1u << 5);
  if (name == MOE_ABI_CPU_FEATURE_AMX_BF16)
    return cpuidLeaf7(0).edx & (1u << 22);
  if (name == MOE_ABI_CPU_FEATURE_AMX_TILE)
    return cpuidLeaf7(0).edx & (1u << 24);
  return false;
}

bool enableCPUFeatures(const std::string &features, std::string &error) {
  std::stringstream list(features);
  std::string name;
  bool amx = false;
  while (std::getline(list, name, ',')) {
    if (name.empty())
      continue;
    if (name != MOE_ABI_CPU_FEATURE_AVX512BF16 &&
        name != MOE_ABI_CPU_FEATURE_AMX_TILE &&
        name != MOE_ABI_CPU_FEATURE_AMX_BF16) {
      error = "the model needs the CPU feature '" + name +
              "', which this runtime does not know; compile it again with "
              "this moe-compile";
      return false;
    }
    if (!cpuHasFeature(name)) {
      error =
          "the model was compiled for a CPU with " + name + " (moe-compile " +
          (name == MOE_ABI_CPU_FEATURE_AVX512BF16 ? "--bf16-dot" : "--amx") +
          "), and this one has none; compile it without that option";
      return false;
    }
    amx = amx || name == MOE_ABI_CPU_FEATURE_AMX_TILE;
  }
  return !amx || requestAMXTileData(error);
}

} // namespace moe
