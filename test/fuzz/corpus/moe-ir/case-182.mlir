func.func @route(%x: tensor<?x64xf32>, %w: tensor<64x8xf32>, %b: tensor<8xf32>,
                 %we: tensor<?x2xf32>, %ie: tensor<?x2xi32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %0, %1 = moe.router_top_k ins(%x, %w : tensor<?x64xf32>, tensor<64x8xf32>)
             selection_bias(%b : tensor<8xf32>)
             outs(%we, %ie : tensor<?x2xf32>, tensor<?x2xi32>) scoring<sigmoid>
             {weight_layout = #moe.weight_layout<kn>, normalize, num_groups = 4 : i64, top_k_groups = 2 : i64}
  return %0, %1 : tensor<?x2xf32>, tensor<?x2xi32>
}
