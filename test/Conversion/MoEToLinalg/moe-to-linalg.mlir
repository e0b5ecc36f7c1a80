// RUN: moe-opt %s --convert-moe-to-linalg --canonicalize --cse --split-input-file | FileCheck %s

// The router: a contraction over D into [T, E], then max-subtracted softmax.

// CHECK-DAG:   #[[$TD:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[$ED:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG:   #[[$TE:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @router_softmax
// CHECK-NOT:   moe.router
// CHECK:       %[[LOGITS:.*]] = linalg.generic {indexing_maps = [#[[$TD]], #[[$ED]], #[[$TE]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK:         arith.extf %{{.*}} : bf16 to f32
// CHECK:       %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[LOGITS]]
// CHECK:         arith.maximumf
// CHECK:       %[[EXP:.*]] = linalg.generic {{.*}} ins(%[[LOGITS]], %[[MAX]]
// CHECK:         arith.subf
// CHECK:         math.exp
// CHECK:       %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[EXP]]
// CHECK:       %[[SCORES:.*]] = linalg.generic {{.*}} ins(%[[EXP]], %[[SUM]]
// CHECK:         arith.divf
// CHECK:       return %[[SCORES]]
func.func @router_softmax(%x: tensor<?x64xf32>, %w: tensor<8x64xbf16>,
                          %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xbf16>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return %0 : tensor<?x8xf32>
}

// -----

// In the kn layout the weight is [D, E] and the logits accumulate with the
// experts innermost: iteration (t, d, e), the reduction in the middle.

// CHECK-DAG:   #[[$TDK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG:   #[[$DEK:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG:   #[[$TEK:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @router_weight_kn
// CHECK:       linalg.generic {indexing_maps = [#[[$TDK]], #[[$DEK]], #[[$TEK]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<64x8xf32>)
func.func @router_weight_kn(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>,
                            %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>)
         outs(%init : tensor<?x8xf32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>}
  return %0 : tensor<?x8xf32>
}

// -----

// Sigmoid scoring with a logit bias: no row reduction.

// CHECK-LABEL: func @router_sigmoid_bias
// CHECK:       linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK:       linalg.generic {{.*}} ins(%{{.*}} : tensor<8xf32>)
// CHECK:         arith.addf
// CHECK-NOT:   iterator_types = ["parallel", "reduction"]
// CHECK:       linalg.generic
// CHECK:         arith.negf
// CHECK:         math.exp
func.func @router_sigmoid_bias(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                               %b: tensor<8xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         bias(%b : tensor<8xf32>) outs(%init : tensor<?x8xf32>) scoring<sigmoid>
  return %0 : tensor<?x8xf32>
}

// -----

// Noisy gating: a second contraction with the noise weight, then one
// elementwise generic that draws eps for position t * E + e (splitmix64 of
// seed + (i + 1) * 0x9E3779B97F4A7C15, Box-Muller in f64) and adds
// eps * softplus(noise logit) to the logits, before the softmax.

// CHECK-LABEL: func @router_noise
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[W:[a-z0-9]+]]: tensor<8x64xf32>, %[[WN:[a-z0-9]+]]: tensor<8x64xf32>
// CHECK-DAG:   %[[SEED:.*]] = arith.constant 3 : i64
// CHECK-DAG:   %[[GOLDEN:.*]] = arith.constant -7046029254386353131 : i64
// CHECK-DAG:   %[[E:.*]] = arith.constant 8 : index
// CHECK-DAG:   %[[MINUS2:.*]] = arith.constant -2 : i64
// CHECK-DAG:   %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG:   %[[TWO:.*]] = arith.constant 2 : i64
// CHECK:       %[[LOGITS:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[W]] :
// CHECK:       %[[NOISE:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[WN]] :
// CHECK:       %[[NOISY:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[NOISE]] : tensor<?x8xf32>) outs(%[[LOGITS]] : tensor<?x8xf32>)
// CHECK:         %[[T:.*]] = linalg.index 0
// CHECK:         %[[EXPERT:.*]] = linalg.index 1
// CHECK:         %[[ROW:.*]] = arith.muli %[[T]], %[[E]]
// CHECK:         %[[POS:.*]] = arith.addi %[[ROW]], %[[EXPERT]]
// CHECK:         %[[POS64:.*]] = arith.index_castui %[[POS]] : index to i64
// CHECK:         %[[PAIR:.*]] = arith.andi %[[POS64]], %[[MINUS2]] : i64
// CHECK:         %[[STEPS1:.*]] = arith.addi %[[PAIR]], %[[ONE]] : i64
// CHECK:         arith.muli %[[STEPS1]], %[[GOLDEN]] : i64
// CHECK:         arith.addi %{{.*}}, %[[SEED]] : i64
// CHECK:         %[[STEPS2:.*]] = arith.addi %[[PAIR]], %[[TWO]] : i64
// CHECK:         arith.muli %[[STEPS2]], %[[GOLDEN]] : i64
// CHECK:         math.log %{{.*}} : f64
// CHECK:         math.sqrt %{{.*}} : f64
// CHECK:         %[[PARITY:.*]] = arith.andi %[[POS64]], %{{.*}} : i64
// CHECK:         %[[EVEN:.*]] = arith.cmpi eq, %[[PARITY]], %{{.*}} : i64
// CHECK:         %[[COS:.*]] = math.cos %[[ANGLE:.*]] : f64
// CHECK:         %[[RCOS:.*]] = arith.mulf %{{.*}}, %[[COS]] : f64
// CHECK:         %[[SIN:.*]] = math.sin %[[ANGLE]] : f64
// CHECK:         %[[RSIN:.*]] = arith.mulf %{{.*}}, %[[SIN]] : f64
// CHECK:         %[[DRAW:.*]] = arith.select %[[EVEN]], %[[RCOS]], %[[RSIN]] : f64
// CHECK:         %[[EPS:.*]] = arith.truncf %[[DRAW]] : f64 to f32
// CHECK:         math.log1p
// CHECK:         %[[SCALED:.*]] = arith.mulf %[[EPS]], %{{.*}} : f32
// CHECK:         arith.addf %{{.*}}, %[[SCALED]] : f32
// CHECK:       linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[NOISY]]
func.func @router_noise(%x: tensor<?x64xf32>, %w: tensor<8x64xf32>,
                        %wn: tensor<8x64xf32>, %init: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xf32>)
         noise(%wn : tensor<8x64xf32>) seed(3)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  return %0 : tensor<?x8xf32>
}

// -----

// Top-k: per token, k passes over the E scores, each taking the best expert
// not taken yet (ties to the lower index); no sort.

