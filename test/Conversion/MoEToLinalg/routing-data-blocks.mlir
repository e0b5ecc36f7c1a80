// RUN: moe-opt %s --convert-moe-to-linalg="dispatch-chunk-tokens=4 permute-row-block=32 combine-token-block=16 block-column-chunks=8" --canonicalize --cse --split-input-file | FileCheck %s
// RUN: not moe-opt %s --convert-moe-to-linalg="dispatch-chunk-tokens=-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: dispatch-chunk-tokens must be at least 0, got -1

// (Each option's pipeline form is tested with moe-compile, in
// test/Integration/CPU/routing-data-blocks.test, against the CPU form.)

// With dispatch-chunk-tokens, the counting sort runs over (expert, chunk of
// 4 tokens): a forall counts each chunk's assignments to each expert in a
// register, a forall over experts scans the counts over the chunks (each
// chunk's first row in its expert's segment, and the expert's total), the
// serial prefix sum over the 8 experts applies the capacity, and a forall
// over (expert, chunk) writes each chunk's rows of a segment: the slice
// from the segment's start plus the chunk's start, no longer than the
// capacity leaves, in token order.

// CHECK-LABEL: func @dispatch
// CHECK-SAME:    %[[IDX:[a-z0-9]+]]: tensor<?x2xi32>, %[[W:[a-z0-9]+]]: tensor<?x2xf32>, %[[C:[a-z0-9]+]]: tensor<8xi32>, %[[O:[a-z0-9]+]]: tensor<9xi32>, %[[T:[a-z0-9]+]]: tensor<?xi32>, %[[RW:[a-z0-9]+]]: tensor<?xf32>
// CHECK-DAG:   %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK:       %[[TOKENS:.*]] = tensor.dim %[[IDX]]
// CHECK:       %[[CHUNKS:.*]] = arith.ceildivui %[[TOKENS]], %[[C4]] : index
// CHECK:       %[[COUNTS:.*]] = scf.forall (%[[E:.*]], %[[CH:.*]]) in (8, %[[CHUNKS]]) shared_outs(%[[GRID:.*]] = %{{.*}}) -> (tensor<8x?xi32>)
// CHECK:         %[[FIRST:.*]] = arith.muli %[[CH]], %[[C4]]
// CHECK:         %[[END:.*]] = arith.addi %[[FIRST]], %[[C4]]
// CHECK:         %[[LAST:.*]] = arith.minui %[[END]], %[[TOKENS]]
// CHECK:         %[[EXPERT:.*]] = arith.index_cast %[[E]] : index to i32
// CHECK:         %[[N:.*]] = scf.for %{{.*}} = %[[FIRST]] to %[[LAST]] {{.*}} -> (i32)
// CHECK:           scf.for
// CHECK:             %[[I:.*]] = tensor.extract %[[IDX]]
// CHECK:             arith.cmpi eq, %[[I]], %[[EXPERT]] : i32
// CHECK:         %[[SLOT:.*]] = tensor.extract_slice %[[GRID]][%[[E]], %[[CH]]] [1, 1] [1, 1]
// CHECK:         %[[ONE:.*]] = tensor.insert %[[N]] into %[[SLOT]]
// CHECK:         tensor.parallel_insert_slice %[[ONE]] into %[[GRID]][%[[E]], %[[CH]]] [1, 1] [1, 1]
// CHECK:       %[[SCAN:.*]]:2 = scf.forall (%[[E2:.*]]) in (8) shared_outs(%[[STARTS:.*]] = %{{.*}}, %[[TOTALS:.*]] = %[[C]])
// CHECK:         %[[ROW:.*]] = tensor.extract_slice %[[COUNTS]][%[[E2]], 0] [1, %[[CHUNKS]]] [1, 1] : tensor<8x?xi32> to tensor<?xi32>
// CHECK:         %[[PARTIAL:.*]]:2 = scf.for %[[K:.*]] = %{{.*}} to %[[CHUNKS]] {{.*}} iter_args(%[[SUM:.*]] = %[[ZERO]], %{{.*}} = %{{.*}})
// CHECK:           %[[COUNT:.*]] = tensor.extract %[[ROW]][%[[K]]]
// CHECK:           tensor.insert %[[SUM]]
// CHECK:           arith.addi %[[SUM]], %[[COUNT]] : i32
// CHECK:         tensor.insert %[[PARTIAL]]#0
// CHECK:         tensor.parallel_insert_slice %[[PARTIAL]]#1 into %[[STARTS]][%[[E2]], 0] [1, %[[CHUNKS]]] [1, 1]
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %[[TOTALS]][%[[E2]]] [1] [1]
// CHECK:       %[[CAP:.*]] = arith.fptosi
// CHECK:       %[[PREFIX:.*]]:3 = scf.for {{.*}} iter_args(%{{.*}} = %[[O]], %{{.*}} = %[[SCAN]]#1, %{{.*}} = %[[ZERO]])
// CHECK:         arith.minsi %{{.*}}, %[[CAP]] : i32
// CHECK:       %[[OFFSETS:.*]] = tensor.insert %[[PREFIX]]#2 into %[[PREFIX]]#0
// CHECK:       %[[PLACED:.*]]:2 = scf.forall (%[[E3:.*]], %[[CH3:.*]]) in (8, %[[CHUNKS]]) shared_outs(%[[IDS:.*]] = %[[T]], %[[RWS:.*]] = %[[RW]])
// CHECK:         %[[START:.*]] = tensor.extract %[[SCAN]]#0[%[[E3]], %[[CH3]]]
// CHECK:         %[[HERE:.*]] = tensor.extract %[[COUNTS]][%[[E3]], %[[CH3]]]
// CHECK:         %[[ROOM:.*]] = arith.subi %[[CAP]], %[[START]] : i32
// CHECK:         %[[FITS:.*]] = arith.minsi %[[HERE]], %[[ROOM]] : i32
// CHECK:         %[[KEPT:.*]] = arith.maxsi %[[FITS]], %[[ZERO]] : i32
// CHECK:         %[[FROM:.*]] = arith.minsi %[[START]], %[[CAP]] : i32
// CHECK:         %[[SEGMENT:.*]] = tensor.extract %[[OFFSETS]][%[[E3]]]
// CHECK:         %[[ROW0:.*]] = arith.addi %[[SEGMENT]], %[[FROM]] : i32
// CHECK:         %[[ROW0I:.*]] = arith.index_cast %[[ROW0]] : i32 to index
// CHECK:         %[[KEPTI:.*]] = arith.index_cast %[[KEPT]] : i32 to index
// CHECK:         %[[IDSLICE:.*]] = tensor.extract_slice %[[IDS]][%[[ROW0I]]] [%[[KEPTI]]] [1]
// CHECK:         %[[WSLICE:.*]] = tensor.extract_slice %[[RWS]][%[[ROW0I]]] [%[[KEPTI]]] [1]
// CHECK:         %[[ROWS:.*]]:3 = scf.for
// CHECK:           scf.for
// CHECK:             %[[MATCH:.*]] = arith.cmpi eq
// CHECK:             %[[ROOMY:.*]] = arith.cmpi slt, %{{.*}}, %[[KEPT]] : i32
// CHECK:             %[[WRITE:.*]] = arith.andi %[[MATCH]], %[[ROOMY]] : i1
// CHECK:             scf.if %[[WRITE]]
// CHECK:               tensor.extract %[[W]]
// CHECK:         tensor.parallel_insert_slice %[[ROWS]]#1 into %[[IDS]][%[[ROW0I]]] [%[[KEPTI]]] [1]
// CHECK:         tensor.parallel_insert_slice %[[ROWS]]#2 into %[[RWS]][%[[ROW0I]]] [%[[KEPTI]]] [1]
// CHECK:       return %[[PREFIX]]#1, %[[OFFSETS]], %[[PLACED]]#0, %[[PLACED]]#1
func.func @dispatch(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                    %c: tensor<8xi32>, %o: tensor<9xi32>, %t: tensor<?xi32>,
                    %rw: tensor<?xf32>)
    -> (tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
           {capacity_factor = 1.25 : f64}
  return %0#0, %0#1, %0#2, %0#3 : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>
}

