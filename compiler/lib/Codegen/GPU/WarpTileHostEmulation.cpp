//===- WarpTileHostEmulation.cpp - Lanes run on the host ------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// With emulateLanes, moe-gpu-warp-mma's emitter runs a warp's lane code on
// the host: a loop over the lanes, their fragments exchanged through
// [lane, ...] buffers, and mma.sync computed from upstream's fragment
// layouts (see WarpTileEmitter.h).
//
//===----------------------------------------------------------------------===//

#include "WarpTileEmitter.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/Utils/MMAUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::moe::warp_mma;

void WarpTileEmitter::storeLaneGroups(Value buffer, Value lane,
                                      ValueRange vectors) {
  for (auto [j, vector] : llvm::enumerate(vectors))
    vector::StoreOp::create(
        b, loc, vector, buffer,
        ValueRange{lane, constant(static_cast<int64_t>(j)), constant(0)});
}

SmallVector<Value> WarpTileEmitter::loadLaneGroups(Value buffer, Value lane) {
  auto type = cast<MemRefType>(buffer.getType());
  auto vectorType = VectorType::get({kLaneGroup}, type.getElementType());
  SmallVector<Value> vectors;
  for (int64_t j = 0; j < type.getDimSize(1); ++j)
    vectors.push_back(
        vector::LoadOp::create(b, loc, vectorType, buffer,
                               ValueRange{lane, constant(j), constant(0)}));
  return vectors;
}

void WarpTileEmitter::forEachLane(function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, loc, constant(0), constant(kNVIDIAWarpSize),
                                 constant(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

void WarpTileEmitter::storeLaneAccumulators(Value accBuffer, Value lane,
                                            int64_t accumulators,
                                            ElementFn initial) {
  for (int64_t s = 0; s < accumulators; ++s)
    for (int64_t e = 0; e < 4; ++e)
      memref::StoreOp::create(b, loc, initial(s, e), accBuffer,
                              ValueRange{lane, constant(s), constant(e)});
}

void WarpTileEmitter::finishLanes(Value accBuffer, Value activations,
                                  Value result,
                                  function_ref<void(ElementFn)> finish) {
  forEachLane([&](Value lane) {
    setUpLane(activations, result, lane);
    finish([&](int64_t s, int64_t e) -> Value {
      return memref::LoadOp::create(b, loc, accBuffer,
                                    ValueRange{lane, constant(s), constant(e)});
    });
  });
}

void WarpTileEmitter::emulateMma(Type operandType, Value aBuffer, int64_t i,
                                 Value wBuffer, int64_t j, Value accBuffer,
                                 int64_t s) {
  bool isTF32 = isa<FloatTF32Type>(operandType);
  int64_t mmaDepth = getMmaDepth(operandType);
  int64_t perRegister = getElementsPerRegister(operandType);
  // Upstream's layouts by element width (its register query has no bf16;
  // bf16's layout is f16's).
  Type layoutType = isTF32 ? b.getF32Type() : Type(b.getF16Type());
  Type f32 = b.getF32Type();
  auto layout = [&](ArrayRef<int64_t> shape, Type type,
                    nvgpu::MatMulOperandRole role) {
    FailureOr<AffineMap> map = nvgpu::getLaneIdAndValueIdToOperandCoord(
        b, loc, nvgpu::WarpMatrixInfo{VectorType::get(shape, type), role});
    assert(succeeded(map) && "mma.sync shapes have upstream layouts");
    return *map;
  };
  AffineMap aLayout =
      layout({kMmaRows, mmaDepth}, layoutType, nvgpu::MatMulOperandRole::A);
  AffineMap wLayout =
      layout({kMmaCols, mmaDepth}, layoutType, nvgpu::MatMulOperandRole::B);
  AffineMap cLayout =
      layout({kMmaRows, kMmaCols}, f32, nvgpu::MatMulOperandRole::C);
  Value aFull = memref::AllocaOp::create(
      b, loc, MemRefType::get({kMmaRows, mmaDepth}, f32));
  Value wFull = memref::AllocaOp::create(
      b, loc, MemRefType::get({kMmaCols, mmaDepth}, f32));
  Value cFull = memref::AllocaOp::create(
      b, loc, MemRefType::get({kMmaRows, kMmaCols}, f32));
  auto coordinates = [&](AffineMap map, Value lane, Value value) {
    SmallVector<Value, 2> at;
    for (unsigned r = 0; r < 2; ++r)
      at.push_back(affine::AffineApplyOp::create(b, loc, map.getSubMap({r}),
                                                 ValueRange{lane, value}));
    return at;
  };
  auto widened = [&](Value value) -> Value {
    if (value.getType() == f32)
      return value;
    return arith::ExtFOp::create(b, loc, f32, value);
  };
  // Scatter (or, with `gather`, gather back) each lane's `values` elements
  // of fragment `index` in `buffer` to the full matrix by `map`.
  auto exchange = [&](Value buffer, int64_t index, int64_t values,
                      AffineMap map, Value full, bool gather) {
    forEachLane([&](Value lane) {
      for (int64_t v = 0; v < values; ++v) {
        Value value = constant(v);
        SmallVector<Value, 2> at = coordinates(map, lane, value);
        SmallVector<Value, 3> slot = {lane, constant(index), value};
        if (gather) {
          Value element = memref::LoadOp::create(b, loc, full, at);
          memref::StoreOp::create(b, loc, element, buffer, slot);
        } else {
          Value element = memref::LoadOp::create(b, loc, buffer, slot);
          memref::StoreOp::create(b, loc, widened(element), full, at);
        }
      }
    });
  };
  exchange(aBuffer, i, 4 * perRegister, aLayout, aFull, /*gather=*/false);
  exchange(wBuffer, j, 2 * perRegister, wLayout, wFull, /*gather=*/false);
  exchange(accBuffer, s, 4, cLayout, cFull, /*gather=*/false);
  // C[m, n] += sum over k of A[m, k] * W[n, k], in f32.
  auto rows =
      scf::ForOp::create(b, loc, constant(0), constant(kMmaRows), constant(1));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(rows.getBody()->getTerminator());
    auto cols = scf::ForOp::create(b, loc, constant(0), constant(kMmaCols),
                                   constant(1));
    b.setInsertionPoint(cols.getBody()->getTerminator());
    Value m = rows.getInductionVar(), n = cols.getInductionVar();
    Value c = memref::LoadOp::create(b, loc, cFull, ValueRange{m, n});
    auto ks = scf::ForOp::create(b, loc, constant(0), constant(mmaDepth),
                                 constant(1), ValueRange{c});
    b.setInsertionPointToStart(ks.getBody());
    Value k = ks.getInductionVar();
    Value product = arith::MulFOp::create(
        b, loc, memref::LoadOp::create(b, loc, aFull, ValueRange{m, k}),
        memref::LoadOp::create(b, loc, wFull, ValueRange{n, k}));
    scf::YieldOp::create(b, loc,
                         ValueRange{arith::AddFOp::create(
                             b, loc, ks.getRegionIterArg(0), product)});
    b.setInsertionPointAfter(ks);
    memref::StoreOp::create(b, loc, ks.getResult(0), cFull, ValueRange{m, n});
  }
  exchange(accBuffer, s, 4, cLayout, cFull, /*gather=*/true);
}
