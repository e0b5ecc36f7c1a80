// RUN: moe-opt %s --moe-fuse-shared-experts --split-input-file | FileCheck %s

// DeepSeek-style, as the importer writes it: the layer accumulates into the
// output of an always-on FFN over every token (one expert, offsets [0, T]).
// The FFN becomes the layer's shared experts and its zero fill the layer's
// outs.

// CHECK-LABEL: func @shared_ffn
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[WR:[a-z0-9]+]]: tensor<8x64xf32>, %[[WG:[a-z0-9]+]]: tensor<8x32x64xf32>, %[[WU:[a-z0-9]+]]: tensor<8x32x64xf32>, %[[WD:[a-z0-9]+]]: tensor<8x64x32xf32>, %[[SG:[a-z0-9]+]]: tensor<1x64x64xf32>, %[[SU:[a-z0-9]+]]: tensor<1x64x64xf32>, %[[SD:[a-z0-9]+]]: tensor<1x64x64xf32>
// CHECK:       %[[ZEROS:.*]] = linalg.fill
// CHECK-NOT:   moe.expert_ffn
// CHECK:       %[[Y:.*]] = moe.layer ins(%[[X]] : tensor<?x64xf32>) router(%[[WR]] : {{.*}}) gate(%[[WG]] : {{.*}}) up(%[[WU]] : {{.*}}) down(%[[WD]] : {{.*}}) shared_gate(%[[SG]] : tensor<1x64x64xf32>) shared_up(%[[SU]] : tensor<1x64x64xf32>) shared_down(%[[SD]] : tensor<1x64x64xf32>) outs(%[[ZEROS]] : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu> {normalize}
// CHECK-NOT:   moe.expert_ffn
// CHECK:       return %[[Y]]
func.func @shared_ffn(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                      %wg: tensor<8x32x64xf32>, %wu: tensor<8x32x64xf32>,
                      %wd: tensor<8x64x32xf32>, %sg: tensor<1x64x64xf32>,
                      %su: tensor<1x64x64xf32>, %sd: tensor<1x64x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %first = arith.constant 0 : i32
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %t32 = arith.index_cast %t : index to i32
  %offsets = tensor.from_elements %first, %t32 : tensor<2xi32>
  %e = tensor.empty(%t) : tensor<?x64xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %shared = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
              gate(%sg : tensor<1x64x64xf32>) up(%su : tensor<1x64x64xf32>)
              down(%sd : tensor<1x64x64xf32>) outs(%zeros : tensor<?x64xf32>)
              activation<silu>
  %y = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x32x64xf32>) up(%wu : tensor<8x32x64xf32>)
         down(%wd : tensor<8x64x32xf32>) outs(%shared : tensor<?x64xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  return %y : tensor<?x64xf32>
}

// -----

// Qwen2-MoE: the shared output times sigmoid(x g^T), per token. The scale
// moves to a [T, 1] tensor of its own, the sigmoid cloned from the
// product's body, and becomes the layer's shared_scale. The rows of the
// layer's input and of the FFN's segment are the same T: the input is
// produced into a tensor of the T that the offsets hold.

