//===- CPUFeatures.h - What a compiled model needs of the CPU ---*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The check and set-up behind an object's moe_cpu_features (docs/abi.md).
//
//===----------------------------------------------------------------------===//

#ifndef MOE_RUNTIME_CPUFEATURES_H
#define MOE_RUNTIME_CPUFEATURES_H

#include <string>

namespace moe {

/// Makes the comma-separated CPU features `features` (the
/// MOE_ABI_CPU_FEATURE_* names) usable by this process: each must be one
/// this runtime knows and this CPU has, and for AMX the kernel must grant
/// the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once per
/// process). False with `error` saying which feature is missing and why.
bool enableCPUFeatures(const std::string &features, std::string &error);

/// Whether this CPU has the feature `name` (a MOE_ABI_CPU_FEATURE_* name;
/// false for any other).
bool cpuHasFeature(const std::string &name);

/// Asks Linux for the AMX tile data state (XFEATURE_XTILEDATA) for this
/// process, once: the first tile instruction faults without it. False with
/// `reason` (strerror) when refused.
bool requestAMXTileData(std::string &reason);

} // namespace moe

#endif // MOE_RUNTIME_CPUFEATURES_H