// -----

// Without a capacity every chunk's rows are kept: the slice starts at the
// chunk's start and is as long as its count. Aligned segments get their
// padding rows after the placement, as in the serial form.

// CHECK-LABEL: func @dispatch_aligned
// CHECK-DAG:   %[[MINUS1:.*]] = arith.constant -1 : i32
// CHECK:       %[[COUNTS:.*]] = scf.forall
// CHECK:       %[[SCAN:.*]]:2 = scf.forall
// CHECK:       %[[PREFIX:.*]]:3 = scf.for
// CHECK:         arith.ceildivui
// CHECK:       %[[OFFSETS:.*]] = tensor.insert %[[PREFIX]]#2 into %[[PREFIX]]#0
// CHECK:       %[[PLACED:.*]]:2 = scf.forall (%[[E:.*]], %[[CH:.*]]) in
// CHECK-NOT:     arith.minsi
// CHECK:         %[[START:.*]] = tensor.extract %[[SCAN]]#0[%[[E]], %[[CH]]]
// CHECK:         %[[HERE:.*]] = tensor.extract %[[COUNTS]][%[[E]], %[[CH]]]
// CHECK:         %[[SEGMENT:.*]] = tensor.extract %[[OFFSETS]][%[[E]]]
// CHECK:         %[[ROW0:.*]] = arith.addi %[[SEGMENT]], %[[START]] : i32
// CHECK:         %[[ROW0I:.*]] = arith.index_cast %[[ROW0]]
// CHECK:         %[[KEPTI:.*]] = arith.index_cast %[[HERE]]
// CHECK:         tensor.extract_slice %{{.*}}[%[[ROW0I]]] [%[[KEPTI]]] [1]
// CHECK:       %[[PAD:.*]]:2 = scf.for %{{.*}} iter_args(%{{.*}} = %[[PLACED]]#0, %{{.*}} = %[[PLACED]]#1)
// CHECK:           tensor.insert %[[MINUS1]]
// CHECK:       return %[[PREFIX]]#1, %[[OFFSETS]], %[[PAD]]#0, %[[PAD]]#1
func.func @dispatch_aligned(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                            %c: tensor<8xi32>, %o: tensor<9xi32>, %t: tensor<?xi32>,
                            %rw: tensor<?xf32>)
    -> (tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
           {segment_alignment = 8 : i64}
  return %0#0, %0#1, %0#2, %0#3 : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>
}

