//===- WarpTileHostEmulation.cpp - Lanes run on the host ------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// With emulateLanes, moe-gpu-warp-mma's emitter runs a warp's lane code on
// the host: a loop over the lanes, their fragments exchanged through
// [lane, ...] buffers, and mma.sync computed from upstream's fragment
// layouts (see WarpTileEmitter.h). The block's cp.async groups, its
// barriers' order of the staged slots' writes and reads, and with TMA W the
// slots' mbarriers (full and empty), run as models checked in program
// order.
//
//===----------------------------------------------------------------------===//

#include "WarpTileEmitter.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
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

// The mbarriers of TMA W's slots, on the host. The GPU's boxes land
// asynchronously and only their mbarrier says when: a wrong expected byte
// count, a phase parity that names the wrong phase, or a box issued into a
// slot before its chunk was waited for, is a hang or a silent race there,
// while the host's boxes are plain copies that land at once. So the host
// keeps each slot's count of completed phases, its pending arrivals and
// bytes, and the phases waited for, and checks, as this thread's program
// order has it (the issuing thread's, which every wait of the block
// follows), what the GPU relies on:
// - a wait for a chunk finds exactly that chunk's phase complete (fewer:
//   the GPU would wait forever; more: a later chunk's boxes overwrote the
//   slot first), and the parity the GPU passes names it;
// - a slot's waits come in chunk order;
// - no arrival beyond the mbarrier's count, no box beyond the bytes
//   expected;
// - at the end, no phase in progress (no box in flight into shared memory
//   the block gives up) and every phase waited for.
// Races between threads are not the model's: racecheck on a GPU checks
// those.

void WarpTileEmitter::initBoxBarrierModel() {
  for (int64_t s = 0; s < staging->weightSlots; ++s) {
    Value slot = constant(s);
    storeModelField(staging->weightBarriers, slot, BoxBarrierField::Phases,
                    constant(0));
    storeModelField(staging->weightBarriers, slot,
                    BoxBarrierField::PendingArrivals, constant(kBoxArrivals));
    storeModelField(staging->weightBarriers, slot,
                    BoxBarrierField::PendingBytes, constant(0));
    storeModelField(staging->weightBarriers, slot, BoxBarrierField::Waited,
                    constant(0));
  }
}

void WarpTileEmitter::completePhaseIfDone(Value slot) {
  Value zero = constant(0);
  Value done = arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                            loadModelField(staging->weightBarriers, slot,
                                           BoxBarrierField::PendingArrivals),
                            zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                            loadModelField(staging->weightBarriers, slot,
                                           BoxBarrierField::PendingBytes),
                            zero));
  whereTrue(done, [&] {
    storeModelField(
        staging->weightBarriers, slot, BoxBarrierField::Phases,
        arith::AddIOp::create(b, loc,
                              loadModelField(staging->weightBarriers, slot,
                                             BoxBarrierField::Phases),
                              constant(1)));
    storeModelField(staging->weightBarriers, slot,
                    BoxBarrierField::PendingArrivals, constant(kBoxArrivals));
  });
}

void WarpTileEmitter::takeFromPending(Value slot, BoxBarrierField field,
                                      int64_t amount, StringRef message) {
  Value pending = loadModelField(staging->weightBarriers, slot, field);
  cf::AssertOp::create(b, loc,
                       arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                             pending, constant(amount)),
                       message);
  storeModelField(staging->weightBarriers, slot, field,
                  arith::SubIOp::create(b, loc, pending, constant(amount)));
}

void WarpTileEmitter::assertParityReturns(Value inProgress, Value parity,
                                          StringRef message) {
  cf::AssertOp::create(b, loc,
                       arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                             isOddPhase(inProgress), parity),
                       message);
}

