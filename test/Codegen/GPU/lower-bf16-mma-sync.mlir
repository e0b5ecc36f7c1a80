// RUN: moe-opt %s --moe-gpu-lower-bf16-mma-sync --split-input-file | FileCheck %s
// RUN: moe-opt %s --moe-gpu-lower-bf16-mma-sync --convert-nvgpu-to-nvvm --split-input-file | FileCheck %s --check-prefix=NVVM

// nvgpu.mma.sync m16n8k16 on bf16 becomes nvvm.mma.sync: each bf16 pair of
// a fragment is one 32-bit register (the first element in the low half,
// which vector.bitcast keeps), the four f32 accumulators go in and come
// back in order. Upstream's nvgpu lowering then has nothing left to do.

// CHECK-LABEL: func.func @bf16
// CHECK-SAME:    (%[[A:.+]]: vector<4x2xbf16>, %[[B:.+]]: vector<2x2xbf16>, %[[C:.+]]: vector<2x2xf32>)
// CHECK:         %[[A0:.+]] = vector.extract %[[A]][0] : vector<2xbf16> from vector<4x2xbf16>
// CHECK:         %[[A0W:.+]] = vector.bitcast %[[A0]] : vector<2xbf16> to vector<1xi32>
// CHECK:         %[[A0I:.+]] = vector.extract %[[A0W]][0] : i32 from vector<1xi32>
// CHECK:         vector.extract %[[A]][1]
// CHECK:         %[[A1I:.+]] = vector.extract %{{.+}}[0] : i32
// CHECK:         vector.extract %[[A]][2]
// CHECK:         %[[A2I:.+]] = vector.extract %{{.+}}[0] : i32
// CHECK:         vector.extract %[[A]][3]
// CHECK:         %[[A3I:.+]] = vector.extract %{{.+}}[0] : i32
// CHECK:         vector.extract %[[B]][0]
// CHECK:         %[[B0I:.+]] = vector.extract %{{.+}}[0] : i32
// CHECK:         vector.extract %[[B]][1]
// CHECK:         %[[B1I:.+]] = vector.extract %{{.+}}[0] : i32
// CHECK:         %[[C0:.+]] = vector.extract %[[C]][0, 0]
// CHECK:         %[[C1:.+]] = vector.extract %[[C]][0, 1]
// CHECK:         %[[C2:.+]] = vector.extract %[[C]][1, 0]
// CHECK:         %[[C3:.+]] = vector.extract %[[C]][1, 1]
// CHECK:         %[[D:.+]] = nvvm.mma.sync A[%[[A0I]], %[[A1I]], %[[A2I]], %[[A3I]]] B[%[[B0I]], %[[B1I]]] C[%[[C0]], %[[C1]], %[[C2]], %[[C3]]]
// CHECK-SAME:      layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>
// CHECK-SAME:      multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
// CHECK-SAME:      shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-SAME:      : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:         %[[D0:.+]] = llvm.extractvalue %[[D]][0]
// CHECK:         %[[D1:.+]] = llvm.extractvalue %[[D]][1]
// CHECK:         %[[D2:.+]] = llvm.extractvalue %[[D]][2]
// CHECK:         %[[D3:.+]] = llvm.extractvalue %[[D]][3]
// CHECK:         %[[R:.+]] = vector.from_elements %[[D0]], %[[D1]], %[[D2]], %[[D3]] : vector<2x2xf32>
// CHECK:         return %[[R]]

// NVVM-LABEL: func.func @bf16
// NVVM:         nvvm.mma.sync
// NVVM-NOT:     nvgpu.mma.sync
func.func @bf16(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>,
                %c: vector<2x2xf32>) -> vector<2x2xf32> {
  %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
      : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}

// -----

// Other element types are upstream's to lower.

// CHECK-LABEL: func.func @f16
// CHECK:         nvgpu.mma.sync
// CHECK-NOT:     nvvm.mma.sync
func.func @f16(%a: vector<4x2xf16>, %b: vector<2x2xf16>,
               %c: vector<2x2xf16>) -> vector<2x2xf16> {
  %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
      : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf16>) -> vector<2x2xf16>
  return %d : vector<2x2xf16>
}
