// RUN: moe-opt %s --split-input-file --moe-gpu-narrow-activations | FileCheck %s

// Rows that only BF16 matmuls over the same segments read: the permute
// copies them rounded to bf16, into a fresh buffer of the same rows, and
// the matmuls read bf16.
// CHECK-LABEL: func @gated_and_plain
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x64xf32>, %[[T:[a-z0-9]+]]: tensor<?xi32>, %[[O:[a-z0-9]+]]: tensor<9xi32>, %[[E:[a-z0-9]+]]: tensor<?x64xf32>
// CHECK:         %[[C0:.+]] = arith.constant 0 : index
// CHECK:         %[[ROWS:.+]] = tensor.dim %[[E]], %[[C0]] : tensor<?x64xf32>
// CHECK:         %[[EMPTY:.+]] = tensor.empty(%[[ROWS]]) : tensor<?x64xbf16>
// CHECK:         %[[P:.+]] = moe.permute ins(%[[X]], %[[T]], %[[O]] : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>) outs(%[[EMPTY]] : tensor<?x64xbf16>)
// CHECK:         moe.grouped_gated_matmul ins(%[[P]], %[[O]] : tensor<?x64xbf16>, tensor<9xi32>)
// CHECK:         moe.grouped_matmul ins(%[[P]], %{{.+}}, %[[O]] : tensor<?x64xbf16>, tensor<8x32x64xbf16>, tensor<9xi32>)
func.func @gated_and_plain(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                           %o: tensor<9xi32>, %e: tensor<?x64xf32>,
                           %wg: tensor<8x128x64xbf16>,
                           %wu: tensor<8x128x64xbf16>,
                           %w: tensor<8x32x64xbf16>,
                           %init: tensor<?x128xf32>, %init2: tensor<?x32xf32>)
    -> (tensor<?x128xf32>, tensor<?x32xf32>) {
  %rows = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
            outs(%e : tensor<?x64xf32>)
  %h = moe.grouped_gated_matmul ins(%rows, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%rows, %w, %o : tensor<?x64xf32>, tensor<8x32x64xbf16>, tensor<9xi32>)
         outs(%init2 : tensor<?x32xf32>)
  return %h, %y : tensor<?x128xf32>, tensor<?x32xf32>
}

// -----

// The expert FFN's two steps: the permuted rows for gate and up, and the
// gated matmul's rows for the down projection, both bf16; the gated
// matmul's init a fresh bf16 tensor of its rows.
// CHECK-LABEL: func @expert_ffn
// CHECK:         %[[P:.+]] = moe.permute {{.+}} outs(%{{.+}} : tensor<?x64xbf16>)
// CHECK:         %[[C0:.+]] = arith.constant 0 : index
// CHECK:         %[[ROWS:.+]] = tensor.dim %{{.+}}, %[[C0]] : tensor<?x128xf32>
// CHECK:         %[[EMPTY:.+]] = tensor.empty(%[[ROWS]]) : tensor<?x128xbf16>
// CHECK:         %[[H:.+]] = moe.grouped_gated_matmul ins(%[[P]], %{{.+}} : tensor<?x64xbf16>, tensor<9xi32>) gate({{.+}}) up({{.+}}) outs(%[[EMPTY]] : tensor<?x128xbf16>)
// CHECK:         moe.grouped_matmul ins(%[[H]], %{{.+}}, %{{.+}} : tensor<?x128xbf16>, tensor<8x64x128xbf16>, tensor<9xi32>) outs(%{{.+}} : tensor<?x64xf32>)
func.func @expert_ffn(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                      %o: tensor<9xi32>, %e: tensor<?x64xf32>,
                      %wg: tensor<8x128x64xbf16>, %wu: tensor<8x128x64xbf16>,
                      %wd: tensor<8x64x128xbf16>,
                      %init: tensor<?x128xf32>, %out: tensor<?x64xf32>)
    -> tensor<?x64xf32> {
  %rows = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
            outs(%e : tensor<?x64xf32>)
  %h = moe.grouped_gated_matmul ins(%rows, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x128xf32>, tensor<8x64x128xbf16>, tensor<9xi32>)
         outs(%out : tensor<?x64xf32>)
  return %y : tensor<?x64xf32>
}