void WarpTileEmitter::modelArrivalExpectingBytes(Value slot, int64_t bytes) {
  takeFromPending(slot, BoxBarrierField::PendingArrivals, 1,
                  "moe-gpu-warp-mma host semantics: an arrival on a TMA "
                  "slot's mbarrier beyond its count");
  storeModelField(
      staging->weightBarriers, slot, BoxBarrierField::PendingBytes,
      arith::AddIOp::create(b, loc,
                            loadModelField(staging->weightBarriers, slot,
                                           BoxBarrierField::PendingBytes),
                            constant(bytes)));
  completePhaseIfDone(slot);
}

void WarpTileEmitter::modelBoxLanded(Value slot, int64_t bytes) {
  takeFromPending(slot, BoxBarrierField::PendingBytes, bytes,
                  "moe-gpu-warp-mma host semantics: a TMA box lands more "
                  "bytes than its slot's mbarrier expects");
  completePhaseIfDone(slot);
}

void WarpTileEmitter::modelBoxWait(Value slot, Value use, Value parity) {
  Value phases =
      loadModelField(staging->weightBarriers, slot, BoxBarrierField::Phases);
  Value needed = arith::AddIOp::create(b, loc, use, constant(1));
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, phases, needed),
      "moe-gpu-warp-mma host semantics: a wait for a TMA chunk whose "
      "boxes never complete its slot's mbarrier phase (on the GPU it would "
      "wait forever)");
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, phases, needed),
      "moe-gpu-warp-mma host semantics: a later TMA chunk's boxes landed "
      "in a slot before its chunk was waited for");
  assertParityReturns(
      phases, parity,
      "moe-gpu-warp-mma host semantics: the parity a wait on a TMA slot's "
      "mbarrier passes names another phase than its chunk's");
  Value waited =
      loadModelField(staging->weightBarriers, slot, BoxBarrierField::Waited);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, waited, use),
      "moe-gpu-warp-mma host semantics: a TMA slot's chunks waited for "
      "out of order or twice");
  storeModelField(staging->weightBarriers, slot, BoxBarrierField::Waited,
                  needed);
}

void WarpTileEmitter::modelBoxBarrierInvalidation() {
  for (int64_t s = 0; s < staging->weightSlots; ++s) {
    Value slot = constant(s);
    Value idle = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                              loadModelField(staging->weightBarriers, slot,
                                             BoxBarrierField::PendingArrivals),
                              constant(kBoxArrivals)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                              loadModelField(staging->weightBarriers, slot,
                                             BoxBarrierField::PendingBytes),
                              constant(0)));
    cf::AssertOp::create(
        b, loc, idle,
        "moe-gpu-warp-mma host semantics: a TMA slot's mbarrier "
        "invalidated with a phase in progress (boxes still in flight)");
    cf::AssertOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                              loadModelField(staging->weightBarriers, slot,
                                             BoxBarrierField::Waited),
                              loadModelField(staging->weightBarriers, slot,
                                             BoxBarrierField::Phases)),
        "moe-gpu-warp-mma host semantics: TMA boxes landed that no thread "
        "waited for");
  }
}

// The empty mbarriers of TMA slots (tma-empty-barriers), on the host. On
// the GPU the issuing thread waits on a slot's empty mbarrier before it
// issues the boxes of the slot's next chunk, and every warp arrives on it
// once its wait for its wgmmas retires the chunk that read the slot: a
// release of the wrong chunk, or a wait for the wrong phase, is a race
// (boxes landing in a slot a wgmma still reads) or a hang there. The host
// runs one warp's turn at a time, so the model counts this warp's
// releases (one arrival a phase, where the GPU's phase takes every
// warp's), and checks in program order:
// - a slot's chunks are released in order, each once, and each after the
//   warp's wait for its wgmmas retired those that read it (where the GPU
//   waits: else the next boxes may land while they read);
// - the boxes of a slot's use u come after the release of its use u - 1
//   (else on the GPU the issuing thread, a consumer too, would wait for
//   its own warp's later arrival: forever), and the parity the wait
//   passes names that phase;
// - the issuing thread waits for a slot's releases in order.