// CHECK-LABEL: func @top_k
// CHECK-SAME:    %[[S:[a-z0-9]+]]: tensor<?x8xf32>, %[[BIAS:[a-z0-9]+]]: tensor<8xf32>
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:   %[[SCALE:.*]] = arith.constant 2.500000e+00 : f32
// CHECK-DAG:   %[[TRUE:.*]] = arith.constant true
// CHECK:       %[[TAKEN0:.*]] = bufferization.alloc_tensor() : tensor<8xi1>
// CHECK:       scf.for %[[T:[a-z0-9]+]] = {{.*}} iter_args({{.*}}, %[[TAKEN:.*]] = %[[TAKEN0]])
// CHECK:         %[[CLEARED:.*]] = linalg.fill ins(%{{.*}} : i1) outs(%[[TAKEN]] : tensor<8xi1>)
// CHECK:         %[[PICKS:.*]]:4 = scf.for %{{.*}} = %{{.*}} to %[[C2]] step %{{.*}} iter_args(%[[FLAGS:.*]] = %[[CLEARED]],
// CHECK:           scf.for %[[E:[a-z0-9]+]] = %{{.*}} to %[[C8]]
// CHECK:             %[[SCORE:.*]] = tensor.extract %[[S]][%[[T]], %[[E]]]
// CHECK:             %[[B:.*]] = tensor.extract %[[BIAS]][%[[E]]]
// CHECK:             %[[Q:.*]] = arith.addf %[[SCORE]], %[[B]]
// CHECK:             %[[WAS:.*]] = tensor.extract %[[FLAGS]][%[[E]]]
// CHECK:             arith.xori %[[WAS]], %[[TRUE]]
// CHECK:             arith.cmpf ogt, %[[Q]]
// CHECK:           tensor.insert %[[TRUE]] into %[[FLAGS]]
// The weight is the unbiased score of the pick.
// CHECK:           tensor.extract %[[S]][%[[T]], %{{.*}}]
// CHECK:         %[[FACTOR:.*]] = arith.divf %[[SCALE]], %[[PICKS]]#3
// CHECK:         scf.for
// CHECK:           arith.mulf %{{.*}}, %[[FACTOR]]
func.func @top_k(%s: tensor<?x8xf32>, %bias: tensor<8xf32>,
                 %w: tensor<?x2xf32>, %i: tensor<?x2xi32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w0, %i0 = moe.top_k ins(%s : tensor<?x8xf32>) bias(%bias : tensor<8xf32>)
               outs(%w, %i : tensor<?x2xf32>, tensor<?x2xi32>)
               {normalize, scaling_factor = 2.5 : f32}
  return %w0, %i0 : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Dispatch: histogram, capacity, prefix sum, then placement in token order.

// CHECK-LABEL: func @dispatch
// CHECK-SAME:    %[[IDX:[a-z0-9]+]]: tensor<?x2xi32>, %[[W:[a-z0-9]+]]: tensor<?x2xf32>
// CHECK:       %[[ZEROED:.*]] = linalg.fill
// CHECK:       %[[HIST:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[ZEROED]])
// CHECK:         scf.for
// CHECK:           tensor.extract %[[IDX]]
// CHECK:           arith.addi
// CHECK:           tensor.insert
// CHECK:       %[[ASSIGNMENTS:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK:       arith.mulf
// CHECK:       arith.divf
// CHECK:       %[[CEIL:.*]] = math.ceil
// CHECK:       %[[BOUNDED:.*]] = arith.minimumf %[[CEIL]], %{{.*}} : f64
// CHECK:       %[[CAP:.*]] = arith.fptosi %[[BOUNDED]] : f64 to i32
// CHECK:       %[[PREFIX:.*]]:3 = scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[HIST]], %{{.*}} = %{{.*}})
// CHECK:         arith.minsi %{{.*}}, %[[CAP]]
// CHECK:       %[[OFFSETS:.*]] = tensor.insert %[[PREFIX]]#2 into %[[PREFIX]]#0
// CHECK:       scf.for
// CHECK:         scf.for
// CHECK:           %[[BELOW:.*]] = arith.cmpi slt, %{{.*}}, %[[CAP]] : i32
// CHECK:           %[[KEEP:.*]] = arith.andi %{{.*}}, %[[BELOW]]
// CHECK:           scf.if %[[KEEP]]
// CHECK:             tensor.extract %[[OFFSETS]]
// CHECK:             tensor.extract %[[W]]
// CHECK:       return %[[PREFIX]]#1, %[[OFFSETS]]
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

// Aligned segments: each expert's row count is rounded up to a multiple of
// 8 in the prefix sum, and the padding rows after its assignments get token
// id -1 and weight 0.

// CHECK-LABEL: func @dispatch_aligned
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : i32
// CHECK-DAG:   %[[MINUS1:.*]] = arith.constant -1 : i32
// CHECK-DAG:   %[[FZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[PREFIX:.*]]:3 = scf.for
// CHECK:         %[[N:.*]] = arith.ceildivui %{{.*}}, %[[C8]] : i32
// CHECK:         %[[SEG:.*]] = arith.muli %[[N]], %[[C8]] : i32
// CHECK:         arith.addi %{{.*}}, %[[SEG]] : i32
// CHECK:       %[[OFFSETS:.*]] = tensor.insert %[[PREFIX]]#2 into %[[PREFIX]]#0
// CHECK:       %[[PLACED:.*]]:3 = scf.for
// CHECK:       %[[PAD:.*]]:2 = scf.for %[[E:.*]] = {{.*}} iter_args(%{{.*}} = %[[PLACED]]#0, %{{.*}} = %[[PLACED]]#1)
// CHECK:         %[[START:.*]] = tensor.extract %[[OFFSETS]][%[[E]]]
// CHECK:         %[[COUNT:.*]] = tensor.extract %[[PREFIX]]#1[%[[E]]]
// CHECK:         arith.addi %[[START]], %[[COUNT]] : i32
// CHECK:         scf.for
// CHECK:           tensor.insert %[[MINUS1]]
// CHECK:           tensor.insert %[[FZERO]]
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

// Permute copies only the used rows [0, offsets[E]), each whole from its
// token's row (the token id read once a row); a padding row (token id -1)
// reads row 0.

// CHECK-LABEL: func @permute
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:       %[[USED_I32:.*]] = tensor.extract %[[OFF]][%{{.*}}]
// CHECK:       %[[USED:.*]] = arith.index_cast %[[USED_I32]]
// CHECK:       %[[ROWS:.*]] = tensor.extract_slice %[[INIT]][0, 0] [%[[USED]], 64] [1, 1]
// CHECK:       %[[G:.*]] = scf.for %[[R:.*]] = %c0 to %[[USED]] step %c1 iter_args(%[[ACC:.*]] = %[[ROWS]])
// CHECK:         %[[TID:.*]] = tensor.extract %[[TOK]][%[[R]]]
// CHECK:         %[[CLAMPED:.*]] = arith.maxsi %[[TID]], %{{.*}} : i32
// CHECK:         %[[ROW:.*]] = arith.index_cast %[[CLAMPED]]
// CHECK:         %[[SRC:.*]] = tensor.extract_slice %[[X]][%[[ROW]], 0] [1, 64] [1, 1]
// CHECK:         tensor.insert_slice %[[SRC]] into %[[ACC]][%[[R]], 0] [1, 64] [1, 1]
// CHECK:       tensor.insert_slice %[[G]] into %[[INIT]][0, 0] [%[[USED]], 64] [1, 1]
func.func @permute(%x: tensor<?x64xf32>, %t: tensor<?xi32>, %o: tensor<9xi32>,
                   %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// -----

// A rounding permute: each row rounded (an elementwise truncf) before its
// insert.
// CHECK-LABEL: func @permute_rounding
// CHECK:         %[[SRC:.*]] = tensor.extract_slice %{{.*}} [1, 64] [1, 1] : tensor<?x64xf32> to tensor<64xf32>
// CHECK:         %[[ROUNDED:.*]] = linalg.generic {{.*}} ins(%[[SRC]] : tensor<64xf32>) outs(%{{.*}} : tensor<64xbf16>)
// CHECK:           arith.truncf %{{.*}} : f32 to bf16
// CHECK:         tensor.insert_slice %[[ROUNDED]] into %{{.*}} [1, 64] [1, 1] : tensor<64xbf16> into tensor<?x64xbf16>
func.func @permute_rounding(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                            %o: tensor<9xi32>, %init: tensor<?x64xbf16>)
    -> tensor<?x64xbf16> {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xbf16>)
  return %0 : tensor<?x64xbf16>
}

// -----

// The grouped matmul loops over the E experts and contracts each expert's
// own rows [offsets[e], offsets[e+1]) with its weight slice; an expert with
// no rows is skipped.

// CHECK-LABEL: func @grouped_matmul
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[W:[a-z0-9]+]]: tensor<4x128x64xf16>, %[[OFF:[a-z0-9]+]]: tensor<5xi32>, %[[B:[a-z0-9]+]]: tensor<4x128xf32>, %[[INIT:[a-z0-9]+]]: tensor<?x128xf32>
// CHECK-DAG:   %[[C4:.*]] = arith.constant 4 : index
// CHECK:       scf.for %[[E:.*]] = %{{.*}} to %[[C4]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]])
// CHECK:         %[[START:.*]] = arith.index_cast
// CHECK:         %[[END:.*]] = arith.index_cast
// CHECK:         %[[ROWS:.*]] = arith.subi %[[END]], %[[START]]
// CHECK:         %[[HAS_ROWS:.*]] = arith.cmpi sgt, %[[ROWS]], %{{.*}}
// CHECK:         scf.if %[[HAS_ROWS]]
// CHECK:         %[[A:.*]] = tensor.extract_slice %[[X]][%[[START]], 0] [%[[ROWS]], 64] [1, 1]
// CHECK:         %[[WE:.*]] = tensor.extract_slice %[[W]][%[[E]], 0, 0] [1, 128, 64] [1, 1, 1] : tensor<4x128x64xf16> to tensor<128x64xf16>
// CHECK:         %[[C:.*]] = tensor.extract_slice %[[ACC]][%[[START]], 0] [%[[ROWS]], 128] [1, 1]
// CHECK:         %[[MM:.*]] = linalg.generic {{.*}} ins(%[[A]], %[[WE]] : tensor<?x64xf32>, tensor<128x64xf16>) outs(%[[C]] : tensor<?x128xf32>)
// CHECK:           arith.extf %{{.*}} : f16 to f32
// CHECK:         %[[BE:.*]] = tensor.extract_slice %[[B]][%[[E]], 0] [1, 128] [1, 1]
// CHECK:         %[[BIASED:.*]] = linalg.generic {{.*}} ins(%[[BE]] : tensor<128xf32>) outs(%[[MM]] : tensor<?x128xf32>)
// CHECK:         tensor.insert_slice %[[BIASED]] into %[[ACC]][%[[START]], 0] [%[[ROWS]], 128] [1, 1]
func.func @grouped_matmul(%x: tensor<?x64xf32>, %w: tensor<4x128x64xf16>,
                          %o: tensor<5xi32>, %b: tensor<4x128xf32>,
                          %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<4x128x64xf16>, tensor<5xi32>)
         bias(%b : tensor<4x128xf32>) outs(%init : tensor<?x128xf32>)
  return %0 : tensor<?x128xf32>
}

