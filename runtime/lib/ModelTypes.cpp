//===- ModelTypes.cpp - Dtypes, node kinds and parameter layout ----------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The tables behind ModelSpec.h's enums (dtypes as stored and as computed,
// node kinds), the arena alignment, and how a parameter's bytes map onto
// its source tensor.
//
//===----------------------------------------------------------------------===//

#include "moe/Model/ModelSpec.h"

#include "Support.h"

#include <cstring>

namespace moe {

//===----------------------------------------------------------------------===//
// Enums, sizes and the arena layout
//===----------------------------------------------------------------------===//

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return 4;
  case DType::BF16:
  case DType::F16:
    return 2;
  }
  return 0;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::BF16:
    return "BF16";
  case DType::F16:
    return "F16";
  }
  return "?";
}

namespace {

/// The dtypes of the safetensors format, with their sizes in bits.
struct StorageDTypeInfo {
  StorageDType dtype;
  const char *name;
  unsigned bits;
};
constexpr StorageDTypeInfo kStorageDTypes[] = {
    {StorageDType::BOOL, "BOOL", 8},
    {StorageDType::U8, "U8", 8},
    {StorageDType::I8, "I8", 8},
    {StorageDType::U16, "U16", 16},
    {StorageDType::I16, "I16", 16},
    {StorageDType::U32, "U32", 32},
    {StorageDType::I32, "I32", 32},
    {StorageDType::U64, "U64", 64},
    {StorageDType::I64, "I64", 64},
    {StorageDType::F4, "F4", 4},
    {StorageDType::F6_E2M3, "F6_E2M3", 6},
    {StorageDType::F6_E3M2, "F6_E3M2", 6},
    {StorageDType::F8_E5M2, "F8_E5M2", 8},
    {StorageDType::F8_E4M3, "F8_E4M3", 8},
    {StorageDType::F8_E8M0, "F8_E8M0", 8},
    {StorageDType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {StorageDType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {StorageDType::F16, "F16", 16},
    {StorageDType::BF16, "BF16", 16},
    {StorageDType::F32, "F32", 32},
    {StorageDType::F64, "F64", 64},
    {StorageDType::C64, "C64", 64},
};

const StorageDTypeInfo *storageDTypeInfo(StorageDType dtype) {
  for (const StorageDTypeInfo &info : kStorageDTypes)
    if (info.dtype == dtype)
      return &info;
  return nullptr;
}

} // namespace

const char *storageDTypeName(StorageDType dtype) {
  const StorageDTypeInfo *info = storageDTypeInfo(dtype);
  return info ? info->name : "?";
}

unsigned storageDTypeBits(StorageDType dtype) {
  const StorageDTypeInfo *info = storageDTypeInfo(dtype);
  return info ? info->bits : 0;
}

bool parseStorageDType(const std::string &name, StorageDType &dtype) {
  for (const StorageDTypeInfo &info : kStorageDTypes)
    if (name == info.name) {
      dtype = info.dtype;
      return true;
    }
  return false;
}

std::optional<DType> toDType(StorageDType dtype) {
  switch (dtype) {
  case StorageDType::F32:
    return DType::F32;
  case StorageDType::BF16:
    return DType::BF16;
  case StorageDType::F16:
    return DType::F16;
  default:
    return std::nullopt;
  }
}

StorageDType toStorageDType(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return StorageDType::F32;
  case DType::BF16:
    return StorageDType::BF16;
  case DType::F16:
    return StorageDType::F16;
  }
  return StorageDType::F32;
}

const char *nodeKindName(NodeKind kind) {
  switch (kind) {
  case NodeKind::Linear:
    return "linear";
  case NodeKind::RMSNorm:
    return "rms_norm";
  case NodeKind::LayerNorm:
    return "layer_norm";
  case NodeKind::Add:
    return "add";
  case NodeKind::Mul:
    return "mul";
  case NodeKind::SiLU:
    return "silu";
  case NodeKind::GELU:
    return "gelu";
  case NodeKind::GELUTanh:
    return "gelu_tanh";
  case NodeKind::ReLU:
    return "relu";
  case NodeKind::MoE:
    return "moe";
  }
  return "?";
}

uint64_t alignArenaOffset(uint64_t value) {
  return (value + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

uint64_t ParamSpec::bytes() const {
  // resolveModelSpec rejects parameters whose size overflows; saturate
  // rather than wrap should an unchecked ParamSpec get here.
  uint64_t count = 0, result = 0;
  if (!detail::shapeElementCount(shape, count) ||
      !detail::checkedMul(count, dtypeSize(dtype), result))
    return UINT64_MAX;
  return result;
}

uint64_t ParamSpec::sliceElements() const {
  uint64_t count = 0;
  detail::shapeElementCount(view ? view->sliceShape : sourceShape, count);
  return count;
}

uint64_t ParamSpec::sourceElements() const {
  uint64_t count = 0;
  detail::shapeElementCount(sourceShape, count);
  return count;
}

void ParamSpec::forEachSliceRun(
    const std::function<void(const SliceRun &)> &visit) const {
  if (!view) {
    visit(SliceRun{0, 0, sliceElements(), 1});
    return;
  }
  const std::vector<int64_t> &shape = view->sliceShape;
  if (shape.empty() || sliceElements() == 0)
    return;
  // Row-major strides of the source; an odometer over the slice's outer
  // dimensions, one run along its innermost one.
  std::vector<uint64_t> strides(sourceShape.size(), 1);
  for (size_t d = sourceShape.size(); d-- > 1;)
    strides[d - 1] = strides[d] * static_cast<uint64_t>(sourceShape[d]);
  size_t inner = shape.size() - 1;
  SliceRun run;
  run.count = static_cast<uint64_t>(shape[inner]);
  run.sourceStride =
      static_cast<uint64_t>(view->step[inner]) * strides[view->dims[inner]];
  std::vector<int64_t> index(inner, 0);
  while (true) {
    run.sourceOffset = static_cast<uint64_t>(view->start[inner]) *
                       strides[view->dims[inner]];
    for (size_t i = 0; i < inner; ++i)
      run.sourceOffset += static_cast<uint64_t>(view->start[i] +
                                                view->step[i] * index[i]) *
                          strides[view->dims[i]];
    visit(run);
    run.sliceOffset += run.count;
    size_t i = inner;
    while (i-- > 0 && ++index[i] == shape[i])
      index[i] = 0;
    if (i == static_cast<size_t>(-1))
      return;
  }
}

} // namespace moe