void WarpTileEmitter::initEmptyBarrierModel() {
  for (int64_t s = 0; s < staging->weightSlots; ++s) {
    storeModelField(staging->emptyBarriers, constant(s),
                    EmptyBarrierField::Released, constant(0));
    storeModelField(staging->emptyBarriers, constant(s),
                    EmptyBarrierField::Acquired, constant(0));
    storeModelField(staging->emptyBarriers, constant(s),
                    EmptyBarrierField::Retired, constant(0));
  }
}

void WarpTileEmitter::modelSlotRetired(Value chunk) {
  Value slot = weightSlotOf(chunk);
  Value use = weightSlotUseOf(chunk);
  storeModelField(staging->emptyBarriers, slot, EmptyBarrierField::Retired,
                  arith::AddIOp::create(b, loc, use, constant(1)));
}

void WarpTileEmitter::modelSlotRelease(Value chunk) {
  Value slot = weightSlotOf(chunk);
  Value use = weightSlotUseOf(chunk);
  Value released =
      loadModelField(staging->emptyBarriers, slot, EmptyBarrierField::Released);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, released, use),
      "moe-gpu-warp-mma host semantics: a TMA slot's chunks released out of "
      "order or twice");
  Value retired = loadModelField(staging->emptyBarriers, slot,
                                 EmptyBarrierField::Retired);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, retired, use),
      "moe-gpu-warp-mma host semantics: a TMA slot released before the "
      "wgmmas that read it were waited for (on the GPU the next boxes may "
      "land while they read)");
  storeModelField(staging->emptyBarriers, slot, EmptyBarrierField::Released,
                  arith::AddIOp::create(b, loc, released, constant(1)));
}

void WarpTileEmitter::modelSlotAcquire(Value slot, Value use, Value parity) {
  Value released =
      loadModelField(staging->emptyBarriers, slot, EmptyBarrierField::Released);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, released, use),
      "moe-gpu-warp-mma host semantics: TMA boxes issued into a slot before "
      "the reads of the chunk it held were released (on the GPU the "
      "issuing thread would wait forever)");
  assertParityReturns(
      released, parity,
      "moe-gpu-warp-mma host semantics: the parity a wait on a TMA slot's "
      "empty mbarrier passes names another phase than the release of the "
      "chunk the slot held");
  Value acquired =
      loadModelField(staging->emptyBarriers, slot, EmptyBarrierField::Acquired);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::AddIOp::create(b, loc, acquired, constant(1)), use),
      "moe-gpu-warp-mma host semantics: a TMA slot's releases waited for "
      "out of order or twice");
  storeModelField(staging->emptyBarriers, slot, EmptyBarrierField::Acquired,
                  use);
}

// cp.async groups, on the host. On the GPU a thread's copies land when a
// cp.async.wait_group finds their group complete, and a chunk read before
// then (a wait that allows one group too many pending, a chunk copied into
// a slot that a later copy overwrites first) is a race that may pass or
// fail by timing; on the host the copies land at once. Every thread of the
// block copies its share of each staged chunk and commits the same groups
// (and every lane of a warp its W groups of each step into the warp's
// ring), so one model stands for each: the groups committed and those
// waited for, and each slot's last copy (its group and chunk or step). It
// checks, where the GPU reads a slot for chunk c (the steps, the
// activation ring's rounding, a ring step's W), that the slot's last copy
// was chunk c's and its group was waited for, and after the loop that no
// copy is in flight. The staged chunks and a warp's ring keep models of
// their own: the GPU counts both in one thread's groups, which only makes
// a wait there find more complete than either model does. A thread's wait
// lands its own copies only: the block's other threads may read them once
// the block has passed a barrier after it (the counter Visible, which the
// block barrier's model keeps).