// -----

// With a weight in panels [E, N/P, K, P], an expert's output
// [R, N] becomes [R, N/P, P] and the contraction reads the weight panel by
// panel.

// CHECK-DAG:   #[[$PA:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG:   #[[$PW:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG:   #[[$PC:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func @grouped_matmul_panels
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[W:[a-z0-9]+]]: tensor<4x2x64x32xbf16>
// CHECK:         %[[A:.*]] = tensor.extract_slice %[[X]][%{{.*}}, 0] [%[[ROWS:.*]], 64] [1, 1]
// CHECK:         %[[WE:.*]] = tensor.extract_slice %[[W]][%{{.*}}, 0, 0, 0] [1, 2, 64, 32] [1, 1, 1, 1] : tensor<4x2x64x32xbf16> to tensor<2x64x32xbf16>
// CHECK:         %[[C:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0] [%[[ROWS]], 64] [1, 1]
// CHECK:         %[[PANELS:.*]] = tensor.expand_shape %[[C]] {{\[\[}}0], [1, 2]] output_shape [%[[ROWS]], 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
// CHECK:         %[[MM:.*]] = linalg.generic {indexing_maps = [#[[$PA]], #[[$PW]], #[[$PC]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[A]], %[[WE]] : tensor<?x64xf32>, tensor<2x64x32xbf16>) outs(%[[PANELS]] : tensor<?x2x32xf32>) attrs = {moe.segment_matmul}
// CHECK:         tensor.collapse_shape %[[MM]] {{\[\[}}0], [1, 2]] : tensor<?x2x32xf32> into tensor<?x64xf32>
func.func @grouped_matmul_panels(%x: tensor<?x64xf32>, %w: tensor<4x2x64x32xbf16>,
                                 %o: tensor<5xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<4x2x64x32xbf16>, tensor<5xi32>)
         outs(%init : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

// -----

// From a zero fill (the down projection's usual destination): each segment
// fills its own rows, and the product goes back over exactly those rows (the
// segment loop's row count, not a dim of the product), so the fill's insert
// folds away and one-shot bufferization writes the segment in place (no
// temporary buffer and copy per expert).

// CHECK-LABEL: func @grouped_matmul_from_fill
// CHECK:       scf.for %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK:         scf.if
// CHECK:         %[[C:.*]] = tensor.extract_slice %[[ACC]][%[[START:.*]], 0] [%[[ROWS:.*]], 64] [1, 1]
// CHECK:         %[[PANELS:.*]] = tensor.expand_shape %[[C]]
// CHECK:         %[[ZERO:.*]] = linalg.fill {{.*}} outs(%[[PANELS]] : tensor<?x2x32xf32>)
// CHECK:         %[[MM:.*]] = linalg.generic {{.*}} outs(%[[ZERO]] : tensor<?x2x32xf32>) attrs = {moe.segment_matmul}
// CHECK:         %[[ROWSOUT:.*]] = tensor.collapse_shape %[[MM]]
// CHECK-NEXT:    %[[NEW:.*]] = tensor.insert_slice %[[ROWSOUT]] into %[[ACC]][%[[START]], 0] [%[[ROWS]], 64] [1, 1]
// CHECK-NEXT:    scf.yield %[[NEW]]
// The rows past the last segment keep the fill: the result is returned.
// CHECK:       } {moe.segment_loop}
// CHECK:       %[[TAIL:.*]] = tensor.extract_slice
// CHECK:       linalg.fill {{.*}} outs(%[[TAIL]]
// CHECK:       tensor.insert_slice
func.func @grouped_matmul_from_fill(%x: tensor<?x64xf32>, %w: tensor<4x2x64x32xf32>,
                                    %o: tensor<5xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<?x64xf32>) -> tensor<?x64xf32>
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<4x2x64x32xf32>, tensor<5xi32>)
         outs(%filled : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

// -----

// A combine reads the rows of the segments only: the rows past the last
// one (offsets[E] on) need no fill, and get none.

// CHECK-LABEL: func @grouped_matmul_into_combine
// CHECK:       scf.for
// CHECK:         linalg.fill
// CHECK:       } {moe.segment_loop}
// CHECK-NOT:   linalg.fill
// CHECK:       scf.for
func.func @grouped_matmul_into_combine(%x: tensor<?x64xf32>, %w: tensor<4x2x64x32xf32>,
                                       %o: tensor<5xi32>, %init: tensor<?x64xf32>,
                                       %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                       %out: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<?x64xf32>) -> tensor<?x64xf32>
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<4x2x64x32xf32>, tensor<5xi32>)
         outs(%filled : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<panels>}
  %1 = moe.combine ins(%0, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<5xi32>)
         outs(%out : tensor<?x64xf32>)
  return %1 : tensor<?x64xf32>
}

