//===- WarpTileStaging.cpp - A block's staged chunks ----------------------===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The block's side of moe-gpu-warp-mma's emitter (WarpTileEmitter.h): the
// chunks of A and W that every thread of the block copies into shared memory
// (through registers, by cp.async or by TMA boxes), the loop over K that
// runs a tile on them, and a warpgroup's wgmma on core-matrix chunks.
//
//===----------------------------------------------------------------------===//

#include "WarpTileEmitter.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::moe;
using namespace mlir::moe::warp_mma;

SmallVector<Value> WarpTileEmitter::loadStagePieces(Value activations,
                                                    Value chunk, Value thread) {
  // Thread x copies 16-byte pieces x, x + threads, ... of the chunk, in
  // piecePlace's order.
  PieceSource source = {activations,
                        memref::DimOp::create(b, loc, activations, 0),
                        memref::DimOp::create(b, loc, activations, 1),
                        Value(),
                        Value(),
                        kCopyWidth};
  Value chunkStart =
      arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
  auto pieceType = VectorType::get({kCopyWidth}, b.getF32Type());
  SmallVector<Value> pieces;
  for (int64_t p = 0; p < piecesPerThread(); ++p) {
    // (Not a structured binding: the load's builder captures `row`.)
    Value row, column;
    std::tie(row, column) = piecePlace(thread, p);
    Value k = arith::AddIOp::create(b, loc, chunkStart, column);
    auto load = scf::IfOp::create(b, loc, TypeRange{pieceType},
                                  isPieceInside(source, row, k),
                                  /*addThenBlock=*/true, /*addElseBlock=*/true);
    fillBlock(b, loc, load.thenBlock(), [&]() -> SmallVector<Value> {
      return {vector::LoadOp::create(b, loc, pieceType, activations,
                                     ValueRange{row, k}, /*nontemporal=*/false,
                                     llvm::MaybeAlign(16))};
    });
    fillBlock(b, loc, load.elseBlock(), [&]() -> SmallVector<Value> {
      return {arith::ConstantOp::create(b, loc, b.getZeroAttr(pieceType))};
    });
    pieces.push_back(load.getResult(0));
  }
  return pieces;
}

void WarpTileEmitter::storeStagePieces(Type operandType, Value chunk,
                                       Value thread, ValueRange pieces) {
  Value slot = activationSlotOf(chunk);
  for (auto [p, piece] : llvm::enumerate(pieces)) {
    auto [row, column] = piecePlace(thread, p);
    Value rounded = arith::TruncFOp::create(
        b, loc, VectorType::get({kCopyWidth}, operandType), piece);
    vector::StoreOp::create(
        b, loc, rounded, staging->buffer, stagedIndices(slot, row, column),
        /*nontemporal=*/false, llvm::MaybeAlign(kCopyWidth * 2));
  }
}

std::pair<Value, Value> WarpTileEmitter::piecePlace(Value thread, int64_t p,
                                                    int64_t width) {
  int64_t piecesPerRow = kChunkDepth / width;
  Value linear =
      arith::AddIOp::create(b, loc, constant(p * staging->threads), thread);
  if (staging->coreMatrices)
    return getCoreMatrixPiecePlace(b, loc, linear, width, kChunkDepth);
  Value row = arith::DivUIOp::create(b, loc, linear, constant(piecesPerRow));
  Value column = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, linear, constant(piecesPerRow)),
      constant(width));
  return {row, column};
}

WarpTileEmitter::PieceSource WarpTileEmitter::getPieceSource(Value source,
                                                             int64_t width) {
  Value rows = memref::DimOp::create(b, loc, source, 0);
  Value depth = memref::DimOp::create(b, loc, source, 1);
  return {source,
          rows,
          depth,
          arith::MaxSIOp::create(
              b, loc, arith::SubIOp::create(b, loc, rows, constant(1)),
              constant(0)),
          arith::SubIOp::create(b, loc, depth, constant(width)),
          width};
}

Value WarpTileEmitter::isPieceInside(const PieceSource &source, Value row,
                                     Value k) {
  return arith::AndIOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                            source.rows),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, k,
                            source.depth));
}

Value WarpTileEmitter::copyStagePiece(const PieceSource &source, Value row,
                                      Value k, Value buffer, ValueRange to) {
  auto type = cast<MemRefType>(source.memref.getType());
  int64_t width = source.width;
  assert(width * type.getElementTypeBitWidth() == 16 * 8 &&
         "a piece is 16 bytes");
  Value inside = isPieceInside(source, row, k);
  SmallVector<Value> from = {
      arith::MinUIOp::create(b, loc, row, source.lastRow),
      arith::MinUIOp::create(b, loc, k, source.lastPiece)};
  if (emulateLanes) {
    auto pieceType = VectorType::get({width}, type.getElementType());
    auto load = scf::IfOp::create(b, loc, TypeRange{pieceType}, inside,
                                  /*addThenBlock=*/true,
                                  /*addElseBlock=*/true);
    fillBlock(b, loc, load.thenBlock(), [&]() -> SmallVector<Value> {
      return {vector::LoadOp::create(b, loc, pieceType, source.memref, from)};
    });
    fillBlock(b, loc, load.elseBlock(), [&]() -> SmallVector<Value> {
      return {arith::ConstantOp::create(b, loc, b.getZeroAttr(pieceType))};
    });
    vector::StoreOp::create(b, loc, load.getResult(0), buffer, to);
    return Value();
  }
  // 16 bytes, past L1 (the block reads them from shared memory).
  Value elements =
      arith::SelectOp::create(b, loc, inside, constant(width), constant(0));
  return nvgpu::DeviceAsyncCopyOp::create(
      b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), buffer, to,
      source.memref, from, b.getIndexAttr(width), elements, b.getUnitAttr());
}

