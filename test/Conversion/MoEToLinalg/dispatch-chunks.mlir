// RUN: moe-opt %s --convert-moe-to-linalg="dispatch-chunk-tokens=4" --canonicalize --cse --split-input-file | FileCheck %s
// RUN: not moe-opt %s --convert-moe-to-linalg="dispatch-chunk-tokens=-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: dispatch-chunk-tokens must be at least 0, got -1

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
