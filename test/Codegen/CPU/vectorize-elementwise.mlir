// RUN: moe-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(moe-cpu-vectorize-elementwise),canonicalize)" | FileCheck %s

// A row-wise elementwise op over [rows, 3584] (the unfused SiLU-gated
// activation): an scf.forall over blocks of 16 rows, in each block rows of
// 64-column chunks (the largest divisor of 3584 up to 64), on vectors.

// CHECK-LABEL: func @activation
// CHECK:         scf.forall (%{{.*}}) = (0) to (%{{.*}}) step (16)
// CHECK:           scf.for %{{.*}} = %c0 to %{{.*}} step %c1
// CHECK:             scf.for %{{.*}} = %c0 to %c3584 step %c64
// CHECK:               vector.transfer_read {{.*}} : tensor<1x64xf32>, vector<1x64xf32>
// CHECK:               math.exp %{{.*}} : vector<1x64xf32>
// CHECK:               vector.transfer_write {{.*}} : vector<1x64xf32>, tensor<1x64xf32>
// CHECK-NOT:   linalg.generic
func.func @activation(%g: tensor<?x3584xf32>, %u: tensor<?x3584xf32>) -> tensor<?x3584xf32> {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %rows = tensor.dim %g, %c0 : tensor<?x3584xf32>
  %init = tensor.empty(%rows) : tensor<?x3584xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%g, %u : tensor<?x3584xf32>, tensor<?x3584xf32>) outs(%init : tensor<?x3584xf32>) {
  ^bb0(%x: f32, %y: f32, %out: f32):
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %x, %d : f32
    %p = arith.mulf %s, %y : f32
    linalg.yield %p : f32
  } -> tensor<?x3584xf32>
  return %0 : tensor<?x3584xf32>
}

// -----

// A bf16 rounding of 1000 columns: chunks of 50 (the largest divisor up to
// 64).

// CHECK-LABEL: func @round
// CHECK:         scf.forall
// CHECK:           arith.truncf %{{.*}} : vector<1x50xf32> to vector<1x50xbf16>
func.func @round(%x: tensor<?x1000xf32>) -> tensor<?x1000xbf16> {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x1000xf32>
  %init = tensor.empty(%rows) : tensor<?x1000xbf16>
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%x : tensor<?x1000xf32>) outs(%init : tensor<?x1000xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %t = arith.truncf %in : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<?x1000xbf16>
  return %0 : tensor<?x1000xbf16>
}

// -----

// Left alone: a broadcast operand, static rows, fewer than 16 columns, and
// an op already inside an scf.forall.

// CHECK-LABEL: func @left_alone
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT:     vector.transfer_read
func.func @left_alone(%x: tensor<?x64xf32>, %b: tensor<?xf32>, %s: tensor<8x64xf32>,
                      %n: tensor<?x8xf32>) -> (tensor<?x64xf32>, tensor<8x64xf32>, tensor<?x8xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x64xf32>
  %init = tensor.empty(%rows) : tensor<?x64xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%x, %b : tensor<?x64xf32>, tensor<?xf32>) outs(%init : tensor<?x64xf32>) {
  ^bb0(%in: f32, %scale: f32, %out: f32):
    %m = arith.mulf %in, %scale : f32
    linalg.yield %m : f32
  } -> tensor<?x64xf32>
  %init8 = tensor.empty() : tensor<8x64xf32>
  %1 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%s : tensor<8x64xf32>) outs(%init8 : tensor<8x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<8x64xf32>
  %initn = tensor.empty(%rows) : tensor<?x8xf32>
  %2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
         ins(%n : tensor<?x8xf32>) outs(%initn : tensor<?x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<?x8xf32>
  %3 = scf.forall (%i) in (1) shared_outs(%o = %init) -> (tensor<?x64xf32>) {
    %4 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                         iterator_types = ["parallel", "parallel"]}
           ins(%x : tensor<?x64xf32>) outs(%o : tensor<?x64xf32>) {
    ^bb0(%in: f32, %out: f32):
      %m = arith.negf %in : f32
      linalg.yield %m : f32
    } -> tensor<?x64xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %4 into %o[0, 0] [%rows, 64] [1, 1] : tensor<?x64xf32> into tensor<?x64xf32>
    }
  }
  return %0, %1, %2, %3 : tensor<?x64xf32>, tensor<8x64xf32>, tensor<?x8xf32>, tensor<?x64xf32>
}