void WarpTileEmitter::emitStageCopy(Type operandType, Value chunk) {
  if (staging->activationAccessModel)
    modelBarrierWrite(staging->activationAccessModel, activationSlotOf(chunk),
                      /*visibleAtBarrier=*/true);
  auto copyAs = [&](Value thread) {
    storeStagePieces(operandType, chunk, thread,
                     loadStagePieces(staging->source, chunk, thread));
  };
  asCopyingThreads(copyAs);
}

void WarpTileEmitter::emitActivationRingCopy(Value chunk) {
  PieceSource source = getPieceSource(staging->source, kCopyWidth);
  Value chunkStart =
      arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
  Value slot = arith::RemUIOp::create(b, loc, chunk,
                                      constant(staging->weightChunksAhead));
  asCopyingThreads([&](Value thread) {
    for (int64_t p = 0; p < piecesPerThread(); ++p) {
      auto [row, column] = piecePlace(thread, p);
      Value k = arith::AddIOp::create(b, loc, chunkStart, column);
      copyStagePiece(source, row, k, staging->activationRing,
                     {slot, row, column});
    }
  });
  if (staging->ringCopyModel)
    modelSlotCopy(staging->asyncGroupModel, staging->ringCopyModel, slot,
                  chunk);
}

void WarpTileEmitter::roundActivationRing(Type operandType, Value chunk) {
  Value from = arith::RemUIOp::create(b, loc, chunk,
                                      constant(staging->weightChunksAhead));
  Value slot = activationSlotOf(chunk);
  // The thread rounds the pieces it copied: its own wait landed them.
  if (staging->ringCopyModel)
    modelSlotRead(staging->asyncGroupModel, staging->ringCopyModel, from, chunk,
                  AsyncCopyCounter::Complete);
  if (staging->activationAccessModel)
    modelBarrierWrite(staging->activationAccessModel, slot,
                      /*visibleAtBarrier=*/true);
  auto pieceType = VectorType::get({kCopyWidth}, b.getF32Type());
  asCopyingThreads([&](Value thread) {
    for (int64_t p = 0; p < piecesPerThread(); ++p) {
      auto [row, column] = piecePlace(thread, p);
      Value piece =
          vector::LoadOp::create(b, loc, pieceType, staging->activationRing,
                                 ValueRange{from, row, column},
                                 /*nontemporal=*/false, llvm::MaybeAlign(16));
      Value rounded = arith::TruncFOp::create(
          b, loc, VectorType::get({kCopyWidth}, operandType), piece);
      vector::StoreOp::create(
          b, loc, rounded, staging->buffer, stagedIndices(slot, row, column),
          /*nontemporal=*/false, llvm::MaybeAlign(kCopyWidth * 2));
    }
  });
}

Value WarpTileEmitter::stagedChunk(Value buffer, Value slot, Value firstRow,
                                   Value operand) {
  auto type = cast<MemRefType>(buffer.getType());
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  OpFoldResult first = zero, rows = b.getIndexAttr(type.getDimSize(1));
  if (firstRow) {
    first = firstRow;
    rows = memref::DimOp::create(b, loc, operand, 0).getResult();
  }
  return memref::SubViewOp::create(
      b, loc,
      MemRefType::get({firstRow ? ShapedType::kDynamic : type.getDimSize(1),
                       kStagedRowStride},
                      type.getElementType(),
                      StridedLayoutAttr::get(b.getContext(),
                                             ShapedType::kDynamic,
                                             {kStagedRowStride, 1}),
                      type.getMemorySpace()),
      buffer, ArrayRef<OpFoldResult>{slot, first, zero},
      ArrayRef<OpFoldResult>{one, rows, b.getIndexAttr(kStagedRowStride)},
      ArrayRef<OpFoldResult>{one, one, one});
}