// CHECK-LABEL: func @scaled_shared_ffn
// CHECK-SAME:    %[[IN:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:       %[[X:.*]] = linalg.generic {{.*}} ins(%[[IN]] : tensor<?x64xf32>)
// CHECK:       %[[LOGIT:.*]] = linalg.matmul
// CHECK:       %[[SCALE:.*]] = linalg.generic {{.*}} ins(%[[LOGIT]] : tensor<?x1xf32>) outs(%{{.*}} : tensor<?x1xf32>)
// CHECK-NEXT:  ^bb0(%[[L:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:    %[[NEG:.*]] = arith.negf %[[L]] : f32
// CHECK-NEXT:    %[[EXP:.*]] = math.exp %[[NEG]] : f32
// CHECK-NEXT:    %[[DEN:.*]] = arith.addf %[[EXP]], %{{.*}} : f32
// CHECK-NEXT:    %[[SIG:.*]] = arith.divf %{{.*}}, %[[DEN]] : f32
// CHECK-NEXT:    linalg.yield %[[SIG]] : f32
// CHECK-NOT:   moe.expert_ffn
// CHECK:       moe.layer ins(%[[X]] : tensor<?x64xf32>) {{.*}} shared_up(%{{.*}} : tensor<1x96x64xf32>) shared_down(%{{.*}} : tensor<1x64x96xf32>) shared_scale(%[[SCALE]] : tensor<?x1xf32>) outs(%{{.*}} : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>
func.func @scaled_shared_ffn(%in: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                             %wu: tensor<8x32x64xf32>, %wd: tensor<8x64x32xf32>,
                             %su: tensor<1x96x64xf32>, %sd: tensor<1x64x96xf32>,
                             %g: tensor<64x1xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %first = arith.constant 0 : i32
  %t = tensor.dim %in, %c0 : tensor<?x64xf32>
  %xe = tensor.empty(%t) : tensor<?x64xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%in : tensor<?x64xf32>) outs(%xe : tensor<?x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.mulf %a, %a : f32
    linalg.yield %n : f32
  } -> tensor<?x64xf32>
  %t32 = arith.index_cast %t : index to i32
  %offsets = tensor.from_elements %first, %t32 : tensor<2xi32>
  %e = tensor.empty(%t) : tensor<?x64xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>
  %shared = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
              up(%su : tensor<1x96x64xf32>) down(%sd : tensor<1x64x96xf32>)
              outs(%zeros : tensor<?x64xf32>) activation<gelu>
  %le = tensor.empty(%t) : tensor<?x1xf32>
  %lz = linalg.fill ins(%zero : f32) outs(%le : tensor<?x1xf32>) -> tensor<?x1xf32>
  %logit = linalg.matmul ins(%x, %g : tensor<?x64xf32>, tensor<64x1xf32>) outs(%lz : tensor<?x1xf32>) -> tensor<?x1xf32>
  %se = tensor.empty(%t) : tensor<?x64xf32>
  %scaled = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>],
                            iterator_types = ["parallel", "parallel"]}
              ins(%shared, %logit : tensor<?x64xf32>, tensor<?x1xf32>) outs(%se : tensor<?x64xf32>) {
  ^bb0(%s: f32, %l: f32, %o: f32):
    %neg = arith.negf %l : f32
    %exp = math.exp %neg : f32
    %den = arith.addf %exp, %one : f32
    %sig = arith.divf %one, %den : f32
    %p = arith.mulf %s, %sig : f32
    linalg.yield %p : f32
  } -> tensor<?x64xf32>
  %y = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
         outs(%scaled : tensor<?x64xf32>) top_k(2) scoring<softmax>
         activation<gelu>
  return %y : tensor<?x64xf32>
}

// -----

// What keeps the FFN apart: an Fs that is no multiple of F; a capacity
// factor (the shared slots would be dropped); a bias; another input; a
// segment of fewer rows than the tokens; a scale of something but the
// logits' element alone; a scaled FFN over a non-zero accumulator.

