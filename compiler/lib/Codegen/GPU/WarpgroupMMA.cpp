//===- WarpgroupMMA.cpp - wgmma on staged core matrices ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Codegen/GPU/WarpgroupMMA.h"
#include "moe/Codegen/GPU/TensorCores.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::moe;

/// A core matrix: 8 rows of 8 16-bit elements, 16 bytes a row.
static constexpr int64_t kCoreSide = 8, kCoreRowBytes = 16,
                         kCoreElements = kCoreSide * kCoreSide,
                         kCoreBytes = kCoreSide * kCoreRowBytes;
/// The descriptor's fields (PTX ISA, "Matrix Descriptor Format"): 14 bits
/// each of the start address, the leading and the stride dimension byte
/// offsets, in units of 16 bytes, at bits 0, 16 and 32; base offset 0
/// (slots start on a swizzle pattern); the swizzling mode in bits 62-63 (0
/// none, 1 128-byte).
static constexpr int64_t kFieldUnit = 16, kFieldMask = 0x3FFF;
static constexpr int64_t kLeadingShift = 16, kStrideShift = 32,
                         kSwizzleShift = 62;
static constexpr int64_t kSwizzle128B = 1;

MemRefType mlir::moe::getSwizzledChunksType(int64_t slots, int64_t rows,
                                            int64_t depth, Type element,
                                            Attribute memorySpace) {
  assert(depth * element.getIntOrFloatBitWidth() / 8 == kSwizzleRowBytes &&
         rows % kCoreSide == 0 && "128-byte rows, whole swizzle patterns");
  return MemRefType::get({slots, rows, depth}, element, AffineMap(),
                         memorySpace);
}

bool mlir::moe::isSwizzledChunks(MemRefType type) {
  return type.getRank() == 3 && type.hasStaticShape() &&
         type.getLayout().isIdentity() &&
         type.getDimSize(2) * type.getElementTypeBitWidth() / 8 ==
             kSwizzleRowBytes;
}

SmallVector<Value>
mlir::moe::getSwizzledPieceIndices(OpBuilder &b, Location loc, MemRefType type,
                                   Value slot, Value row, Value column) {
  assert(isSwizzledChunks(type) && "a swizzled buffer");
  int64_t pieceElements = kCoreRowBytes * 8 / type.getElementTypeBitWidth();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  // Piece column / 8 of the row lands at piece (column / 8) ^ (row % 8).
  Value piece = arith::DivUIOp::create(b, loc, column, index(pieceElements));
  Value swizzled = arith::XOrIOp::create(
      b, loc, piece, arith::RemUIOp::create(b, loc, row, index(kCoreSide)));
  return {slot, row,
          arith::MulIOp::create(b, loc, swizzled, index(pieceElements))};
}

MemRefType mlir::moe::getCoreMatrixChunksType(int64_t slots, int64_t rows,
                                              int64_t depth, Type element,
                                              Attribute memorySpace) {
  return MemRefType::get(
      {slots, rows / kCoreSide, depth / kCoreSide, kCoreSide, kCoreSide},
      element, AffineMap(), memorySpace);
}

int64_t mlir::moe::getStagedRows(MemRefType type) {
  if (type.getRank() == 5)
    return type.getDimSize(1) * kCoreSide;
  // Swizzled chunks and row buffers: [slots, rows, ...].
  return type.getDimSize(1);
}

SmallVector<Value> mlir::moe::getCoreMatrixIndices(OpBuilder &b, Location loc,
                                                   Value slot, Value row,
                                                   Value column) {
  Value side = arith::ConstantIndexOp::create(b, loc, kCoreSide);
  return {slot, arith::DivUIOp::create(b, loc, row, side),
          arith::DivUIOp::create(b, loc, column, side),
          arith::RemUIOp::create(b, loc, row, side),
          arith::RemUIOp::create(b, loc, column, side)};
}

