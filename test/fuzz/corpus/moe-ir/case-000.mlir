func.func @router(%x: tensor<?x64xf32>, %w: tensor<8x64xbf16>, %b: tensor<8xf32>,
                  %init: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>) {
  %0 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xbf16>)
         outs(%init : tensor<?x8xf32>) scoring<softmax>
  %1 = moe.router ins(%x, %w : tensor<?x64xf32>, tensor<8x64xbf16>)
         bias(%b : tensor<8xf32>) outs(%init : tensor<?x8xf32>) scoring<sigmoid>
  return %0, %1 : tensor<?x8xf32>, tensor<?x8xf32>
}

func.func @top_k(%s: tensor<?x64xf32>, %bias: tensor<64xf32>,
                 %w: tensor<?x8xf32>, %i: tensor<?x8xi32>)
    -> (tensor<?x8xf32>, tensor<?x8xi32>, tensor<?x8xf32>, tensor<?x8xi32>) {
  %w0, %i0 = moe.top_k ins(%s : tensor<?x64xf32>)
               outs(%w, %i : tensor<?x8xf32>, tensor<?x8xi32>)
  %w1, %i1 = moe.top_k ins(%s : tensor<?x64xf32>) bias(%bias : tensor<64xf32>)
               outs(%w, %i : tensor<?x8xf32>, tensor<?x8xi32>)
               {normalize, num_groups = 8 : i64, top_k_groups = 4 : i64,
                scaling_factor = 2.5 : f32}
  return %w0, %i0, %w1, %i1 : tensor<?x8xf32>, tensor<?x8xi32>, tensor<?x8xf32>, tensor<?x8xi32>
}

func.func @dispatch(%idx: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                    %c: tensor<8xi32>, %o: tensor<9xi32>, %t: tensor<?xi32>,
                    %rw: tensor<?xf32>)
    -> (tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>) {
  %0:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
  %1:4 = moe.dispatch ins(%idx, %w : tensor<?x2xi32>, tensor<?x2xf32>)
           outs(%c, %o, %t, %rw : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>)
           {capacity_factor = 1.25 : f64}
  return %1#0, %1#1, %0#2, %0#3 : tensor<8xi32>, tensor<9xi32>, tensor<?xi32>, tensor<?xf32>
}

func.func @permute(%x: tensor<?x64xf32>, %t: tensor<?xi32>, %o: tensor<9xi32>,
                   %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

func.func @grouped_matmul(%x: tensor<?x64xf32>, %w: tensor<8x128x64xf16>,
                          %o: tensor<9xi32>, %b: tensor<8x128xf32>,
                          %init: tensor<?x128xf32>) -> (tensor<?x128xf32>, tensor<?x128xf32>) {
  %0 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         outs(%init : tensor<?x128xf32>)
  %1 = moe.grouped_matmul ins(%x, %w, %o : tensor<?x64xf32>, tensor<8x128x64xf16>, tensor<9xi32>)
         bias(%b : tensor<8x128xf32>) outs(%init : tensor<?x128xf32>)
  return %0, %1 : tensor<?x128xf32>, tensor<?x128xf32>
}

func.func @expert_ffn(%x: tensor<?x64xf32>, %o: tensor<9xi32>,
                      %wg: tensor<8x128x64xf32>, %wu: tensor<8x128x64xf32>,
                      %wd: tensor<8x64x128xf32>, %bf: tensor<8x128xf32>,
                      %bd: tensor<8x64xf32>, %init: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<silu>
  %1 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         up_bias(%bf : tensor<8x128xf32>) down_bias(%bd : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<relu>
  %2 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) gate_bias(%bf : tensor<8x128xf32>)
         up_bias(%bf : tensor<8x128xf32>) down_bias(%bd : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) activation<swiglu_oai>
         {swiglu_alpha = 1.702 : f32, swiglu_limit = 7.0 : f32}
  return %0, %1, %2 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

func.func @combine(%h: tensor<?x64xf32>, %t: tensor<?xi32>, %rw: tensor<?xf32>,
                   %o: tensor<9xi32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = moe.combine ins(%h, %t, %rw, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xf32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return %0 : tensor<?x64xf32>
}

func.func @layer(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>, %b: tensor<8xf32>,
                 %wg: tensor<8x128x64xbf16>, %wu: tensor<8x128x64xbf16>,
                 %wd: tensor<8x64x128xbf16>, %bf: tensor<8x128xf32>,
                 %bd: tensor<8x64xf32>, %init: tensor<?x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %0 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         gate(%wg : tensor<8x128x64xbf16>) up(%wu : tensor<8x128x64xbf16>)
         down(%wd : tensor<8x64x128xbf16>) outs(%init : tensor<?x64xf32>)
         top_k(2) scoring<softmax> activation<silu> {normalize}
  %1 = moe.layer ins(%x : tensor<?x64xf32>) router(%wr : tensor<8x64xf32>)
         router_bias(%b : tensor<8xf32>) selection_bias(%b : tensor<8xf32>)
         up(%wu : tensor<8x128x64xbf16>) down(%wd : tensor<8x64x128xbf16>)
         up_bias(%bf : tensor<8x128xf32>) down_bias(%bd : tensor<8x64xf32>)
         outs(%init : tensor<?x64xf32>) top_k(1) scoring<sigmoid>
         activation<gelu_tanh>
         {capacity_factor = 1.25 : f64, num_groups = 4 : i64,
          top_k_groups = 2 : i64, scaling_factor = 2.5 : f32}
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xf32>
}

func.func @static_tokens(%x: tensor<7x16xf32>, %wr: tensor<4x16xf32>,
                         %wu: tensor<4x32x16xf32>, %wd: tensor<4x16x32xf32>,
                         %init: tensor<7x16xf32>) -> tensor<7x16xf32> {
  %0 = moe.layer ins(%x : tensor<7x16xf32>) router(%wr : tensor<4x16xf32>)
         up(%wu : tensor<4x32x16xf32>) down(%wd : tensor<4x16x32xf32>)
         outs(%init : tensor<7x16xf32>) top_k(4) scoring<softmax> activation<gelu>
  return %0 : tensor<7x16xf32>
}