void WarpTileEmitter::asCopyingThreads(function_ref<void(Value)> copy) {
  if (staging->threadId)
    return copy(staging->threadId);
  auto threads = scf::ForOp::create(b, loc, constant(0),
                                    constant(staging->threads), constant(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(threads.getBody()->getTerminator());
  copy(threads.getInductionVar());
}

void WarpTileEmitter::emitWeightStageCopy(Value chunk, bool commit) {
  Value chunkStart =
      arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
  Value slot = weightSlotOf(chunk);
  // W's slot and narrowed A's (the same) are written from now on; their
  // copies' groups or boxes say when they land.
  if (staging->weightAccessModel)
    modelBarrierWrite(staging->weightAccessModel, slot,
                      /*visibleAtBarrier=*/false);
  if (staging->narrowActivations && staging->activationAccessModel)
    modelBarrierWrite(staging->activationAccessModel, slot,
                      /*visibleAtBarrier=*/false);
  // The staged buffers and what they copy by cp.async: W's (unless TMA
  // copies its boxes), and narrowed A's (unless TMA copies them too).
  SmallVector<std::pair<Value, Value>, 3> copies;
  if (!staging->tmaBoxes.empty())
    emitChunkBoxes(chunk, chunkStart, slot);
  else
    for (auto [buffer, weight] :
         llvm::zip_equal(staging->weightBuffers, staging->weightSources))
      copies.push_back({buffer, weight});
  if (staging->narrowActivations && !staging->activationsByTma)
    copies.push_back({staging->buffer, staging->source});
  SmallVector<Value> tokens;
  auto copyAs = [&](Value thread) {
    for (auto [buffer, weight] : copies) {
      int64_t rows = getStagedRows(cast<MemRefType>(buffer.getType()));
      PieceSource source = getPieceSource(weight, kSixteenBitPieceWidth);
      // Thread x copies pieces x, x + threads, ..., in piecePlace's order.
      int64_t piecesPerRow = kChunkDepth / kSixteenBitPieceWidth;
      for (int64_t p = 0; p < rows * piecesPerRow / staging->threads; ++p) {
        auto [row, column] = piecePlace(thread, p, kSixteenBitPieceWidth);
        Value k = arith::AddIOp::create(b, loc, chunkStart, column);
        if (Value token = copyStagePiece(source, row, k, buffer,
                                         stagedIndices(slot, row, column)))
          tokens.push_back(token);
      }
    }
  };
  asCopyingThreads(copyAs);
  if (staging->slotCopyModel)
    modelSlotCopy(staging->asyncGroupModel, staging->slotCopyModel, slot,
                  chunk);
  if (!commit || !staging->copiesByCpAsync())
    return;
  if (staging->threadId)
    nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
  else if (staging->asyncGroupModel)
    modelCommit(staging->asyncGroupModel);
}

void WarpTileEmitter::waitOnSlotBarrier(Value barriers, Value slot,
                                        Value parity) {
  // Upstream's nvgpu.mbarrier.try_wait.parity loops until the phase
  // completes, with no way out; this loop tests the same way
  // (mbarrier.try_wait.parity, .acquire.cta, suspended up to the hint) and
  // traps once it has waited past the limit.
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value address = LLVM::IntToPtrOp::create(
      b, loc,
      LLVM::LLVMPointerType::get(
          b.getContext(), static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared)),
      nvgpu::MBarrierGetOp::create(b, loc, i64, barriers, slot).getResult());
  Value phase = arith::ExtUIOp::create(b, loc, i32, parity);
  Value ticks = arith::ConstantIntOp::create(b, loc, i32, kBoxWaitTicks);
  Value start = NVVM::GlobalTimerOp::create(b, loc, i64);
  auto loop = scf::WhileOp::create(b, loc, TypeRange(), ValueRange());
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(b.createBlock(&loop.getBefore()));
  Value done = NVVM::MBarrierTryWaitOp::create(b, loc, b.getI1Type(), address,
                                               phase, ticks);
  Value waited = arith::SubIOp::create(
      b, loc, NVVM::GlobalTimerOp::create(b, loc, i64), start);
  Value late = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ugt, waited,
      arith::ConstantIntOp::create(b, loc, i64, kBoxWaitLimitNanoseconds));
  Value notDone = arith::XOrIOp::create(
      b, loc, done, arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
  whereTrue(arith::AndIOp::create(b, loc, notDone, late),
            [&] { LLVM::Trap::create(b, loc); });
  scf::ConditionOp::create(b, loc, notDone, ValueRange());
  b.setInsertionPointToStart(b.createBlock(&loop.getAfter()));
  scf::YieldOp::create(b, loc);
}

void WarpTileEmitter::acquireSlot(Value chunk, Value slot) {
  // Use u of a slot (chunk u * slots + slot) waits for the release of use
  // u - 1: the completion of the empty mbarrier's phase u - 1.
  // The chunks before the loop are the slots' first.
  std::optional<int64_t> known = getConstantIntValue(chunk);
  if (known && *known < staging->weightSlots)
    return;
  Value reused = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, chunk,
                                       constant(staging->weightSlots));
  Value use = weightSlotUseOf(chunk);
  auto parityOf = [&] {
    return isOddPhase(arith::SubIOp::create(b, loc, use, constant(1)));
  };
  if (!staging->threadId)
    return whereTrue(reused, [&] { modelSlotAcquire(slot, use, parityOf()); });
  whereTrue(arith::AndIOp::create(b, loc, reused, staging->issuesBoxes), [&] {
    waitOnSlotBarrier(staging->emptyBarriers, slot, parityOf());
  });
}

void WarpTileEmitter::releaseSlot(Value chunk) {
  if (!staging->threadId)
    return modelSlotRelease(chunk);
  Value slot = weightSlotOf(chunk);
  // The warp's wait for its wgmmas has retired the chunk's: one lane
  // arrives for the warp (the mbarrier counts the block's warps).
  Value lane = arith::RemUIOp::create(b, loc, staging->threadId,
                                      constant(kNVIDIAWarpSize));
  whereTrue(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane,
                                  constant(0)),
            [&] {
              nvgpu::MBarrierArriveOp::create(
                  b, loc, nvgpu::MBarrierTokenType::get(b.getContext()),
                  staging->emptyBarriers, slot);
            });
}

void WarpTileEmitter::emitChunkBoxes(Value chunk, Value chunkStart,
                                     Value slot) {
  // The slot's last chunk has been read by every warp before its boxes
  // overwrite it (with empty mbarriers; else the block barrier says so).
  if (staging->emptyBarriers)
    acquireSlot(chunk, slot);
  int64_t bytes = 0;
  for (const Staging::TmaBox &box : staging->tmaBoxes) {
    auto type = cast<MemRefType>(box.buffer.getType());
    bytes += getStagedRows(type) * kSwizzleRowBytes;
  }
  // The slot's phase completes once this thread has arrived and every
  // box's bytes (zeros past the tensor included) have landed.
  if (!emulateLanes)
    nvgpu::MBarrierArriveExpectTxOp::create(b, loc, staging->weightBarriers,
                                            constant(bytes), slot,
                                            staging->issuesBoxes);
  else
    modelArrivalExpectingBytes(slot, bytes);
  for (const Staging::TmaBox &box : staging->tmaBoxes) {
    Value buffer = box.buffer;
    auto bufferType = cast<MemRefType>(buffer.getType());
    auto tensorType = cast<MemRefType>(box.tensor.getType());
    int64_t rows = getStagedRows(bufferType);
    SmallVector<Value, 3> at(box.origin);
    at[0] = arith::AddIOp::create(b, loc, at[0], chunkStart);
    if (!emulateLanes) {
      // The slot as the map's box: [1, rows, 64] of a tensor [expert, n,
      // k], or [rows, 64] of one [n, k].
      ArrayRef<int64_t> boxShape =
          cast<nvgpu::TensorMapDescriptorType>(box.map.getType())
              .getTensor()
              .getShape();
      auto dstType =
          cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
              boxShape, bufferType,
              SmallVector<int64_t>{ShapedType::kDynamic, 0, 0},
              SmallVector<int64_t>{1, rows, kChunkDepth},
              SmallVector<int64_t>{1, 1, 1}));
      Value dst = memref::SubViewOp::create(
          b, loc, dstType, buffer,
          ArrayRef<OpFoldResult>{slot, b.getIndexAttr(0), b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(rows),
                                 b.getIndexAttr(kChunkDepth)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                 b.getIndexAttr(1)});
      nvgpu::TmaAsyncLoadOp::create(
          b, loc, dst, staging->weightBarriers, box.map, at, slot,
          /*multicastMask=*/Value(), staging->issuesBoxes);
      continue;
    }
    // On the host, the box as TMA writes it: each row's 16-byte pieces of
    // the tensor (the expert's rows), zeros past its rows and K, at their
    // swizzled places; then its bytes count on the slot's mbarrier.
    copyBoxOnHost(box, at, slot);
    modelBoxLanded(slot, rows * kChunkDepth *
                             tensorType.getElementTypeBitWidth() / 8);
  }
}