void WarpTileEmitter::initAsyncCopyModel(Value groups,
                                         ArrayRef<Value> slotModels) {
  for (auto counter : {AsyncCopyCounter::Committed, AsyncCopyCounter::Complete,
                       AsyncCopyCounter::Visible})
    storeModelField(groups, Value(), counter, constant(0));
  // No slot holds a chunk yet: each slot's chunk is one no read asks for,
  // and its group one that every wait has found complete.
  for (Value slotModel : slotModels) {
    if (!slotModel)
      continue;
    int64_t slots = cast<MemRefType>(slotModel.getType()).getDimSize(0);
    for (int64_t slot = 0; slot < slots; ++slot)
      for (auto field : {SlotCopyField::Group, SlotCopyField::Chunk})
        storeModelField(slotModel, constant(slot), field, constant(-1));
  }
}

void WarpTileEmitter::modelCommit(Value groups) {
  Value committed =
      loadModelField(groups, Value(), AsyncCopyCounter::Committed);
  storeModelField(groups, Value(), AsyncCopyCounter::Committed,
                  arith::AddIOp::create(b, loc, committed, constant(1)));
}

void WarpTileEmitter::modelWaitGroup(Value groups, int64_t pending) {
  Value committed =
      loadModelField(groups, Value(), AsyncCopyCounter::Committed);
  Value complete = loadModelField(groups, Value(), AsyncCopyCounter::Complete);
  // All but the last `pending` committed groups have landed.
  storeModelField(
      groups, Value(), AsyncCopyCounter::Complete,
      arith::MaxSIOp::create(
          b, loc, complete,
          arith::SubIOp::create(b, loc, committed, constant(pending))));
}

void WarpTileEmitter::modelSlotCopy(Value groups, Value slotModel, Value slot,
                                    Value chunk) {
  // The copies join the group the next commit closes.
  storeModelField(slotModel, slot, SlotCopyField::Group,
                  loadModelField(groups, Value(), AsyncCopyCounter::Committed));
  storeModelField(slotModel, slot, SlotCopyField::Chunk, chunk);
}

void WarpTileEmitter::modelSlotRead(Value groups, Value slotModel, Value slot,
                                    Value chunk, AsyncCopyCounter landed) {
  Value held = loadModelField(slotModel, slot, SlotCopyField::Chunk);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, held, chunk),
      "moe-gpu-warp-mma host semantics: a staged slot read for a chunk that "
      "is not the one its last cp.async copy brought");
  Value group = loadModelField(slotModel, slot, SlotCopyField::Group);
  Value complete = loadModelField(groups, Value(), AsyncCopyCounter::Complete);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, group, complete),
      "moe-gpu-warp-mma host semantics: a staged chunk read before a "
      "cp.async.wait_group found its copies' group complete");
  if (landed != AsyncCopyCounter::Visible)
    return;
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::slt, group,
          loadModelField(groups, Value(), AsyncCopyCounter::Visible)),
      "moe-gpu-warp-mma host semantics: a staged chunk read by the block "
      "before a barrier after its cp.async copies' wait (other threads' "
      "copies not yet visible)");
}

void WarpTileEmitter::modelCopiesLanded(Value groups,
                                        ArrayRef<Value> slotModels) {
  Value complete = loadModelField(groups, Value(), AsyncCopyCounter::Complete);
  for (Value slotModel : slotModels) {
    if (!slotModel)
      continue;
    int64_t slots = cast<MemRefType>(slotModel.getType()).getDimSize(0);
    for (int64_t slot = 0; slot < slots; ++slot)
      cf::AssertOp::create(
          b, loc,
          arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::slt,
              loadModelField(slotModel, constant(slot), SlotCopyField::Group),
              complete),
          "moe-gpu-warp-mma host semantics: a cp.async copy still in "
          "flight after the tile's loop over K");
  }
}

