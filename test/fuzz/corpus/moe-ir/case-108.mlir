func.func @expert_ffn_infinite_swiglu_limit(%x: tensor<?x64xf32>,
                                            %o: tensor<9xi32>,
                                            %wg: tensor<8x128x64xf32>,
                                            %wu: tensor<8x128x64xf32>,
                                            %wd: tensor<8x64x128xf32>,
                                            %init: tensor<?x64xf32>) {
  %0 = moe.expert_ffn ins(%x, %o : tensor<?x64xf32>, tensor<9xi32>)
         gate(%wg : tensor<8x128x64xf32>) up(%wu : tensor<8x128x64xf32>)
         down(%wd : tensor<8x64x128xf32>) outs(%init : tensor<?x64xf32>)
         activation<swiglu_oai> {swiglu_limit = 0x7F800000 : f32}
  return
}