// -----

// In the pair_panels layout, an expert's rows [R, K] become k pairs [R, K/2, 2] and its
// output [R, N] panels [R, N/P, P]; the contraction reads the weight panel
// by panel, pair by pair.

// CHECK-DAG:   #[[$A:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d4)>
// CHECK-DAG:   #[[$W:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
// CHECK-DAG:   #[[$C:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
// CHECK-LABEL: func @grouped_matmul_vnni
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xbf16>, %[[W:[a-z0-9]+]]: tensor<4x2x32x32x2xbf16>
// CHECK:         %[[A:.*]] = tensor.extract_slice %[[X]][%{{.*}}, 0] [%[[ROWS:.*]], 64] [1, 1]
// CHECK:         %[[WE:.*]] = tensor.extract_slice %[[W]][%{{.*}}, 0, 0, 0, 0] [1, 2, 32, 32, 2] [1, 1, 1, 1, 1] : tensor<4x2x32x32x2xbf16> to tensor<2x32x32x2xbf16>
// CHECK:         %[[C:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0] [%[[ROWS]], 64] [1, 1]
// CHECK:         %[[PAIRS:.*]] = tensor.expand_shape %[[A]] {{\[\[}}0], [1, 2]] output_shape [%[[ROWS]], 32, 2] : tensor<?x64xbf16> into tensor<?x32x2xbf16>
// CHECK:         %[[PANELS:.*]] = tensor.expand_shape %[[C]] {{\[\[}}0], [1, 2]] output_shape [%[[ROWS]], 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
// CHECK:         %[[MM:.*]] = linalg.generic {indexing_maps = [#[[$A]], #[[$W]], #[[$C]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[PAIRS]], %[[WE]] : tensor<?x32x2xbf16>, tensor<2x32x32x2xbf16>) outs(%[[PANELS]] : tensor<?x2x32xf32>) attrs = {moe.segment_matmul}
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:         tensor.collapse_shape %[[MM]] {{\[\[}}0], [1, 2]] : tensor<?x2x32xf32> into tensor<?x64xf32>
func.func @grouped_matmul_vnni(%x: tensor<?x64xbf16>, %w: tensor<4x2x32x32x2xbf16>,
                               %o: tensor<5xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xbf16>, tensor<4x2x32x32x2xbf16>, tensor<5xi32>)
         outs(%init : tensor<?x64xf32>) {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x64xf32>
}

// -----

// Combine adds each used row, weighted, into its token's row, in row order;
// padding rows (token id -1) are skipped.