// The block barrier, on the host. The GPU's threads share each staged slot:
// all of them write their pieces of a chunk into it, every warp reads the
// whole chunk, and only a block barrier orders one thread's accesses
// against another's. The host runs one warp's program order for all of
// them (the copies of every thread, then the warp's reads), so a barrier
// missing or misplaced still gives right numbers there and is a race on
// the GPU. Every thread runs the same program, so the barriers the block
// has passed stand for where each thread is; the model keeps that count
// and, for each slot of A's and W's staged chunks, from which count its
// contents are visible to every thread and at which its last reads ended,
// and checks:
// - a read (the steps of a chunk) comes after a barrier that followed the
//   stores of what it reads (and, for cp.async copies, the wait that
//   landed them: AsyncCopyCounter::Visible);
// - a write (stores, cp.async or TMA) into a slot comes after a barrier
//   that followed every read of what the slot held, a pending wgmma's
//   counted until the wgmma.wait_group that retires it.
// It is set up once a warp's turn, so that it follows the runs of a
// block-uniform loop around the tile one after another. What it does not
// see: which thread touches which element (every thread is assumed to take
// part in every copy and read), and the proxy fence that orders the
// threads' writes before a wgmma reads them (each barrier is taken to
// carry one); racecheck on a GPU sees the first.

void WarpTileEmitter::initBarrierModel() {
  storeModelField(staging->barrierModel, Value(), BlockBarrierCounter::Passed,
                  constant(0));
  for (Value accesses :
       {staging->activationAccessModel, staging->weightAccessModel}) {
    if (!accesses)
      continue;
    int64_t slots = cast<MemRefType>(accesses.getType()).getDimSize(0);
    for (int64_t slot = 0; slot < slots; ++slot) {
      storeModelField(accesses, constant(slot), SlotAccessField::VisibleFrom,
                      constant(0));
      storeModelField(accesses, constant(slot), SlotAccessField::LastRead,
                      constant(-1));
    }
  }
}

void WarpTileEmitter::modelBarrier() {
  Value passed = loadModelField(staging->barrierModel, Value(),
                                BlockBarrierCounter::Passed);
  storeModelField(staging->barrierModel, Value(), BlockBarrierCounter::Passed,
                  arith::AddIOp::create(b, loc, passed, constant(1)));
  // Each thread's copies that its waits landed are now every thread's.
  if (staging->asyncGroupModel)
    storeModelField(staging->asyncGroupModel, Value(),
                    AsyncCopyCounter::Visible,
                    loadModelField(staging->asyncGroupModel, Value(),
                                   AsyncCopyCounter::Complete));
}

Value WarpTileEmitter::checkBarriersPassed(Value accesses, Value slot,
                                           arith::CmpIPredicate predicate,
                                           SlotAccessField field,
                                           StringRef message) {
  Value passed = loadModelField(staging->barrierModel, Value(),
                                BlockBarrierCounter::Passed);
  cf::AssertOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, predicate, passed,
                            loadModelField(accesses, slot, field)),
      message);
  return passed;
}

void WarpTileEmitter::modelBarrierWrite(Value accesses, Value slot,
                                        bool visibleAtBarrier) {
  Value passed = checkBarriersPassed(
      accesses, slot, arith::CmpIPredicate::sgt, SlotAccessField::LastRead,
      "moe-gpu-warp-mma host semantics: a staged slot written before a "
      "block barrier after the reads of the chunk it held (a warp may "
      "still read it)");
  storeModelField(accesses, slot, SlotAccessField::VisibleFrom,
                  visibleAtBarrier
                      ? arith::AddIOp::create(b, loc, passed, constant(1))
                      : constant(0));
}

void WarpTileEmitter::modelBarrierReads(Value accesses, Value slot,
                                        bool endNow) {
  checkBarriersPassed(
      accesses, slot, arith::CmpIPredicate::sge, SlotAccessField::VisibleFrom,
      "moe-gpu-warp-mma host semantics: a staged slot read before a block "
      "barrier after the stores that wrote it (other threads' stores not "
      "yet visible)");
  if (endNow)
    return modelBarrierReadsEnded(accesses, slot);
  storeModelField(accesses, slot, SlotAccessField::LastRead,
                  constant(kReadsInFlight));
}

void WarpTileEmitter::modelBarrierReadsEnded(Value accesses, Value slot) {
  storeModelField(accesses, slot, SlotAccessField::LastRead,
                  loadModelField(staging->barrierModel, Value(),
                                 BlockBarrierCounter::Passed));
}