void WarpTileEmitter::copyBoxOnHost(const Staging::TmaBox &box,
                                    ArrayRef<Value> at, Value slot) {
  Value buffer = box.buffer;
  auto bufferType = cast<MemRefType>(buffer.getType());
  auto tensorType = cast<MemRefType>(box.tensor.getType());
  int64_t rows = getStagedRows(bufferType);
  int64_t rank = tensorType.getRank();
  Value rowsOfTensor = box.tensor;
  if (rank == 3) {
    int64_t tensorRows = tensorType.getDimSize(1);
    int64_t depth = tensorType.getDimSize(2);
    auto viewType =
        cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
            {tensorRows, depth}, tensorType,
            SmallVector<int64_t>{ShapedType::kDynamic, 0, 0},
            SmallVector<int64_t>{1, tensorRows, depth},
            SmallVector<int64_t>{1, 1, 1}));
    rowsOfTensor = memref::SubViewOp::create(
        b, loc, viewType, box.tensor,
        ArrayRef<OpFoldResult>{at[2], b.getIndexAttr(0), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(tensorRows),
                               b.getIndexAttr(depth)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
  }
  PieceSource source = getPieceSource(rowsOfTensor, kSixteenBitPieceWidth);
  auto rowLoop =
      scf::ForOp::create(b, loc, constant(0), constant(rows), constant(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(rowLoop.getBody()->getTerminator());
  Value row = rowLoop.getInductionVar();
  auto pieceLoop =
      scf::ForOp::create(b, loc, constant(0), constant(kChunkDepth),
                         constant(kSixteenBitPieceWidth));
  b.setInsertionPoint(pieceLoop.getBody()->getTerminator());
  Value column = pieceLoop.getInductionVar();
  copyStagePiece(
      source, arith::AddIOp::create(b, loc, at[1], row),
      arith::AddIOp::create(b, loc, at[0], column), buffer,
      getSwizzledPieceIndices(b, loc, bufferType, slot, row, column));
}

SmallVector<Value> WarpTileEmitter::emitDepthLoop(
    Type operandType, Value activations, ArrayRef<Value> weights, Value hasTile,
    ValueRange init,
    function_ref<SmallVector<Value>(Value, ASource, ValueRange)> step,
    function_ref<void(int64_t)> endOfChunk) {
  Value k = memref::DimOp::create(b, loc, activations, 1);
  if (!staging) {
    auto loop =
        scf::ForOp::create(b, loc, constant(0), k, constant(kStepDepth), init);
    fillBlock(b, loc, loop.getBody(), [&] {
      return step(loop.getInductionVar(),
                  ASource{activations, Value(), {}, Value(), Value()},
                  loop.getRegionIterArgs());
    });
    return SmallVector<Value>(loop.getResults());
  }
  // Staged: chunk c + 1 is copied into a buffer of its own while chunk c's
  // steps run (f32 A: its loads issued before them, its stores after;
  // narrowed A and staged W: cp.async, `ahead` chunks on, waited for after
  // them); the barrier after makes the copy visible, and makes sure that
  // no warp still reads the buffer the next copy writes.
  // With empty mbarriers no thread writes a slot, and the issuing thread
  // waits for a slot's release before its boxes: the warps need not meet
  // at each chunk.
  bool chunkBarriers = !staging->emptyBarriers;
  auto barrier = [&](bool fenceProxy = true) {
    if (!staging->threadId) {
      if (staging->barrierModel)
        modelBarrier();
      return;
    }
    // wgmma reads shared memory through the async proxy: the thread's
    // writes (stores and landed cp.async copies) are ordered before it.
    if (staging->coreMatrices && fenceProxy)
      NVVM::FenceProxyOp::create(
          b, loc,
          NVVM::ProxyKindAttr::get(b.getContext(),
                                   NVVM::ProxyKind::async_shared),
          NVVM::SharedSpaceAttr::get(b.getContext(),
                                     NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);
  };
  // On the host, `access(model, slot)` for the A and W slots that chunk
  // `chunk` is read from, with their barrier model's accesses.
  auto forEachAccessedSlot = [&](Value chunk,
                                 function_ref<void(Value, Value)> access) {
    access(staging->activationAccessModel, activationSlotOf(chunk));
    if (staging->weightAccessModel)
      access(staging->weightAccessModel, weightSlotOf(chunk));
  };
  // `body(lastChunk - back)` where there is such a chunk (lastChunk >=
  // back): on the host, a chunk the GPU's pending wgmmas still run.
  auto whereChunkBack = [&](Value lastChunk, int64_t back,
                            function_ref<void(Value)> body) {
    if (back == 0)
      return body(lastChunk);
    Value behind = constant(back);
    Value chunk = arith::SubIOp::create(b, loc, lastChunk, behind);
    whereTrue(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                    lastChunk, behind),
              [&] { body(chunk); });
  };
  // On the host, the reads of chunk `lastChunk - back` end (where there is
  // such a chunk).
  auto endReads = [&](Value lastChunk, int64_t back) {
    whereChunkBack(lastChunk, back, [&](Value chunk) {
      forEachAccessedSlot(chunk, [&](Value accesses, Value slot) {
        modelBarrierReadsEnded(accesses, slot);
      });
    });
  };
  // Where chunk `chunk`'s steps end: on the GPU `endOfChunk` (a
  // warpgroup's wait for its wgmmas but the last `pendingChunks` chunks'),
  // on the host the end of the reads that wait retires.
  // With empty mbarriers, the warp then releases the chunk's slot.
  auto endChunk = [&](Value chunk) {
    auto release = [&] {
      if (staging->emptyBarriers)
        whereChunkBack(chunk, staging->pendingChunks,
                       [&](Value read) { releaseSlot(read); });
    };
    if (staging->threadId) {
      if (endOfChunk)
        endOfChunk(staging->pendingChunks);
      return release();
    }
    // On the host, where the GPU's wait retires the wgmmas of all but the
    // last `pendingChunks` chunks.
    if (staging->emptyBarriers)
      whereChunkBack(chunk, staging->pendingChunks,
                     [&](Value retired) { modelSlotRetired(retired); });
    release();
    if (staging->barrierModel && staging->pendingChunks > 0)
      endReads(chunk, staging->pendingChunks);
  };
  // Narrowed, A's chunks are copied as W's are (by emitWeightStageCopy),
  // with them where W is staged: chunks ahead, by cp.async or TMA boxes
  // (`copiesAsync`); the threads' cp.async copies, if any, in groups.
  bool narrow = staging->narrowActivations;
  bool copiesAsync = !staging->weightBuffers.empty() || narrow;
  bool cpAsync = staging->copiesByCpAsync();
  int64_t ahead = staging->weightChunksAhead;
  // With the activation ring, A's chunks are copied with W's, in their
  // groups, and rounded once they have landed.
  bool ringed = static_cast<bool>(staging->activationRing);
  Value chunks = arith::CeilDivUIOp::create(b, loc, k, constant(kChunkDepth));
  // TMA W's boxes: the slots' mbarriers are set up for this run of the
  // tile, one arrival (the issuing thread's) and the boxes' bytes a phase,
  // before any thread waits on them; on the host, their model.
  bool boxes = !staging->tmaBoxes.empty() && staging->threadId;
  bool modelBoxes = !staging->tmaBoxes.empty() && !staging->threadId;
  if (modelBoxes)
    initBoxBarrierModel();
  if (modelBoxes && staging->emptyBarriers)
    initEmptyBarrierModel();
  // On the host, the model of the cp.async groups (a W slot model where
  // cp.async fills the W slots, so that a chunk's steps read what its
  // group brought).
  if (staging->asyncGroupModel)
    initAsyncCopyModel(staging->asyncGroupModel,
                       {staging->slotCopyModel, staging->ringCopyModel});
  // The block barrier's model is set up where it was made, once a warp's
  // turn, before any run of the tile.
  if (staging->barrierModel) {
    OpBuilder::InsertionGuard guard(b);
    Value last = staging->weightAccessModel ? staging->weightAccessModel
                                            : staging->activationAccessModel;
    b.setInsertionPointAfter(last.getDefiningOp());
    initBarrierModel();
  }
  // A chunk is waited for with the groups of the `ahead - 1` chunks after
  // it still in flight.
  int64_t groupsLeftPending = ahead - 1;
  if (boxes) {
    for (int64_t slot = 0; slot < staging->weightSlots; ++slot)
      nvgpu::MBarrierInitOp::create(b, loc, staging->weightBarriers,
                                    constant(kBoxArrivals), constant(slot),
                                    staging->issuesBoxes);
    // An empty mbarrier's phase: every warp's release.
    if (staging->emptyBarriers)
      for (int64_t slot = 0; slot < staging->weightSlots; ++slot)
        nvgpu::MBarrierInitOp::create(
            b, loc, staging->emptyBarriers,
            constant(staging->threads / kNVIDIAWarpSize), constant(slot),
            staging->issuesBoxes);
    // The maps are the launch's grid-constant parameters
    // (moe-gpu-grid-constant-tensor-maps), which need no acquire fence:
    // the issuing thread brings them into the cache before its first box.
    whereTrue(staging->issuesBoxes, [&] {
      for (const Staging::TmaBox &box : staging->tmaBoxes)
        nvgpu::TmaPrefetchOp::create(b, loc, box.map, /*predicate=*/Value());
    });
    NVVM::FenceMbarrierInitOp::create(b, loc);
    gpu::BarrierOp::create(b, loc);
  } else if (modelBoxes && staging->barrierModel) {
    // The barrier after the set-up, on the host.
    modelBarrier();
  }
  // The copies of chunk `chunk` (the next) have landed before the barrier
  // that makes every thread's visible: this thread's cp.async copies (each
  // later chunk's are a group of their own, committed after it), and with
  // TMA W the boxes of the chunk, where there is one (`mayBePast`: it may
  // be past the last), whose slot's mbarrier completes its
  // (chunk / slots)-th phase (on the host, checked by the model).
  auto waitForWeights = [&](Value chunk, bool mayBePast) {
    if (cpAsync && staging->threadId)
      NVVM::CpAsyncWaitGroupOp::create(b, loc, groupsLeftPending);
    else if (cpAsync && staging->asyncGroupModel)
      modelWaitGroup(staging->asyncGroupModel, groupsLeftPending);
    if (!boxes && !modelBoxes)
      return;
    auto wait = [&] {
      Value use = weightSlotUseOf(chunk);
      Value parity = isOddPhase(use);
      Value slot = weightSlotOf(chunk);
      if (modelBoxes)
        return modelBoxWait(slot, use, parity);
      waitOnSlotBarrier(staging->weightBarriers, slot, parity);
    };
    if (!mayBePast)
      return wait();
    whereTrue(
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, chunk, chunks),
        wait);
  };
  // The cp.async copies (W's, narrowed A's) of chunk `chunk` where there is
  // one; with more than one chunk ahead, a group is committed either way,
  // so that the waits count the groups after the next chunk's.
  auto copyWeightsIfAny = [&](Value chunk) {
    Value any =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, chunk, chunks);
    fillBlock(b, loc, scf::IfOp::create(b, loc, any).thenBlock(), [&] {
      if (ringed)
        emitActivationRingCopy(chunk);
      emitWeightStageCopy(chunk, /*commit=*/ahead == 1);
      return SmallVector<Value>();
    });
    if (ahead > 1 && cpAsync && staging->threadId)
      nvgpu::DeviceAsyncCreateGroupOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()),
          ValueRange());
    else if (ahead > 1 && cpAsync && staging->asyncGroupModel)
      modelCommit(staging->asyncGroupModel);
  };
  if (ringed)
    emitActivationRingCopy(constant(0));
  else if (!narrow)
    emitStageCopy(operandType, constant(0));
  if (copiesAsync) {
    emitWeightStageCopy(constant(0));
    for (int64_t c = 1; c < ahead; ++c)
      copyWeightsIfAny(constant(c));
  }
  waitForWeights(constant(0), /*mayBePast=*/false);
  if (ringed)
    roundActivationRing(operandType, constant(0));
  if (chunkBarriers)
    barrier();
  // The steps of chunk `chunk` on its staged slot, from `values`.
  auto emitChunkSteps = [&](Value chunk,
                            ValueRange values) -> SmallVector<Value> {
    Value chunkStart =
        arith::MulIOp::create(b, loc, chunk, constant(kChunkDepth));
    Value slot = activationSlotOf(chunk);
    Value weightSlot = weightSlotOf(chunk);
    // Core matrices are read through descriptors of the buffers.
    Value view = staging->coreMatrices
                     ? staging->buffer
                     : stagedChunk(staging->buffer, slot, staging->rowOffset,
                                   activations);
    // A warpgroup's chunk always takes its two steps (past K its buffers
    // hold zeros): a loop of a dynamic count of steps, where K is not a
    // multiple of the chunk, carries the accumulators around a back edge,
    // and ptxas then serializes the wgmmas.
    Value chunkEnd =
        arith::AddIOp::create(b, loc, chunkStart, constant(kChunkDepth));
    if (!staging->coreMatrices)
      chunkEnd = arith::MinUIOp::create(b, loc, k, chunkEnd);
    SmallVector<Value, 2> weightViews;
    for (auto [buffer, offset, weight] : llvm::zip_equal(
             staging->weightBuffers, staging->weightRowOffsets, weights))
      weightViews.push_back(
          staging->coreMatrices
              ? buffer
              : stagedChunk(buffer, weightSlot, offset, weight));
    auto emitSteps = [&](ValueRange values) -> SmallVector<Value> {
      auto steps = scf::ForOp::create(b, loc, chunkStart, chunkEnd,
                                      constant(kStepDepth), values);
      fillBlock(b, loc, steps.getBody(), [&] {
        return step(steps.getInductionVar(),
                    ASource{view, chunkStart, weightViews, slot, weightSlot},
                    steps.getRegionIterArgs());
      });
      return SmallVector<Value>(steps.getResults());
    };
    if (!hasTile)
      return emitSteps(values);
    auto ifTile = scf::IfOp::create(b, loc, init.getTypes(), hasTile,
                                    /*addThenBlock=*/true,
                                    /*addElseBlock=*/true);
    fillBlock(b, loc, ifTile.thenBlock(), [&] { return emitSteps(values); });
    fillBlock(b, loc, ifTile.elseBlock(),
              [&] { return SmallVector<Value>(values); });
    return SmallVector<Value>(ifTile.getResults());
  };
  auto loop =
      scf::ForOp::create(b, loc, constant(0), chunks, constant(1), init);
  fillBlock(b, loc, loop.getBody(), [&]() -> SmallVector<Value> {
    Value chunk = loop.getInductionVar();
    Value next = arith::AddIOp::create(b, loc, chunk, constant(1));
    Value hasNext =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, next, chunks);
    // A thread's loads of the next chunk are issued before this chunk's
    // steps and stored after them, so that the steps run while they are
    // in flight (on the host the whole copy comes after the steps); with
    // the activation ring, A's copies go with W's.
    // The W copies of the chunk `ahead` on are in flight while this
    // chunk's steps run (its slot's last readers, a step or a pending
    // wgmma, passed the barrier that ended the chunk before).
    if (copiesAsync)
      copyWeightsIfAny(arith::AddIOp::create(b, loc, chunk, constant(ahead)));
    SmallVector<Value> nextPieces;
    if (staging->threadId && !ringed && !narrow) {
      auto pieceType = VectorType::get({kCopyWidth}, b.getF32Type());
      auto load = scf::IfOp::create(
          b, loc, SmallVector<Type>(piecesPerThread(), pieceType), hasNext,
          /*addThenBlock=*/true, /*addElseBlock=*/true);
      fillBlock(b, loc, load.thenBlock(), [&] {
        return loadStagePieces(staging->source, next, staging->threadId);
      });
      fillBlock(b, loc, load.elseBlock(), [&] {
        Value zero =
            arith::ConstantOp::create(b, loc, b.getZeroAttr(pieceType));
        return SmallVector<Value>(piecesPerThread(), zero);
      });
      nextPieces = SmallVector<Value>(load.getResults());
    }
    // On the host, a chunk's steps come `pendingChunks` chunks late, after
    // the copies that a pending wgmma on the GPU runs beside: where those
    // wrote a slot it still reads, the host run reads what they wrote.
    bool deferSteps = !staging->threadId && staging->pendingChunks > 0;
    // Where the GPU's steps read the chunk's W slot, its copies landed,
    // and every thread's stores and copies of the chunk are visible.
    if (staging->slotCopyModel)
      modelSlotRead(staging->asyncGroupModel, staging->slotCopyModel,
                    weightSlotOf(chunk), chunk, AsyncCopyCounter::Visible);
    // A chunk's reads end with its steps, or (wgmma) at the wait that
    // retires them `pendingChunks` chunks on (endChunk).
    if (staging->barrierModel)
      forEachAccessedSlot(chunk, [&](Value accesses, Value slot) {
        modelBarrierReads(accesses, slot,
                          /*endNow=*/staging->pendingChunks == 0);
      });
    SmallVector<Value> values = SmallVector<Value>(loop.getRegionIterArgs());
    if (!deferSteps)
      values = emitChunkSteps(chunk, values);
    if (ringed) {
      // The next chunk's A has landed with its W: rounded into its slot.
      waitForWeights(next, /*mayBePast=*/true);
      fillBlock(b, loc, scf::IfOp::create(b, loc, hasNext).thenBlock(), [&] {
        roundActivationRing(operandType, next);
        return SmallVector<Value>();
      });
      endChunk(chunk);
    } else {
      if (!narrow)
        fillBlock(b, loc, scf::IfOp::create(b, loc, hasNext).thenBlock(), [&] {
          if (staging->threadId)
            storeStagePieces(operandType, next, staging->threadId, nextPieces);
          else
            emitStageCopy(operandType, next);
          return SmallVector<Value>();
        });
      endChunk(chunk);
      waitForWeights(next, /*mayBePast=*/true);
    }
    if (chunkBarriers)
      barrier();
    if (deferSteps) {
      assert(init.empty() && "the host's steps carry no values");
      whereChunkBack(chunk, staging->pendingChunks,
                     [&](Value late) { emitChunkSteps(late, ValueRange()); });
    }
    return values;
  });
  // The loop's last chunks' wgmmas may still run: once they have, a
  // barrier, so that no thread stages the next run of this tile (a
  // block-uniform loop around it) into a slot that another warpgroup's
  // wgmmas still read; on the host, their reads end there.
  auto drainPendingChunks = [&] {
    if (staging->threadId) {
      assert(endOfChunk && "pending chunks are a warpgroup's wgmmas");
      endOfChunk(0);
    } else if (staging->barrierModel) {
      for (int64_t back = 1; back <= staging->pendingChunks; ++back)
        endReads(chunks, back);
    }
    barrier(/*fenceProxy=*/false);
  };
  // With empty mbarriers the warps meet only here, each past its last wait
  // on an mbarrier, before thread 0 invalidates them.
  if (!chunkBarriers) {
    if (staging->pendingChunks > 0)
      drainPendingChunks();
    else
      barrier(/*fenceProxy=*/false);
  }
  // Every box has landed and been waited for by every thread before the
  // last barrier: the mbarriers are invalidated, so that a next run of
  // the tile may set them up again (on the host, the model checks that).
  if (modelBoxes)
    modelBoxBarrierInvalidation();
  if (staging->asyncGroupModel)
    modelCopiesLanded(staging->asyncGroupModel,
                      {staging->slotCopyModel, staging->ringCopyModel});
  if (boxes)
    whereTrue(staging->issuesBoxes, [&] {
      for (Value barriers : {staging->weightBarriers, staging->emptyBarriers}) {
        if (!barriers)
          continue;
        for (int64_t slot = 0; slot < staging->weightSlots; ++slot) {
          Value address = nvgpu::MBarrierGetOp::create(
              b, loc, b.getI64Type(), barriers, constant(slot));
          NVVM::MBarrierInvalOp::create(
              b, loc,
              LLVM::IntToPtrOp::create(
                  b, loc,
                  LLVM::LLVMPointerType::get(
                      b.getContext(),
                      static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared)),
                  address));
        }
      }
    });
  if (chunkBarriers && staging->pendingChunks > 0)
    drainPendingChunks();
  if (staging->threadId || staging->pendingChunks == 0)
    return SmallVector<Value>(loop.getResults());
  // The host's last chunks' steps, which the GPU waits for after the loop.
  for (int64_t back = staging->pendingChunks; back > 0; --back)
    whereChunkBack(chunks, back,
                   [&](Value late) { emitChunkSteps(late, ValueRange()); });
  return SmallVector<Value>(loop.getResults());
}