// CHECK-LABEL: func @combine
// CHECK-SAME:    %[[H:[a-z0-9]+]]: tensor<?x64xf32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>, %[[RW:[a-z0-9]+]]: tensor<?xf32>, %[[OFF:[a-z0-9]+]]: tensor<9xi32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:       %[[USED:.*]] = arith.index_cast
// CHECK:       scf.for %[[R:.*]] = %{{.*}} to %[[USED]] step %{{.*}} iter_args(%[[OUT:.*]] = %[[INIT]])
// CHECK:         %[[TID:.*]] = tensor.extract %[[TOK]][%[[R]]]
// CHECK:         %[[PADDING:.*]] = arith.cmpi slt, %[[TID]], %{{.*}} : i32
// CHECK:         scf.if %[[PADDING]]
// CHECK-NEXT:      scf.yield %[[OUT]]
// CHECK:         else
// CHECK:         %[[T:.*]] = arith.index_cast %[[TID]]
// CHECK:         %[[WR:.*]] = tensor.extract %[[RW]][%[[R]]]
// CHECK:         %[[SRC:.*]] = tensor.extract_slice %[[H]][%[[R]], 0] [1, 64] [1, 1]
// CHECK:         %[[DST:.*]] = tensor.extract_slice %[[OUT]][%[[T]], 0] [1, 64] [1, 1]
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[SRC]] : tensor<64xf32>) outs(%[[DST]] : tensor<64xf32>)
// CHECK:           arith.mulf %[[WR]]
// CHECK:           arith.addf
// CHECK:         tensor.insert_slice %[[SUM]] into %[[OUT]][%[[T]], 0] [1, 64] [1, 1]
func.func @combine(%h: tensor<?x64xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                   %o: tensor<9xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

// -----

// Group-limited selection: per token, each group's score is the sum of its
// two largest q, the same selection rule picks top_k_groups groups, and the
// expert scan only takes experts of chosen groups.

// CHECK-LABEL: func @top_k_groups
// CHECK-DAG:   %[[GROUP_SIZE:.*]] = arith.constant 2 : index
// CHECK:       %[[GROUP_SCRATCH:.*]] = bufferization.alloc_tensor() : tensor<4xf32>
// CHECK:       scf.for %[[T:[a-z0-9]+]] = {{.*}} iter_args({{.*}}, %[[SCRATCH:.*]] = %[[GROUP_SCRATCH]])
// CHECK:         %[[SCORES:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[SCRATCH]]) -> (tensor<4xf32>)
// CHECK:           %[[TOP2:.*]]:2 = scf.for
// CHECK:           arith.addf %[[TOP2]]#0, %[[TOP2]]#1
// CHECK:         %[[CHOSEN:.*]] = scf.for {{.*}} -> (tensor<4xi1>)
// CHECK:           tensor.extract %[[SCORES]]
// CHECK:         scf.for
// CHECK:           scf.for %[[E:[a-z0-9]+]] =
// CHECK:             %[[GROUP:.*]] = arith.divui %[[E]], %[[GROUP_SIZE]]
// CHECK:             tensor.extract %[[CHOSEN]][%[[GROUP]]]
func.func @top_k_groups(%s: tensor<?x8xf32>, %w: tensor<?x3xf32>,
                        %i: tensor<?x3xi32>) -> (tensor<?x3xf32>, tensor<?x3xi32>) {
  %w0, %i0 = moe.top_k ins(%s : tensor<?x8xf32>)
               outs(%w, %i : tensor<?x3xf32>, tensor<?x3xi32>)
               {num_groups = 4 : i64, top_k_groups = 2 : i64}
  return %w0, %i0 : tensor<?x3xf32>, tensor<?x3xi32>
}

// -----

// A gated grouped matmul: per expert segment, the gate and up contractions
// each start from zero in the weight's panel shape [rows, N/P, P], and one
// elementwise epilogue (tagged for the target) adds the gate bias, applies
// SiLU and multiplies by the up projection, writing the segment's rows.

// CHECK-DAG:   #[[$GA:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG:   #[[$GW:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG:   #[[$GC:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$BIAS:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func @grouped_gated_matmul
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %{{[a-z0-9]+}}: tensor<5xi32>, %[[WG:[a-z0-9]+]]: tensor<4x4x64x16xf32>, %[[WU:[a-z0-9]+]]: tensor<4x4x64x16xf32>, %[[BG:[a-z0-9]+]]: tensor<4x64xf32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:       scf.for %[[E:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]])
// CHECK:         scf.if
// CHECK:         %[[A:.*]] = tensor.extract_slice %[[X]][%[[START:.*]], 0] [%[[ROWS:.*]], 64] [1, 1]
// CHECK:         %[[OUT:.*]] = tensor.extract_slice %[[ACC]][%[[START]], 0] [%[[ROWS]], 64] [1, 1]
// CHECK:         %[[OUTP:.*]] = tensor.expand_shape %[[OUT]] {{\[\[}}0], [1, 2]] output_shape [%[[ROWS]], 4, 16]
// CHECK:         %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<?x4x16xf32>
// CHECK:         %[[WGE:.*]] = tensor.extract_slice %[[WG]][%[[E]], 0, 0, 0] [1, 4, 64, 16]
// CHECK:         %[[G:.*]] = linalg.generic {indexing_maps = [#[[$GA]], #[[$GW]], #[[$GC]]], {{.*}} ins(%[[A]], %[[WGE]] : {{.*}}) outs(%[[ZERO]] : tensor<?x4x16xf32>) attrs = {moe.segment_matmul}
// CHECK:         %[[WUE:.*]] = tensor.extract_slice %[[WU]][%[[E]], 0, 0, 0] [1, 4, 64, 16]
// CHECK:         %[[U:.*]] = linalg.generic {indexing_maps = [#[[$GA]], #[[$GW]], #[[$GC]]], {{.*}} ins(%[[A]], %[[WUE]] : {{.*}}) outs(%[[ZERO]] : tensor<?x4x16xf32>) attrs = {moe.segment_matmul}
// CHECK:         %[[BGE:.*]] = tensor.extract_slice %[[BG]][%[[E]], 0] [1, 64]
// CHECK:         %[[BGP:.*]] = tensor.expand_shape %[[BGE]] {{\[\[}}0, 1]] output_shape [4, 16]
// CHECK:         %[[H:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ID]], #[[$BIAS]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[G]], %[[U]], %[[BGP]] : {{.*}}) outs(%[[OUTP]] : tensor<?x4x16xf32>) attrs = {moe.segment_epilogue}
// CHECK:         ^bb0(%[[GV:.*]]: f32, %[[UV:.*]]: f32, %[[BV:.*]]: f32, %{{.*}}: f32):
// CHECK:           %[[GB:.*]] = arith.addf %[[GV]], %[[BV]]
// CHECK:           math.exp
// CHECK:           %[[SILU:.*]] = arith.mulf %[[GB]], %{{.*}}
// CHECK:           %[[PROD:.*]] = arith.mulf %[[SILU]], %[[UV]]
// CHECK:           linalg.yield %[[PROD]]
// CHECK:         %[[ROWSOUT:.*]] = tensor.collapse_shape %[[H]] {{\[\[}}0], [1, 2]]
// CHECK:         tensor.insert_slice %[[ROWSOUT]] into %[[ACC]][%[[START]], 0] [%[[ROWS]], 64] [1, 1]
func.func @grouped_gated_matmul(%x: tensor<?x64xf32>, %o: tensor<5xi32>,
                                %wg: tensor<4x4x64x16xf32>, %wu: tensor<4x4x64x16xf32>,
                                %bg: tensor<4x64xf32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gate(%wg : tensor<4x4x64x16xf32>) up(%wu : tensor<4x4x64x16xf32>)
         gate_bias(%bg : tensor<4x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

// -----

// A narrowed gated matmul (moe-gpu-narrow-activations'): bf16 rows and
// weights, a bf16 result; gate and up accumulate from zero in f32, the
// epilogue activates in f32 and rounds what it stores.
// CHECK-LABEL: func @grouped_gated_matmul_narrow
// CHECK:         %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<?x32xf32>
// CHECK:         %[[G:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<32x64xbf16>) outs(%[[ZERO]] : tensor<?x32xf32>) attrs = {moe.segment_matmul}
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:           arith.extf %{{.*}} : bf16 to f32
// CHECK:         %[[U:.*]] = linalg.generic {{.*}} outs(%[[ZERO]] : tensor<?x32xf32>) attrs = {moe.segment_matmul}
// CHECK:         linalg.generic {{.*}} ins(%[[G]], %[[U]] : tensor<?x32xf32>, tensor<?x32xf32>) outs(%{{.*}} : tensor<?x32xbf16>) attrs = {moe.segment_epilogue}
// CHECK:         ^bb0(%{{.*}}: f32, %{{.*}}: f32, %{{.*}}: bf16):
// CHECK:           %[[ROUNDED:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK-NEXT:      linalg.yield %[[ROUNDED]] : bf16
func.func @grouped_gated_matmul_narrow(%x: tensor<?x64xbf16>, %o: tensor<5xi32>,
                                       %wg: tensor<4x32x64xbf16>, %wu: tensor<4x32x64xbf16>,
                                       %init: tensor<?x32xbf16>) -> tensor<?x32xbf16> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xbf16>, tensor<5xi32>)
         gate(%wg : tensor<4x32x64xbf16>) up(%wu : tensor<4x32x64xbf16>)
         outs(%init : tensor<?x32xbf16>) activation<silu>
  return %0 : tensor<?x32xbf16>
}

