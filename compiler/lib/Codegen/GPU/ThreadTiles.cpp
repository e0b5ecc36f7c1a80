//===- ThreadTiles.cpp - Linalg iterations over GPU threads -----*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/ThreadTiles.h"
#include "moe/Codegen/GPU/BufferAccesses.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;
using namespace mlir::moe;

FailureOr<int64_t> mlir::moe::constantUpperBound(Value size) {
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return *constant;
  Operation *def = size.getDefiningOp();
  if (isa_and_nonnull<arith::MinUIOp, arith::MinSIOp>(def)) {
    FailureOr<int64_t> lhs = constantUpperBound(def->getOperand(0));
    FailureOr<int64_t> rhs = constantUpperBound(def->getOperand(1));
    if (succeeded(lhs) && succeeded(rhs))
      return std::min(*lhs, *rhs);
    if (succeeded(lhs) || succeeded(rhs))
      return succeeded(lhs) ? *lhs : *rhs;
  }
  return ValueBoundsConstraintSet::computeConstantBound(
      presburger::BoundType::UB, size, /*stopCondition=*/nullptr,
      /*closedUB=*/true);
}

/// Whether `buffer` is an allocation or a function argument.
static bool isBufferRoot(Value buffer) {
  return isa<BlockArgument>(buffer) ||
         buffer.getDefiningOp<memref::AllocOp>() ||
         buffer.getDefiningOp<memref::AllocaOp>();
}

FailureOr<scf::ForallOp>
mlir::moe::tileCyclicallyOverThreads(RewriterBase &rewriter,
                                     linalg::LinalgOp op, int64_t threads,
                                     Attribute mapping) {
  if (!op.hasPureBufferSemantics() || op.hasIndexSemantics() || threads < 1)
    return failure();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<Range> ranges = op.createLoopRanges(rewriter, loc);

  // The split loops, innermost first, and their thread counts: each takes
  // what its trip count fills of the threads the inner ones leave.
  SmallVector<int64_t> dims, counts;
  int64_t remaining = threads;
  for (int64_t d = iterators.size() - 1; d >= 0 && remaining > 1; --d) {
    if (iterators[d] != utils::IteratorType::parallel)
      continue;
    Value size = getValueOrCreateConstantIndexOp(rewriter, loc, ranges[d].size);
    FailureOr<int64_t> bound = constantUpperBound(size);
    int64_t count = remaining;
    if (succeeded(bound))
      count = std::clamp<int64_t>(*bound, 1, remaining);
    dims.push_back(d);
    counts.push_back(count);
    remaining /= count;
  }
  if (dims.empty())
    return failure();

  // Every shaped operand indexes a split loop by the loop itself, and every
  // output indexes each split loop (else threads would write alike).
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (int64_t d : dims) {
      bool indexed = false;
      for (AffineExpr expr : map.getResults()) {
        if (!expr.isFunctionOfDim(d))
          continue;
        auto dim = dyn_cast<AffineDimExpr>(expr);
        if (!dim)
          return failure();
        indexed = true;
      }
      if (!indexed && op.isDpsInit(&operand))
        return failure();
    }
  }

  int64_t total = 1;
  for (int64_t count : counts)
    total *= count;
  auto forall = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(total)},
      ValueRange(), rewriter.getArrayAttr({mapping}));
  rewriter.setInsertionPoint(forall.getBody()->getTerminator());
  // Thread t's place on each split loop: t mixed-radix, innermost fastest.
  DenseMap<int64_t, std::pair<Value, int64_t>> place; // dim -> (first, count)
  Value rest = forall.getInductionVar(0);
  for (auto [i, d] : llvm::enumerate(dims)) {
    Value count = arith::ConstantIndexOp::create(rewriter, loc, counts[i]);
    Value first = i + 1 == dims.size()
                      ? rest
                      : arith::RemUIOp::create(rewriter, loc, rest, count);
    place[d] = {first, counts[i]};
    if (i + 1 != dims.size())
      rest = arith::DivUIOp::create(rewriter, loc, rest, count);
  }
  // Thread c of n on a loop of `size` iterations takes max(0, ceil((size -
  // c) / n)) of them.
  AffineExpr size = rewriter.getAffineSymbolExpr(0);
  AffineExpr first = rewriter.getAffineSymbolExpr(1);
  auto share = [&](OpFoldResult loopSize, Value start,
                   int64_t count) -> OpFoldResult {
    AffineMap map = AffineMap::get(
        0, 2,
        {(size - first).ceilDiv(count), rewriter.getAffineConstantExpr(0)},
        rewriter.getContext());
    return affine::makeComposedFoldedAffineMax(rewriter, loc, map,
                                               {loopSize, start});
  };

  DenseMap<int64_t, OpFoldResult> shares; // dim -> this thread's count
  SmallVector<Value> operands;
  for (OpOperand &operand : op->getOpOperands()) {
    Value value = operand.get();
    auto type = dyn_cast<MemRefType>(value.getType());
    if (!type) {
      operands.push_back(value);
      continue;
    }
    AffineMap map = op.getMatchingIndexingMap(&operand);
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      auto it = dim ? place.find(dim.getPosition()) : place.end();
      if (it == place.end()) {
        offsets.push_back(rewriter.getIndexAttr(0));
        sizes.push_back(memref::getMixedSize(rewriter, loc, value, i));
        strides.push_back(rewriter.getIndexAttr(1));
        continue;
      }
      auto [start, count] = it->second;
      OpFoldResult &shareSize = shares[dim.getPosition()];
      if (!shareSize)
        shareSize = share(ranges[dim.getPosition()].size, start, count);
      offsets.push_back(start);
      sizes.push_back(shareSize);
      strides.push_back(rewriter.getIndexAttr(count));
    }
    operands.push_back(memref::SubViewOp::create(rewriter, loc, value, offsets,
                                                 sizes, strides));
  }
  Operation *tile = rewriter.clone(*op);
  tile->setOperands(operands);
  rewriter.eraseOp(op);
  return forall;
}