std::pair<Value, Value>
mlir::moe::getCoreMatrixPiecePlace(OpBuilder &b, Location loc, Value piece,
                                   int64_t width, int64_t depth) {
  assert(kCoreSide % width == 0 && depth % kCoreSide == 0 &&
         "pieces tile the core matrices");
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  // piece = ((rowGroup * coresAlongK + core) * 8 + rowInCore) * perRow + part
  int64_t perRow = kCoreSide / width, coresAlongK = depth / kCoreSide;
  Value part = arith::RemUIOp::create(b, loc, piece, index(perRow));
  Value coreRow = arith::DivUIOp::create(b, loc, piece, index(perRow));
  Value rowInCore = arith::RemUIOp::create(b, loc, coreRow, index(kCoreSide));
  Value cores = arith::DivUIOp::create(b, loc, coreRow, index(kCoreSide));
  Value core = arith::RemUIOp::create(b, loc, cores, index(coresAlongK));
  Value rowGroup = arith::DivUIOp::create(b, loc, cores, index(coresAlongK));
  Value row = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, rowGroup, index(kCoreSide)),
      rowInCore);
  Value column = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, core, index(kCoreSide)),
      arith::MulIOp::create(b, loc, part, index(width)));
  return {row, column};
}

Value mlir::moe::buildWarpgroupDescriptor(OpBuilder &b, Location loc,
                                          Value buffer, Value slot,
                                          Value column, bool onHost,
                                          Value firstRow) {
  auto type = cast<MemRefType>(buffer.getType());
  bool swizzled = isSwizzledChunks(type);
  assert((swizzled || (type.getRank() == 5 && type.getLayout().isIdentity())) &&
         "a core-matrix or swizzled buffer");
  int64_t slotElements = type.getNumElements() / type.getDimSize(0);
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  Value slotStart = arith::MulIOp::create(b, loc, slot, index(slotElements));
  Value elements;
  // Core matrices along K follow each other; rows 8 apart are a chunk's
  // row of core matrices apart. Swizzled, the matrix starts `column`
  // elements into its first row (the GPU swizzles the address it computes
  // from there); rows 8 apart are a pattern apart, and the leading offset
  // is unused (a wgmma's 16 columns are within a row).
  int64_t leadingBytes, strideBytes, rowElements;
  if (swizzled) {
    leadingBytes = kFieldUnit;
    strideBytes = kSwizzlePatternBytes;
    rowElements = type.getDimSize(2);
    elements = arith::AddIOp::create(b, loc, slotStart, column);
  } else {
    leadingBytes = kCoreBytes;
    strideBytes = type.getDimSize(2) * kCoreBytes;
    // A row of core matrices is a chunk's 8 rows.
    rowElements = type.getDimSize(2) * kCoreElements / kCoreSide;
    elements = arith::AddIOp::create(
        b, loc, slotStart,
        arith::MulIOp::create(
            b, loc, arith::DivUIOp::create(b, loc, column, index(kCoreSide)),
            index(kCoreElements)));
  }
  if (firstRow)
    elements = arith::AddIOp::create(
        b, loc, elements,
        arith::MulIOp::create(b, loc, firstRow, index(rowElements)));
  Value start = arith::MulIOp::create(b, loc, elements, index(elementBytes));
  if (!onHost)
    start = arith::AddIOp::create(
        b, loc, memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer),
        start);
  Type i64 = b.getI64Type();
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, value);
  };
  Value startField = arith::AndIOp::create(
      b, loc,
      arith::ShRUIOp::create(b, loc,
                             arith::IndexCastUIOp::create(b, loc, i64, start),
                             constant(4)),
      constant(kFieldMask));
  int64_t offsets = (leadingBytes / kFieldUnit) << kLeadingShift |
                    (strideBytes / kFieldUnit) << kStrideShift;
  if (swizzled)
    offsets |= kSwizzle128B << kSwizzleShift;
  return arith::OrIOp::create(b, loc, startField, constant(offsets));
}