void WarpTileEmitter::emitWarpgroupTile(Type operandType, Value activations,
                                        Value result, ArrayRef<Value> weights,
                                        ElementFn initial,
                                        function_ref<void(ElementFn)> finish) {
  assert(rowTiles == 1 && "a warp's part of a warpgroup is 16 rows");
  int64_t weightCount = static_cast<int64_t>(weights.size());
  int64_t accumulators = weightCount * colTiles;
  // Every warp of the warpgroup issues its wgmmas (they are .aligned), an
  // empty tile too: it only loads and stores nothing.
  Value hasTile = hasElements(result);
  auto whereTile = [&](function_ref<void()> body) { whereTrue(hasTile, body); };
  // With more than one warpgroup a block, the row of the staged A chunk
  // where this warp's warpgroup's 64 rows start (null: row 0).
  Value firstRow;
  // The step's two halves of K, each one wgmma a weight, from column
  // `column` of the staged chunk (the buffers in `a`).
  auto descriptors = [&](ASource a, Value k0, int64_t half) {
    Value column = arith::AddIOp::create(
        b, loc, arith::SubIOp::create(b, loc, k0, a.chunkStart),
        constant(half * kWarpgroupDepth));
    SmallVector<Value, 3> built = {buildWarpgroupDescriptor(
        b, loc, a.memref, a.slot, column, emulateLanes, firstRow)};
    for (Value buffer : a.weightViews)
      built.push_back(buildWarpgroupDescriptor(b, loc, buffer, a.weightSlot,
                                               column, emulateLanes));
    return built;
  };
  int64_t halves = kStepDepth / kWarpgroupDepth;
  // The warp's warpgroup reads its 64 rows of the block's staged A.
  auto warpgroupRows = [&](Value warp) {
    return arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, warp, constant(kWarpgroupWarps)),
        constant(kWarpgroupRows));
  };
  bool severalWarpgroups = stagedRows() > kWarpgroupRows;
  if (!emulateLanes) {
    setUpLane(activations, result, /*lane=*/Value());
    if (severalWarpgroups)
      firstRow = warpgroupRows(arith::DivUIOp::create(
          b, loc, staging->threadId, constant(kNVIDIAWarpSize)));
    Type structType =
        getWarpgroupAccumulatorType(b.getContext(), colTiles * kMmaCols);
    auto initialStructs = [&]() {
      SmallVector<Value> structs;
      for (int64_t w = 0; w < weightCount; ++w) {
        Value value = LLVM::UndefOp::create(b, loc, structType);
        for (int64_t j = 0; j < colTiles; ++j)
          for (int64_t e = 0; e < 4; ++e)
            value = LLVM::InsertValueOp::create(b, loc, value,
                                                initial(w * colTiles + j, e),
                                                ArrayRef<int64_t>{4 * j + e});
        structs.push_back(value);
      }
      return structs;
    };
    SmallVector<Value> init;
    if (!hasTile) {
      init = initialStructs();
    } else {
      // An empty tile's C is not loaded; its accumulators are never stored.
      auto ifTile = scf::IfOp::create(
          b, loc, SmallVector<Type>(weightCount, structType), hasTile,
          /*addThenBlock=*/true, /*addElseBlock=*/true);
      fillBlock(b, loc, ifTile.thenBlock(), initialStructs);
      fillBlock(b, loc, ifTile.elseBlock(), [&] {
        return SmallVector<Value>(weightCount,
                                  LLVM::UndefOp::create(b, loc, structType));
      });
      init = SmallVector<Value>(ifTile.getResults());
    }
    SmallVector<Value> products = emitDepthLoop(
        operandType, activations, weights, /*hasTile=*/Value(), init,
        [&](Value k0, ASource a, ValueRange values) {
          // The accumulators' registers were last written by the steps'
          // wgmmas or the first values: a fence orders them before these
          // (and the values are pinned before it).
          SmallVector<Value> accs = llvm::map_to_vector(values, [&](Value acc) {
            return fenceWarpgroupAccumulators(b, loc, acc);
          });
          NVVM::WgmmaFenceAlignedOp::create(b, loc);
          for (int64_t half = 0; half < halves; ++half) {
            SmallVector<Value, 3> at = descriptors(a, k0, half);
            for (int64_t w = 0; w < weightCount; ++w)
              accs[w] = createWarpgroupMma(b, loc, operandType, at.front(),
                                           at[w + 1], accs[w]);
          }
          NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
          return accs;
        },
        // A chunk's wgmmas have read its buffers before the barrier after
        // which copies overwrite them: the last `left` chunks' (a group a
        // step) may still run. After the loop, all of them have run before
        // the accumulators are read.
        [&](int64_t left) {
          NVVM::WgmmaWaitGroupSyncOp::create(b, loc,
                                             left * (kChunkDepth / kStepDepth));
        });
    // Read after the last wait, not hoisted above it.
    for (Value &acc : products)
      acc = fenceWarpgroupAccumulators(b, loc, acc);
    // The epilogue's element indices, computed again here: kept from
    // before the loop, a ragged tile's clamped columns and their checks
    // (a register each) would be live beside the accumulators all along
    // it, and spill.
    setUpLane(activations, result, readLaneIdHere(b, loc));
    whereTile([&] {
      finish([&](int64_t s, int64_t e) -> Value {
        return LLVM::ExtractValueOp::create(
            b, loc, products[s / colTiles],
            ArrayRef<int64_t>{4 * (s % colTiles) + e});
      });
    });
    return;
  }
  // On the host: the lanes' accumulators in a [lane, accumulator, 4]
  // buffer, each wgmma computed as this warp of the group sees it.
  Value accBuffer = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({kNVIDIAWarpSize, accumulators, 4}, b.getF32Type()));
  Value rank =
      arith::RemUIOp::create(b, loc, hostWarp, constant(kWarpgroupWarps));
  if (severalWarpgroups)
    firstRow = warpgroupRows(hostWarp);
  whereTile([&] {
    forEachLane([&](Value lane) {
      setUpLane(activations, result, lane);
      storeLaneAccumulators(accBuffer, lane, accumulators, initial);
    });
  });
  emitDepthLoop(operandType, activations, weights, hasTile, ValueRange(),
                [&](Value k0, ASource a, ValueRange) -> SmallVector<Value> {
                  for (int64_t half = 0; half < halves; ++half) {
                    SmallVector<Value, 3> at = descriptors(a, k0, half);
                    for (int64_t w = 0; w < weightCount; ++w)
                      emulateWarpgroupMma(b, loc, a.memref, at.front(),
                                          a.weightViews[w], at[w + 1], rank,
                                          accBuffer, w * colTiles, colTiles);
                  }
                  return {};
                });
  whereTile([&] { finishLanes(accBuffer, activations, result, finish); });
}