LogicalResult mlir::moe::accumulateInRegisters(RewriterBase &rewriter,
                                               linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0)
    return failure();
  OpOperand *init = op.getDpsInitOperand(0);
  AffineMap initMap = op.getMatchingIndexingMap(init);
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [d, iterator] : llvm::enumerate(iterators))
    if (iterator == utils::IteratorType::reduction &&
        initMap.isFunctionOfDim(d))
      return failure();
  // The terms must not read what the loop writes: each input a view of
  // another allocation or function argument than the output. (Distinct
  // arguments are distinct buffers here, as bufferization gives a reduction
  // its own output.)
  Value output = getViewedBuffer(init->get());
  if (!isBufferRoot(output))
    return failure();
  for (OpOperand *input : op.getDpsInputOperands()) {
    if (!isa<MemRefType>(input->get().getType()))
      continue;
    Value read = getViewedBuffer(input->get());
    if (!isBufferRoot(read) || read == output)
      return failure();
  }

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc);
  SmallVector<Value> parallelLbs, parallelUbs, parallelSteps;
  SmallVector<Value> reductionLbs, reductionUbs, reductionSteps;
  SmallVector<int64_t> parallelDims, reductionDims;
  for (auto [d, iterator] : llvm::enumerate(iterators)) {
    bool parallel = iterator == utils::IteratorType::parallel;
    (parallel ? parallelDims : reductionDims).push_back(d);
    auto &lbs = parallel ? parallelLbs : reductionLbs;
    auto &ubs = parallel ? parallelUbs : reductionUbs;
    auto &steps = parallel ? parallelSteps : reductionSteps;
    lbs.push_back(
        getValueOrCreateConstantIndexOp(rewriter, loc, ranges[d].offset));
    ubs.push_back(
        getValueOrCreateConstantIndexOp(rewriter, loc, ranges[d].size));
    steps.push_back(
        getValueOrCreateConstantIndexOp(rewriter, loc, ranges[d].stride));
  }

  SmallVector<Value> ivs(iterators.size());
  auto indices = [&](OpBuilder &b, AffineMap map) {
    SmallVector<Value> result;
    for (AffineExpr expr : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
        result.push_back(ivs[dim.getPosition()]);
        continue;
      }
      // (Loops not yet entered index nothing here: zero.)
      SmallVector<Value> operands = llvm::map_to_vector(ivs, [&](Value iv) {
        return iv ? iv : arith::ConstantIndexOp::create(b, loc, 0).getResult();
      });
      result.push_back(affine::AffineApplyOp::create(
          b, loc, AffineMap::get(map.getNumDims(), 0, expr), operands));
    }
    return result;
  };
  Block &body = op.getRegion().front();
  scf::buildLoopNest(
      rewriter, loc, parallelLbs, parallelUbs, parallelSteps,
      [&](OpBuilder &b, Location, ValueRange outer) {
        for (auto [d, iv] : llvm::zip(parallelDims, outer))
          ivs[d] = iv;
        SmallVector<Value> at = indices(b, initMap);
        Value start = memref::LoadOp::create(b, loc, init->get(), at);
        scf::LoopNest terms = scf::buildLoopNest(
            b, loc, reductionLbs, reductionUbs, reductionSteps,
            ValueRange{start},
            [&](OpBuilder &b, Location, ValueRange inner,
                ValueRange acc) -> scf::ValueVector {
              for (auto [d, iv] : llvm::zip(reductionDims, inner))
                ivs[d] = iv;
              IRMapping values;
              for (OpOperand *input : op.getDpsInputOperands()) {
                Value operand = input->get();
                Value term = operand;
                if (isa<MemRefType>(operand.getType()))
                  term = memref::LoadOp::create(
                      b, loc, operand,
                      indices(b, op.getMatchingIndexingMap(input)));
                values.map(op.getMatchingBlockArgument(input), term);
              }
              values.map(op.getMatchingBlockArgument(init), acc.front());
              for (Operation &bodyOp : body.without_terminator()) {
                if (auto index = dyn_cast<linalg::IndexOp>(bodyOp)) {
                  values.map(index.getResult(), ivs[index.getDim()]);
                  continue;
                }
                b.clone(bodyOp, values);
              }
              return {
                  values.lookupOrDefault(body.getTerminator()->getOperand(0))};
            });
        memref::StoreOp::create(b, loc, terms.results.front(), init->get(), at);
      });
  rewriter.eraseOp(op);
  return success();
}