// -----

// permute-row-block: a forall over blocks of 32 of the rows there can be
// (the init's), each block copying its rows below the used count, which it
// reads itself; its 64 columns split into 8 interleaved chunks of 8 (chunk
// c has columns c, c + 8, ...: consecutive GPU threads, consecutive
// columns), each row of a chunk moved as one vector.

// CHECK-LABEL: func @permute
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-DAG:   %[[C32:.*]] = arith.constant 32 : index
// CHECK:       %[[ROWS:.*]] = tensor.dim %[[INIT]]
// CHECK:       %[[BLOCKS:.*]] = arith.ceildivui %[[ROWS]], %[[C32]]
// CHECK:       scf.forall (%[[B:.*]]) in (%[[BLOCKS]]) shared_outs(%[[OUT:.*]] = %[[INIT]])
// CHECK:         %[[FIRST:.*]] = arith.muli %[[B]], %[[C32]]
// CHECK:         %[[USED_I32:.*]] = tensor.extract %[[OFF]][%{{.*}}]
// CHECK:         %[[USED:.*]] = arith.index_cast %[[USED_I32]]
// CHECK:         %[[LEFT:.*]] = arith.subi %[[USED]], %[[FIRST]]
// CHECK:         %[[AT_MOST:.*]] = arith.minsi %[[LEFT]], %[[C32]]
// CHECK:         %[[COUNT:.*]] = arith.maxsi %[[AT_MOST]], %{{.*}}
// CHECK:         %[[BLOCK:.*]] = tensor.extract_slice %[[OUT]][%[[FIRST]], 0] [%[[COUNT]], 64]
// CHECK:         scf.forall (%[[C:.*]]) in (8) shared_outs(%[[CHUNKS:.*]] = %[[BLOCK]])
// CHECK:           %[[CHUNK:.*]] = tensor.extract_slice %[[CHUNKS]][0, %[[C]]] [%{{.*}}, 8] [1, 8]
// CHECK:           scf.for %[[I:.*]] = %{{.*}} to %[[COUNT]] {{.*}} iter_args(%[[ACC:.*]] = %[[CHUNK]])
// CHECK:             %[[R:.*]] = arith.addi %[[FIRST]], %[[I]]
// CHECK:             tensor.extract %[[TOK]][%[[R]]]
// CHECK:             %[[ROW:.*]] = tensor.extract_slice %[[X]][%{{.*}}, %[[C]]] [1, 8] [1, 8]
// CHECK:             %[[V:.*]] = vector.transfer_read %[[ROW]]{{.*}} : tensor<8xf32>, vector<8xf32>
// CHECK:             vector.transfer_write %[[V]], %[[ACC]][%[[I]], %{{.*}}]
// CHECK:           tensor.parallel_insert_slice %{{.*}} into %[[CHUNKS]][0, %[[C]]] [%{{.*}}, 8] [1, 8]
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %[[OUT]][%[[FIRST]], 0] [%[[COUNT]], 64]
func.func @permute(%x: tensor<?x64xf32>, %t: tensor<?xi32>, %o: tensor<9xi32>,
                   %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// -----

// A rounding permute (moe-gpu-narrow-activations'): each row's vector is
// rounded to bf16 between its read and its write.
// CHECK-LABEL: func @permute_rounding
// CHECK:             %[[V:.*]] = vector.transfer_read %{{.*}} : tensor<8xf32>, vector<8xf32>
// CHECK:             %[[R:.*]] = arith.truncf %[[V]] : vector<8xf32> to vector<8xbf16>
// CHECK:             vector.transfer_write %[[R]], %{{.*}} : vector<8xbf16>, tensor<?x8xbf16>
func.func @permute_rounding(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                            %o: tensor<9xi32>, %init: tensor<?x64xbf16>)
    -> tensor<?x64xbf16> {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xbf16>)
  return %0 : tensor<?x64xbf16>
}