// -----

// A gated grouped matmul that gathers its rows: each segment's rows are a
// generic (tagged for the target, which fuses it into its tiles) that reads
// token row max(token_ids[start + i], 0) (a padding row's -1 reads row 0),
// and both contractions read them.

// CHECK-DAG:   #[[$RID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @grouped_gated_matmul_gather
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %{{[a-z0-9]+}}: tensor<5xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>
// CHECK:       scf.for
// CHECK:         %[[EMPTY:.*]] = tensor.empty(%[[ROWS:.*]]) : tensor<?x64xf32>
// CHECK:         %[[A:.*]] = linalg.generic {indexing_maps = [#[[$RID]]], iterator_types = ["parallel", "parallel"]} outs(%[[EMPTY]] : tensor<?x64xf32>) attrs = {moe.segment_gather}
// CHECK:           %[[I:.*]] = linalg.index 0 : index
// CHECK:           %[[ROW:.*]] = arith.addi %[[START:.*]], %[[I]] : index
// CHECK:           %[[ID:.*]] = tensor.extract %[[TOK]][%[[ROW]]] : tensor<?xi32>
// CHECK:           %[[IDP:.*]] = arith.maxsi %[[ID]], %{{.*}} : i32
// CHECK:           %[[R:.*]] = arith.index_cast %[[IDP]] : i32 to index
// CHECK:           %[[J:.*]] = linalg.index 1 : index
// CHECK:           %[[V:.*]] = tensor.extract %[[X]][%[[R]], %[[J]]] : tensor<?x64xf32>
// CHECK:           linalg.yield %[[V]] : f32
// CHECK:         linalg.generic {{.*}} ins(%[[A]], %{{.*}} : {{.*}}) {{.*}} attrs = {moe.segment_matmul}
// CHECK:         linalg.generic {{.*}} ins(%[[A]], %{{.*}} : {{.*}}) {{.*}} attrs = {moe.segment_matmul}
// CHECK:         attrs = {moe.segment_epilogue}
func.func @grouped_gated_matmul_gather(%x: tensor<?x64xf32>, %o: tensor<5xi32>,
                                       %tok: tensor<?xi32>,
                                       %wg: tensor<4x4x64x16xf32>, %wu: tensor<4x4x64x16xf32>,
                                       %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<5xi32>)
         gather(%tok : tensor<?xi32>)
         gate(%wg : tensor<4x4x64x16xf32>) up(%wu : tensor<4x4x64x16xf32>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}

// -----

// The pair layout (--bf16-dot): the gathered rows come as [rows, K/2, 2],
// element (i, pair, p) read at column 2 pair + p of its token row, as the
// 5-loop pair-layout contractions read them; the epilogue is [rows, N/P, P].

// CHECK-DAG:   #[[$PID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$PA:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d4)>
// CHECK-DAG:   #[[$PW:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d2, d4)>
// CHECK-DAG:   #[[$PC:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
// CHECK-LABEL: func @grouped_gated_matmul_pair_gather
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xbf16>, %{{[a-z0-9]+}}: tensor<5xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>
// CHECK:       scf.for
// CHECK:         %[[EMPTY:.*]] = tensor.empty(%{{.*}}) : tensor<?x32x2xbf16>
// CHECK:         %[[A:.*]] = linalg.generic {indexing_maps = [#[[$PID]]], iterator_types = ["parallel", "parallel", "parallel"]} outs(%[[EMPTY]] : tensor<?x32x2xbf16>) attrs = {moe.segment_gather}
// CHECK:           %[[R:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK:           %[[PAIR:.*]] = linalg.index 1 : index
// CHECK:           %[[K0:.*]] = arith.muli %[[PAIR]], %c2 : index
// CHECK:           %[[P:.*]] = linalg.index 2 : index
// CHECK:           %[[K:.*]] = arith.addi %[[K0]], %[[P]] : index
// CHECK:           %[[V:.*]] = tensor.extract %[[X]][%[[R]], %[[K]]] : tensor<?x64xbf16>
// CHECK:           linalg.yield %[[V]] : bf16
// CHECK:         linalg.generic {indexing_maps = [#[[$PA]], #[[$PW]], #[[$PC]]], {{.*}} ins(%[[A]], %{{.*}} : tensor<?x32x2xbf16>, tensor<2x32x32x2xbf16>) outs(%{{.*}} : tensor<?x2x32xf32>) attrs = {moe.segment_matmul}
// CHECK:         linalg.generic {indexing_maps = [#[[$PA]], #[[$PW]], #[[$PC]]], {{.*}} ins(%[[A]], %{{.*}} : tensor<?x32x2xbf16>, tensor<2x32x32x2xbf16>) outs(%{{.*}} : tensor<?x2x32xf32>) attrs = {moe.segment_matmul}
// CHECK:         linalg.generic {indexing_maps = [#[[$PID]], #[[$PID]], #[[$PID]]], {{.*}} outs(%{{.*}} : tensor<?x2x32xf32>) attrs = {moe.segment_epilogue}
func.func @grouped_gated_matmul_pair_gather(%x: tensor<?x64xbf16>, %o: tensor<5xi32>,
                                            %tok: tensor<?xi32>,
                                            %wg: tensor<4x2x32x32x2xbf16>, %wu: tensor<4x2x32x32x2xbf16>,
                                            %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xbf16>, tensor<5xi32>)
         gather(%tok : tensor<?xi32>)
         gate(%wg : tensor<4x2x32x32x2xbf16>) up(%wu : tensor<4x2x32x32x2xbf16>)
         outs(%init : tensor<?x64xf32>) activation<silu> {weight_layout = #moe.weight_layout<pair_panels>}
  return %0 : tensor<?x64xf32>
}

// -----