Type mlir::moe::getWarpgroupAccumulatorType(MLIRContext *context,
                                            int64_t columns) {
  return LLVM::LLVMStructType::getLiteral(
      context, SmallVector<Type>(columns / 2, Float32Type::get(context)));
}

Value mlir::moe::fenceWarpgroupAccumulators(OpBuilder &b, Location loc,
                                            Value accumulators) {
  auto type = cast<LLVM::LLVMStructType>(accumulators.getType());
  int64_t count = static_cast<int64_t>(type.getBody().size());
  SmallVector<Value> registers;
  std::string outputs, inputs;
  for (int64_t i = 0; i < count; ++i) {
    registers.push_back(LLVM::ExtractValueOp::create(b, loc, accumulators,
                                                     ArrayRef<int64_t>{i}));
    outputs += "=f,";
    inputs += (i ? "," : "") + std::to_string(i);
  }
  return LLVM::InlineAsmOp::create(
             b, loc, type, registers, /*asm_string=*/"", outputs + inputs,
             /*has_side_effects=*/true, /*is_align_stack=*/false,
             LLVM::tailcallkind::TailCallKind::None,
             /*asm_dialect=*/LLVM::AsmDialectAttr(),
             /*operand_attrs=*/ArrayAttr())
      .getResult(0);
}

Value mlir::moe::createWarpgroupMma(OpBuilder &b, Location loc,
                                    Type operandType, Value a, Value w,
                                    Value accumulators) {
  auto type = cast<LLVM::LLVMStructType>(accumulators.getType());
  int64_t columns = 2 * static_cast<int64_t>(type.getBody().size());
  NVVM::WGMMATypes operand =
      operandType.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  return NVVM::WgmmaMmaAsyncOp::create(
      b, loc, type, accumulators, a, w,
      NVVM::MMAShapeAttr::get(b.getContext(), kWarpgroupRows, columns,
                              kWarpgroupDepth),
      operand, operand, NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one,
      NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
      NVVM::MMALayout::col,
      /*satfinite=*/nullptr);
}