// -----

// combine-token-block: a forall over blocks of 16 tokens; each column chunk
// of a block walks the 8 experts in order, finds the block's rows of the
// expert's segment by two binary searches over the token ids (unsigned
// compares, so padding rows' -1 sorts last), and adds those rows in row
// order to their tokens' rows of the block, a chunk's row as one vector
// (interleaved chunks, as permute's).

// CHECK-LABEL: func @combine
// CHECK-SAME:    %[[Y:[a-z0-9]+]]: tensor<?x64xf32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>, %[[RW:[a-z0-9]+]]: tensor<?xf32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK-DAG:   %[[C16:.*]] = arith.constant 16 : index
// CHECK:       %[[T:.*]] = tensor.dim %[[INIT]]
// CHECK:       %[[BLOCKS:.*]] = arith.ceildivui %[[T]], %[[C16]]
// CHECK:       scf.forall (%[[B:.*]]) in (%[[BLOCKS]]) shared_outs(%[[OUT:.*]] = %[[INIT]])
// CHECK:         %[[FIRST:.*]] = arith.muli %[[B]], %[[C16]]
// CHECK:         %[[BLOCK:.*]] = tensor.extract_slice %[[OUT]][%[[FIRST]], 0]
// CHECK:         %[[FIRST_I32:.*]] = arith.index_cast %[[FIRST]] : index to i32
// CHECK:         %[[END:.*]] = arith.addi %[[FIRST]], %{{.*}}
// CHECK:         %[[END_I32:.*]] = arith.index_cast %[[END]] : index to i32
// CHECK:         scf.forall (%{{.*}}) in (8) shared_outs(%{{.*}} = %[[BLOCK]])
// CHECK:           scf.for %[[E:.*]] = %{{.*}} to %c8
// CHECK:             %[[START:.*]] = tensor.extract %[[OFF]][%[[E]]]
// CHECK:             %[[LO:.*]]:2 = scf.while
// CHECK:               %[[ID:.*]] = tensor.extract %[[TOK]]
// CHECK:               arith.cmpi ult, %[[ID]], %[[FIRST_I32]] : i32
// CHECK:             %[[HI:.*]]:2 = scf.while (%{{.*}} = %[[LO]]#0
// CHECK:               %[[ID2:.*]] = tensor.extract %[[TOK]]
// CHECK:               arith.cmpi ult, %[[ID2]], %[[END_I32]] : i32
// CHECK:             scf.for %[[R:.*]] = %[[LO]]#0 to %[[HI]]#0
// CHECK:               %[[TID:.*]] = tensor.extract %[[TOK]][%[[R]]]
// CHECK:               %[[TOKEN:.*]] = arith.index_cast %[[TID]]
// CHECK:               %[[ROW:.*]] = arith.subi %[[TOKEN]], %[[FIRST]]
// CHECK:               %[[WEIGHT:.*]] = tensor.extract %[[RW]][%[[R]]]
// CHECK:               %[[SRC:.*]] = tensor.extract_slice %[[Y]][%[[R]], %{{.*}}] [1, 8] [1, 8]
// CHECK:               %[[X:.*]] = vector.transfer_read %[[SRC]]
// CHECK:               %[[WEIGHTS:.*]] = vector.broadcast %[[WEIGHT]] : f32 to vector<8xf32>
// CHECK:               %[[SCALED:.*]] = arith.mulf %[[WEIGHTS]], %[[X]] : vector<8xf32>
// CHECK:               %[[CUR:.*]] = vector.transfer_read
// CHECK:               %[[SUM:.*]] = arith.addf %[[CUR]], %[[SCALED]] : vector<8xf32>
// CHECK:               vector.transfer_write %[[SUM]], %{{.*}}[%[[ROW]], %{{.*}}]
// CHECK:         tensor.parallel_insert_slice %{{.*}} into %[[OUT]][%[[FIRST]], 0]
func.func @combine(%y: tensor<?x64xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                   %o: tensor<9xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.combine ins(%y, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}