// -----

// A gated matmul on F32 weights keeps f32 rows (its FFMA epilogue stores
// f32), whatever reads them.
// CHECK-LABEL: func @f32_gated
// CHECK:         moe.grouped_gated_matmul {{.+}} outs(%{{.+}} : tensor<?x128xf32>)
func.func @f32_gated(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                     %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                     %wd: tensor<8x64x128xbf16>,
                     %init: tensor<?x128xf32>, %out: tensor<?x64xf32>)
    -> tensor<?x64xf32> {
  %h = moe.grouped_gated_matmul ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  %y = moe.grouped_matmul ins(%h, %wd, %o : tensor<?x128xf32>, tensor<8x64x128xbf16>, tensor<9xi32>)
         outs(%out : tensor<?x64xf32>)
  return %y : tensor<?x64xf32>
}

// -----

// F16 weights: f16 rows.
// CHECK-LABEL: func @f16
// CHECK:         moe.permute {{.+}} outs(%{{.+}} : tensor<?x64xf16>)
// CHECK:         moe.grouped_matmul ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<?x64xf16>, tensor<8x32x64xf16>, tensor<9xi32>)
func.func @f16(%x: tensor<?x64xf32>, %t: tensor<?xi32>, %o: tensor<9xi32>,
               %e: tensor<?x64xf32>, %w: tensor<8x32x64xf16>,
               %init: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %rows = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
            outs(%e : tensor<?x64xf32>)
  %y = moe.grouped_matmul ins(%rows, %w, %o : tensor<?x64xf32>, tensor<8x32x64xf16>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  return %y : tensor<?x32xf32>
}

// -----

// Rows that are not narrowed: F32 weights (an FFMA kernel, or TF32, reads
// f32); readers of two operand types; a reader other than a matmul's input
// (the rows are returned); a matmul over other segments (it could read
// rows the permute leaves as they were); rows of 27 columns, which 16-byte
// pieces of bf16 do not divide; a reader accumulating in f64 (not a
// tensor-core matmul).
// CHECK-LABEL: func @kept
// CHECK-NOT:     tensor<?x{{[0-9]+}}x{{b?}}f16>
// CHECK:         return
func.func @kept(%x: tensor<?x64xf32>, %t: tensor<?xi32>, %o: tensor<9xi32>,
                %o2: tensor<9xi32>, %e: tensor<?x64xf32>,
                %wf: tensor<8x32x64xf32>, %wb: tensor<8x32x64xbf16>,
                %wh: tensor<8x32x64xf16>, %init: tensor<?x32xf32>,
                %x27: tensor<?x27xf32>, %e27: tensor<?x27xf32>,
                %w27: tensor<8x32x27xbf16>, %init64: tensor<?x32xf64>)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x64xf32>,
        tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf64>) {
  %f32 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
           outs(%e : tensor<?x64xf32>)
  %a = moe.grouped_matmul ins(%f32, %wf, %o : tensor<?x64xf32>, tensor<8x32x64xf32>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  %mixed = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
             outs(%e : tensor<?x64xf32>)
  %b = moe.grouped_matmul ins(%mixed, %wb, %o : tensor<?x64xf32>, tensor<8x32x64xbf16>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  %c = moe.grouped_matmul ins(%mixed, %wh, %o : tensor<?x64xf32>, tensor<8x32x64xf16>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  %returned = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
                outs(%e : tensor<?x64xf32>)
  %d = moe.grouped_matmul ins(%returned, %wb, %o : tensor<?x64xf32>, tensor<8x32x64xbf16>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  %other = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
             outs(%e : tensor<?x64xf32>)
  %g = moe.grouped_matmul ins(%other, %wb, %o2 : tensor<?x64xf32>, tensor<8x32x64xbf16>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  %ragged = moe.permute ins(%x27, %t, %o : tensor<?x27xf32>, tensor<?xi32>, tensor<9xi32>)
              outs(%e27 : tensor<?x27xf32>)
  %r = moe.grouped_matmul ins(%ragged, %w27, %o : tensor<?x27xf32>, tensor<8x32x27xbf16>, tensor<9xi32>)
         outs(%init : tensor<?x32xf32>)
  %wide = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
            outs(%e : tensor<?x64xf32>)
  %f64 = moe.grouped_matmul ins(%wide, %wb, %o : tensor<?x64xf32>, tensor<8x32x64xbf16>, tensor<9xi32>)
           outs(%init64 : tensor<?x32xf64>)
  return %a, %b, %c, %returned, %g, %r, %f64
      : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x64xf32>,
        tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf64>
}

// -----

// moe-split-grouped-matmul-k's parts: the down projection in two slices of
// K, each part reading a slice of the gated matmul's rows (and their count
// by tensor.dim). The rows narrow as for one reader, and the slices take
// bf16 with them.
// CHECK-LABEL: func @split_down_projection
// CHECK:         %[[H:.+]] = moe.grouped_gated_matmul {{.+}} outs(%{{.+}} : tensor<?x128xbf16>)
// CHECK:         %[[ROWS:.+]] = tensor.dim %[[H]], %{{.+}} : tensor<?x128xbf16>
// CHECK:         %[[LOW:.+]] = tensor.extract_slice %[[H]][0, 0] [%[[ROWS]], 64] [1, 1] : tensor<?x128xbf16> to tensor<?x64xbf16>
// CHECK:         %[[HIGH:.+]] = tensor.extract_slice %[[H]][0, 64] [%[[ROWS]], 64] [1, 1] : tensor<?x128xbf16> to tensor<?x64xbf16>
// CHECK:         moe.grouped_matmul ins(%[[LOW]], %{{.+}}, %{{.+}} : tensor<?x64xbf16>, tensor<8x64x64xbf16>, tensor<9xi32>)
// CHECK:         moe.grouped_matmul ins(%[[HIGH]], %{{.+}}, %{{.+}} : tensor<?x64xbf16>, tensor<8x64x64xbf16>, tensor<9xi32>)
func.func @split_down_projection(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                 %o: tensor<9xi32>, %e: tensor<?x64xf32>,
                                 %wg: tensor<8x128x64xbf16>,
                                 %wu: tensor<8x128x64xbf16>,
                                 %wd0: tensor<8x64x64xbf16>,
                                 %wd1: tensor<8x64x64xbf16>,
                                 %init: tensor<?x128xf32>,
                                 %out0: tensor<?x64xf32>,
                                 %out1: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %rows = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
            outs(%e : tensor<?x64xf32>)
  %h = moe.grouped_gated_matmul ins(%rows, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>)
         outs(%init : tensor<?x128xf32>) activation<silu>
  %n = tensor.dim %h, %c0 : tensor<?x128xf32>
  %low = tensor.extract_slice %h[0, 0] [%n, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %high = tensor.extract_slice %h[0, 64] [%n, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %y0 = moe.grouped_matmul ins(%low, %wd0, %o : tensor<?x64xf32>, tensor<8x64x64xbf16>, tensor<9xi32>)
          outs(%out0 : tensor<?x64xf32>)
  %y1 = moe.grouped_matmul ins(%high, %wd1, %o : tensor<?x64xf32>, tensor<8x64x64xbf16>, tensor<9xi32>)
          outs(%out1 : tensor<?x64xf32>)
  return %y0, %y1 : tensor<?x64xf32>, tensor<?x64xf32>
}