void mlir::moe::emulateWarpgroupMma(OpBuilder &b, Location loc, Value aBuffer,
                                    Value aDescriptor, Value wBuffer,
                                    Value wDescriptor, Value warp,
                                    Value accBuffer, int64_t firstTile,
                                    int64_t columnTiles) {
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  Type i64 = b.getI64Type();
  auto i64Constant = [&](int64_t value) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, value);
  };
  auto flat = [&](Value buffer) -> Value {
    ReassociationIndices all = llvm::to_vector(
        llvm::seq<int64_t>(0, cast<MemRefType>(buffer.getType()).getRank()));
    return memref::CollapseShapeOp::create(
        b, loc, buffer, SmallVector<ReassociationIndices>{all});
  };
  Value aFlat = flat(aBuffer), wFlat = flat(wBuffer);
  // The descriptor's fields as the GPU reads them: bytes.
  auto field = [&](Value descriptor, int64_t shift) -> Value {
    Value bits = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, descriptor, i64Constant(shift)),
        i64Constant(kFieldMask));
    return arith::IndexCastUIOp::create(
        b, loc, b.getIndexType(),
        arith::MulIOp::create(b, loc, bits, i64Constant(kFieldUnit)));
  };
  struct Decoded {
    Value flat, start, leading, stride, swizzled;
    int64_t elementBytes;
  };
  auto decode = [&](Value flat, Value descriptor) {
    Value mode =
        arith::ShRUIOp::create(b, loc, descriptor, i64Constant(kSwizzleShift));
    return Decoded{flat,
                   field(descriptor, 0),
                   field(descriptor, kLeadingShift),
                   field(descriptor, kStrideShift),
                   arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, mode,
                                         i64Constant(kSwizzle128B)),
                   cast<MemRefType>(flat.getType()).getElementTypeBitWidth() /
                       8};
  };
  Decoded a = decode(aFlat, aDescriptor), w = decode(wFlat, wDescriptor);
  // Row `row`, column `k` of a K-major matrix. Without swizzling: core
  // matrix (row / 8, k / 8), its row row % 8, element k % 8. With 128-byte
  // swizzling: 8 rows a stride apart, each row's 128 bytes after the
  // last's, from the start, and then bits 4-6 of the address (its 16-byte
  // piece in the row) XORed with bits 7-9 (its row in the pattern).
  auto element = [&](const Decoded &m, Value row, Value k) -> Value {
    auto times = [&](Value x, Value y) -> Value {
      return arith::MulIOp::create(b, loc, x, y);
    };
    auto sum = [&](Value first, ArrayRef<Value> terms) {
      for (Value term : terms)
        first = arith::AddIOp::create(b, loc, first, term);
      return first;
    };
    Value side = index(kCoreSide);
    Value rowGroup = times(arith::DivUIOp::create(b, loc, row, side), m.stride);
    Value inGroup = arith::RemUIOp::create(b, loc, row, side);
    Value plain =
        sum(m.start, {rowGroup,
                      times(arith::DivUIOp::create(b, loc, k, side), m.leading),
                      times(inGroup, index(kCoreRowBytes)),
                      times(arith::RemUIOp::create(b, loc, k, side),
                            index(m.elementBytes))});
    Value linear =
        sum(m.start, {rowGroup, times(inGroup, index(kSwizzleRowBytes)),
                      times(k, index(m.elementBytes))});
    Value patternRow = arith::RemUIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, linear, index(kSwizzleRowBytes)),
        side);
    Value swizzledBytes = arith::XOrIOp::create(
        b, loc, linear, times(patternRow, index(kCoreRowBytes)));
    Value bytes =
        arith::SelectOp::create(b, loc, m.swizzled, swizzledBytes, plain);
    Value at = arith::DivUIOp::create(b, loc, bytes, index(m.elementBytes));
    Value value = memref::LoadOp::create(b, loc, m.flat, ValueRange{at});
    return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  };
  OpBuilder::InsertionGuard guard(b);
  auto lanes =
      scf::ForOp::create(b, loc, index(0), index(kNVIDIAWarpSize), index(1));
  b.setInsertionPoint(lanes.getBody()->getTerminator());
  Value lane = lanes.getInductionVar();
  Value g = arith::DivUIOp::create(b, loc, lane, index(4));
  Value t = arith::MulIOp::create(
      b, loc, arith::RemUIOp::create(b, loc, lane, index(4)), index(2));
  Value warpRow = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, warp, index(kMmaRows)), g);
  auto tiles =
      scf::ForOp::create(b, loc, index(0), index(columnTiles), index(1));
  b.setInsertionPoint(tiles.getBody()->getTerminator());
  Value j = tiles.getInductionVar();
  Value tile = arith::AddIOp::create(b, loc, j, index(firstTile));
  Value firstColumn = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, j, index(kMmaCols)), t);
  for (int64_t e = 0; e < 4; ++e) {
    Value row = arith::AddIOp::create(b, loc, warpRow, index(e < 2 ? 0 : 8));
    Value column = arith::AddIOp::create(b, loc, firstColumn, index(e % 2));
    SmallVector<Value, 3> at = {lane, tile, index(e)};
    Value initial = memref::LoadOp::create(b, loc, accBuffer, at);
    auto ks = scf::ForOp::create(b, loc, index(0), index(kWarpgroupDepth),
                                 index(1), ValueRange{initial});
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(ks.getBody());
      Value k = ks.getInductionVar();
      Value product = arith::MulFOp::create(b, loc, element(a, row, k),
                                            element(w, column, k));
      scf::YieldOp::create(b, loc,
                           ValueRange{arith::AddFOp::create(
                               b, loc, ks.getRegionIterArg(0), product)});
    }
    memref::StoreOp::create(b, loc, ks.getResult(0), accBuffer, at);
  }
}