// CHECK-LABEL: func @not_fused
// CHECK-COUNT-7: moe.expert_ffn
// CHECK-NOT:   shared_up
func.func @not_fused(%x: tensor<?x64xf32>, %x2: tensor<?x64xf32>,
                     %wr: tensor<8x64xf32>,
                     %wu: tensor<8x32x64xf32>, %wd: tensor<8x64x32xf32>,
                     %bu: tensor<8x32xf32>,
                     %su: tensor<1x48x64xf32>, %sd: tensor<1x64x48xf32>,
                     %su2: tensor<1x64x64xf32>, %sd2: tensor<1x64x64xf32>,
                     %logit: tensor<?x1xf32>, %acc: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>,
        tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %first = arith.constant 0 : i32
  %five = arith.constant 5 : i32
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %t32 = arith.index_cast %t : index to i32
  %offsets = tensor.from_elements %first, %t32 : tensor<2xi32>
  %fewer = tensor.from_elements %first, %five : tensor<2xi32>
  %e = tensor.empty(%t) : tensor<?x64xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<?x64xf32>) -> tensor<?x64xf32>

  // Fs = 48, F = 32.
  %s0 = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
          up(%su : tensor<1x48x64xf32>) down(%sd : tensor<1x64x48xf32>)
          outs(%zeros : tensor<?x64xf32>) activation<gelu>
  %y0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
          up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
          outs(%s0 : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>

  // A capacity factor.
  %s1 = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
          up(%su2 : tensor<1x64x64xf32>) down(%sd2 : tensor<1x64x64xf32>)
          outs(%zeros : tensor<?x64xf32>) activation<gelu>
  %y1 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
          up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
          outs(%s1 : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>
          {capacity_factor = 1.0 : f64}

  // The experts have a bias.
  %s2 = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
          up(%su2 : tensor<1x64x64xf32>) down(%sd2 : tensor<1x64x64xf32>)
          outs(%zeros : tensor<?x64xf32>) activation<gelu>
  %y2 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
          up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
          up_bias(%bu : tensor<8x32xf32>)
          outs(%s2 : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>

  // The FFN reads another tensor than the layer.
  %s3 = moe.expert_ffn ins(%x2, %offsets : tensor<?x64xf32>, tensor<2xi32>)
          up(%su2 : tensor<1x64x64xf32>) down(%sd2 : tensor<1x64x64xf32>)
          outs(%zeros : tensor<?x64xf32>) activation<gelu>
  %y3 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
          up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
          outs(%s3 : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>

  // The FFN's segment is the first 5 rows.
  %s4 = moe.expert_ffn ins(%x, %fewer : tensor<?x64xf32>, tensor<2xi32>)
          up(%su2 : tensor<1x64x64xf32>) down(%sd2 : tensor<1x64x64xf32>)
          outs(%zeros : tensor<?x64xf32>) activation<gelu>
  %y4 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
          up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
          outs(%s4 : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>

  // The scale reads the FFN's element too.
  %s5 = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
          up(%su2 : tensor<1x64x64xf32>) down(%sd2 : tensor<1x64x64xf32>)
          outs(%zeros : tensor<?x64xf32>) activation<gelu>
  %q5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
          ins(%s5, %logit : tensor<?x64xf32>, tensor<?x1xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%s: f32, %l: f32, %o: f32):
    %m = arith.addf %s, %l : f32
    %p = arith.mulf %s, %m : f32
    linalg.yield %p : f32
  } -> tensor<?x64xf32>
  %y5 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
          up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
          outs(%q5 : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>

  // A scaled FFN that accumulates into %acc: the scale would apply to it.
  %s6 = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
          up(%su2 : tensor<1x64x64xf32>) down(%sd2 : tensor<1x64x64xf32>)
          outs(%acc : tensor<?x64xf32>) activation<gelu>
  %q6 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
          ins(%s6, %logit : tensor<?x64xf32>, tensor<?x1xf32>) outs(%e : tensor<?x64xf32>) {
  ^bb0(%s: f32, %l: f32, %o: f32):
    %p = arith.mulf %s, %l : f32
    linalg.yield %p : f32
  } -> tensor<?x64xf32>
  %y6 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
          up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
          outs(%q6 : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<gelu>
  return %y0, %y1, %y2, %y3, %y4, %y5, %y6 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// An unscaled FFN keeps its accumulator: it becomes the layer's outs (the
// residual of a transformer block, say).

// CHECK-LABEL: func @residual
// CHECK-SAME:    %[[ACC:[a-z0-9]+]]: tensor<?x64xf32>) -> tensor<?x64xf32>
// CHECK:       moe.layer {{.*}} shared_up(%{{.*}}) shared_down(%{{.*}}) outs(%[[ACC]] : tensor<?x64xf32>)
func.func @residual(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                    %wu: tensor<8x32x64xf32>, %wd: tensor<8x64x32xf32>,
                    %su: tensor<1x32x64xf32>, %sd: tensor<1x64x32xf32>,
                    %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %first = arith.constant 0 : i32
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %t32 = arith.index_cast %t : index to i32
  %offsets = tensor.from_elements %first, %t32 : tensor<2xi32>
  %shared = moe.expert_ffn ins(%x, %offsets : tensor<?x64xf32>, tensor<2xi32>)
              up(%su : tensor<1x32x64xf32>) down(%sd : tensor<1x64x32xf32>)
              outs(%acc : tensor<?x64xf32>) activation<relu>
  %y = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         up(%wu : tensor<8x32x64xf32>) down(%wd : tensor<8x64x32xf32>)
         outs(%shared : tensor<?x64xf32>) top_k(2) scoring<softmax>
         activation<relu>
  return %y : tensor<?x64xf32>
}
