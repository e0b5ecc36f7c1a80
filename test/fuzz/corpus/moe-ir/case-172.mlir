func.func @deepseek_like(%x: tensor<5x16xf32>, %wr: tensor<8x16xf32>,
                         %lb: tensor<8xf32>, %sb: tensor<8xf32>,
                         %wu: tensor<8x32x16xf32>, %wd: tensor<8x16x32xf32>,
                         %bu: tensor<8x32xf32>, %bd: tensor<8x16xf32>,
                         %init: tensor<5x16xf32>) -> tensor<5x16xf32> {
  %y = moe.layer ins(%x : tensor<5x16xf32>) router(%wr : tensor<8x16xf32>)
         router_bias(%lb : tensor<8xf32>) selection_bias(%sb : tensor<8xf32>)
         up(%wu : tensor<8x32x16xf32>) down(%wd : tensor<8x16x32xf32>)
         up_bias(%bu : tensor<8x32xf32>) down_bias(%bd : tensor<8x16xf32>)
         outs(%init : tensor<5x16xf32>) top_k(3) scoring<sigmoid>
         activation<relu>
         {capacity_factor = 1.25 : f64, num_groups = 4 : i64,
          top_k_groups = 2 : i64, scaling_factor = 2.5 : f32}
  return %y : tensor<5x16xf32>
}
