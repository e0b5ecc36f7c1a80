func.func @layer_nan_capacity(%x: tensor<?x64xf32>, %wr: tensor<8x64xf32>,
                              %wg: tensor<8x128x64xf32>,
                              %wu: tensor<8x128x64xf32>,
                              %wd: tensor<8x64x128xf32>,
                              %init: tensor<?x64xf32>) {
  %0 = moe.layer ins(%x : tensor<?x64xf32>)
         router(%wr : tensor<8x64xf32>) gate(%wg : tensor<8x128x64xf32>)
         up(%wu : tensor<8x128x64xf32>) down(%wd : tensor<8x64x128xf32>)
         outs(%init : tensor<?x64xf32>) top_k(2) scoring<softmax> activation<silu>
         {capacity_factor = 0x7FF8000000000000 : f64}
  return
}
