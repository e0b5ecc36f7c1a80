func.func @permute_token_ids_rank(%x: tensor<?x64xf32>, %t: tensor<?x1xi32>,
                                  %o: tensor<9xi32>, %init: tensor<?x64xf32>) {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?x1xi32>, tensor<9xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}