// moe.gated_activation: one elementwise generic into the op's outs; SiLU of
// the gate (in the overflow-free form) times the up projection.

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @gated_activation
// CHECK-SAME:    %[[G:[a-z0-9]+]]: tensor<?x128xf32>, %[[U:[a-z0-9]+]]: tensor<?x128xf32>, %[[INIT:[a-z0-9]+]]: tensor<?x128xf32>
// CHECK:       %[[H:.*]] = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[G]], %[[U]] : {{.*}}) outs(%[[INIT]] : tensor<?x128xf32>)
// CHECK:       ^bb0(%[[GV:.*]]: f32, %[[UV:.*]]: f32, %{{.*}}: f32):
// CHECK:         %[[ABS:.*]] = math.absf %[[GV]]
// CHECK:         %[[NEG:.*]] = arith.negf %[[ABS]]
// CHECK:         %[[EXP:.*]] = math.exp %[[NEG]]
// CHECK:         %[[DEN:.*]] = arith.addf %[[EXP]]
// CHECK:         %[[LOW:.*]] = arith.divf %[[EXP]], %[[DEN]]
// CHECK:         %[[POS:.*]] = arith.cmpf oge, %[[GV]]
// CHECK:         %[[HIGH:.*]] = arith.subf %{{.*}}, %[[LOW]]
// CHECK:         %[[SIG:.*]] = arith.select %[[POS]], %[[HIGH]], %[[LOW]]
// CHECK:         %[[SILU:.*]] = arith.mulf %[[GV]], %[[SIG]]
// CHECK:         %[[PROD:.*]] = arith.mulf %[[SILU]], %[[UV]]
// CHECK:         linalg.yield %[[PROD]]
// CHECK:       return %[[H]]
func.func @gated_activation(%g: tensor<?x128xf32>, %u: tensor<?x128xf32>,
                            %init: tensor<?x128xf32>) -> tensor<?x128xf32> {
  %0 = moe.gated_activation ins(%g, %u : tensor<?x128xf32>, tensor<?x128xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  return %0 : tensor<?x128xf32>
}

// -----

// gpt-oss's clamped SwiGLU uses the op's alpha and limit.

// CHECK-LABEL: func @gated_activation_swiglu_oai
// CHECK-DAG:   %[[ALPHA:.*]] = arith.constant 1.500000e+00 : f32
// CHECK-DAG:   %[[LIMIT:.*]] = arith.constant 5.000000e+00 : f32
// CHECK-DAG:   %[[NLIMIT:.*]] = arith.constant -5.000000e+00 : f32
// CHECK:       linalg.generic
// CHECK:       ^bb0(%[[GV:.*]]: f32, %[[UV:.*]]: f32, %{{.*}}: f32):
// CHECK:         %[[G:.*]] = arith.minimumf %[[GV]], %[[LIMIT]]
// CHECK:         %[[UHI:.*]] = arith.minimumf %[[UV]], %[[LIMIT]]
// CHECK:         %[[U:.*]] = arith.maximumf %[[UHI]], %[[NLIMIT]]
// CHECK:         arith.mulf %[[G]], %[[ALPHA]]
func.func @gated_activation_swiglu_oai(%g: tensor<?x32xf32>, %u: tensor<?x32xf32>,
                                       %init: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %0 = moe.gated_activation ins(%g, %u : tensor<?x32xf32>, tensor<?x32xf32>)
         outs(%init : tensor<?x32xf32>) activation<swiglu_oai>
         {swiglu_alpha = 1.5 : f32, swiglu_limit = 5.0 : f32}
  return %0 : tensor<?x32xf32>
}

// -----

// Wider than one 256-column chunk, permute and combine split their columns
// into a forall whose iterations write their own chunk (threads share
// them). A combine chunk adds every used row in row order, as the whole op
// does, so each output sums in the same order however chunks are run.

// CHECK-LABEL: func @permute_chunks
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x512xf32>
// CHECK:       %[[ROWS:.*]] = tensor.extract_slice %{{.*}}[0, 0] [%{{.*}}, 512] [1, 1]
// CHECK:       scf.forall (%[[C:.*]]) in (2) shared_outs(%[[OUT:.*]] = %[[ROWS]])
// CHECK:         %[[COL:.*]] = arith.muli %[[C]], %c256
// CHECK:         %[[CHUNK:.*]] = tensor.extract_slice %[[OUT]][0, %[[COL]]] [%{{.*}}, 256] [1, 1]
// CHECK:         %[[COPIED:.*]] = scf.for %[[R:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[CHUNK]])
// CHECK:           %[[SRC:.*]] = tensor.extract_slice %[[X]][%{{.*}}, %[[COL]]] [1, 256] [1, 1]
// CHECK:           tensor.insert_slice %[[SRC]] into %[[ACC]][%[[R]], 0] [1, 256] [1, 1]
// CHECK:         tensor.parallel_insert_slice %[[COPIED]] into %[[OUT]][0, %[[COL]]] [%{{.*}}, 256] [1, 1]
func.func @permute_chunks(%x: tensor<?x512xf32>, %ids: tensor<?xi32>, %o: tensor<5xi32>,
                          %init: tensor<?x512xf32>) -> tensor<?x512xf32> {
  %0 = moe.permute ins(%x, %ids, %o : tensor<?x512xf32>, tensor<?xi32>, tensor<5xi32>)
         outs(%init : tensor<?x512xf32>)
  return %0 : tensor<?x512xf32>
}

// CHECK-LABEL: func @combine_chunks
// CHECK-SAME:    %[[H:[a-z0-9]+]]: tensor<?x512xf32>, %{{[a-z0-9]+}}: tensor<?xi32>, %{{[a-z0-9]+}}: tensor<?xf32>, %{{[a-z0-9]+}}: tensor<5xi32>, %[[INIT:[a-z0-9]+]]: tensor<?x512xf32>
// CHECK:       scf.forall (%[[C:.*]]) in (2) shared_outs(%[[OUT:.*]] = %[[INIT]])
// CHECK:         %[[COL:.*]] = arith.muli %[[C]], %c256
// CHECK:         %[[CHUNK:.*]] = tensor.extract_slice %[[OUT]][0, %[[COL]]] [%{{.*}}, 256] [1, 1]
// CHECK:         %[[SUM:.*]] = scf.for %[[R:.*]] = %c0 to %{{.*}} step %c1 iter_args(%[[ACC:.*]] = %[[CHUNK]])
// CHECK:           scf.if
// CHECK:             tensor.extract_slice %[[H]][%[[R]], %[[COL]]] [1, 256] [1, 1]
// CHECK:             tensor.extract_slice %[[ACC]][%{{.*}}, 0] [1, 256] [1, 1]
// CHECK:         tensor.parallel_insert_slice %[[SUM]] into %[[OUT]][0, %[[COL]]] [%{{.*}}, 256] [1, 1]
func.func @combine_chunks(%h: tensor<?x512xf32>, %ids: tensor<?xi32>, %w: tensor<?xf32>,
                          %o: tensor<5xi32>, %init: tensor<?x512xf32>) -> tensor<?x512xf32> {
  %0 = moe.combine ins(%h, %ids, %w, %o : tensor<?x512xf32>, tensor<?xi32>, tensor<?xf32>, tensor<5xi32>)
         outs(%init : tensor<?x512xf32>)
  return %0 : tensor<?x512xf32>
}

// -----

// moe.router_top_k: an scf.forall over blocks of 16 tokens (the last one
// shorter); each block scores its rows into a [16, E] scratch (the [T, E]
// scores never exist; the logits contraction is tagged for the targets'
// kernels), then selects their experts, and writes its rows of the weights
// and indices.

// CHECK-LABEL: func @router_top_k
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[W:[a-z0-9]+]]: tensor<64x8xf32>, %[[WE:[a-z0-9]+]]: tensor<?x2xf32>, %[[IE:[a-z0-9]+]]: tensor<?x2xi32>
// CHECK-DAG:   %[[C16:.*]] = arith.constant 16 : index
// CHECK:       %[[T:.*]] = tensor.dim %[[X]]
// CHECK:       %[[NB:.*]] = arith.ceildivui %[[T]], %[[C16]] : index
// CHECK:       %[[R:.*]]:2 = scf.forall (%[[B:.*]]) in (%[[NB]]) shared_outs(%[[SW:.*]] = %[[WE]], %[[SI:.*]] = %[[IE]])
// CHECK:         %[[FIRST:.*]] = arith.muli %[[B]], %[[C16]] : index
// CHECK:         %[[LEFT:.*]] = arith.subi %[[T]], %[[FIRST]] : index
// CHECK:         %[[ROWS:.*]] = arith.minui %[[LEFT]], %[[C16]] : index
// CHECK:         %[[SCRATCH:.*]] = bufferization.alloc_tensor() : tensor<16x8xf32>
// CHECK:         tensor.extract_slice %[[SCRATCH]][0, 0] [%[[ROWS]], 8] [1, 1]
// CHECK:         tensor.extract_slice %[[X]][%[[FIRST]], 0] [%[[ROWS]], 64] [1, 1]
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK-SAME:      attrs = {moe.router_logits}
// CHECK:         math.exp
// CHECK:         %[[WB:.*]] = tensor.extract_slice %[[SW]][%[[FIRST]], 0] [%[[ROWS]], 2] [1, 1]
// CHECK:         %[[IB:.*]] = tensor.extract_slice %[[SI]][%[[FIRST]], 0] [%[[ROWS]], 2] [1, 1]
// CHECK:         %[[SEL:.*]]:3 = scf.for %{{.*}} = %{{.*}} to %[[ROWS]] step %{{.*}} iter_args(%{{.*}} = %[[WB]], %{{.*}} = %[[IB]],
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %[[SEL]]#0 into %[[SW]][%[[FIRST]], 0] [%[[ROWS]], 2] [1, 1]
// CHECK-NEXT:      tensor.parallel_insert_slice %[[SEL]]#1 into %[[SI]][%[[FIRST]], 0] [%[[ROWS]], 2] [1, 1]
// CHECK:       return %[[R]]#0, %[[R]]#1
// CHECK-NOT:   moe.
func.func @router_top_k(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>,
                        %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<softmax> {weight_layout = #moe.weight_layout<kn>, normalize}
  return %0, %1 : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// A combining grouped matmul (moe-fuse-combine): the loop carries the token
// rows whole, in the contraction's panel shape (reshaped once, outside it;
// no segment fill, no [R, N] rows); each segment's product accumulates from
// zero in its own tensor, and moe.segment_combine adds its rows into the
// token rows.

// CHECK-LABEL: func @grouped_matmul_combine
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[W:[a-z0-9]+]]: tensor<4x2x64x32xf32>, %[[O:[a-z0-9]+]]: tensor<5xi32>, %[[TOK:[a-z0-9]+]]: tensor<?xi32>, %[[RW:[a-z0-9]+]]: tensor<?xf32>, %[[INIT:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:       %[[TOKENS:.*]] = tensor.expand_shape %[[INIT]] {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
// CHECK:       %[[LOOP:.*]] = scf.for %[[E:.*]] = %{{.*}} iter_args(%[[ACC:.*]] = %[[TOKENS]]) -> (tensor<?x2x32xf32>)
// CHECK:         %[[START:.*]] = arith.index_cast
// CHECK:         %[[ROWS:.*]] = arith.subi %{{.*}}, %[[START]]
// CHECK:         scf.if
// CHECK:         %[[A:.*]] = tensor.extract_slice %[[X]][%[[START]], 0] [%[[ROWS]], 64] [1, 1]
// CHECK:         %[[EMPTY:.*]] = tensor.empty(%[[ROWS]]) : tensor<?x2x32xf32>
// CHECK:         %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[EMPTY]] : tensor<?x2x32xf32>)
// CHECK:         %[[MM:.*]] = linalg.generic {{.*}} ins(%[[A]], %{{.*}} : tensor<?x64xf32>, tensor<2x64x32xf32>) outs(%[[ZERO]] : tensor<?x2x32xf32>) attrs = {moe.segment_matmul}
// CHECK:         %[[T:.*]] = tensor.extract_slice %[[TOK]][%[[START]]] [%[[ROWS]]] [1]
// CHECK:         %[[R:.*]] = tensor.extract_slice %[[RW]][%[[START]]] [%[[ROWS]]] [1]
// CHECK:         %[[SUM:.*]] = moe.segment_combine ins(%[[MM]], %[[T]], %[[R]] : tensor<?x2x32xf32>, tensor<?xi32>, tensor<?xf32>) outs(%[[ACC]] : tensor<?x2x32xf32>)
// CHECK:         scf.yield %[[SUM]]
// CHECK-NOT:     tensor.insert_slice
// CHECK:       %[[JOINED:.*]] = tensor.collapse_shape %[[LOOP]] {{\[\[}}0], [1, 2]] : tensor<?x2x32xf32> into tensor<?x64xf32>
// CHECK:       return %[[JOINED]]
func.func @grouped_matmul_combine(%x: tensor<?x64xf32>, %w: tensor<4x2x64x32xf32>,
                                  %o: tensor<5xi32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                                  %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<4x2x64x32xf32>, tensor<5xi32>)
         combine(%t, %rw : tensor<?xi32>, tensor<?xf32>) outs(%init : tensor<?x64xf32>)
         {weight_layout = #moe.weight_layout<panels>}
  return %0 : tensor<?x64xf32>
}
