func.func @permute_dynamic_offsets(%x: tensor<?x64xf32>, %t: tensor<?xi32>,
                                   %o: tensor<?xi32>, %init: tensor<?x64xf32>) {
  %0 = moe.permute ins(%x, %t, %o : tensor<?x64xf32>, tensor<?xi32>, tensor<?xi32>)
         outs(%init : tensor<?x64xf32>)
  return
}
