/* Calls the stand-in driver (fake-libcuda.c, built into this program) with
 * arguments that a GPU's driver refuses, one rule broken at a time, and
 * with ones it takes, and prints what each call returned: the stand-in
 * must refuse exactly the former, or the tests that run compiled models
 * with it (variant-launches.test, no-gpu.test) would pass launches and
 * tensor maps a GPU refuses. Run with FAKE_CUDA=count. */
#include "fake-libcuda.c"

/* A BF16 [8, 128, 64] tensor's map, boxes of 64 x 128 x 1, 128-byte
 * swizzle, as the runtime makes one for W (innermost first), with one
 * argument changed by `edit`. */
struct MapArgs {
  void *map, *address;
  int type;
  unsigned rank;
  unsigned long long dims[5], strides[4];
  unsigned box[5], elementStrides[5];
  int interleave, swizzle, l2, fill;
};
_Alignas(64) static unsigned char mapStorage[256];
_Alignas(256) static unsigned char tensor[8 * 128 * 64 * 2 + 64];

static void tryMap(const char *what, void (*edit)(struct MapArgs *)) {
  struct MapArgs a = {mapStorage,
                      tensor,
                      9,
                      3,
                      {64, 128, 8},
                      {128, 16384},
                      {64, 128, 1},
                      {1, 1, 1},
                      0,
                      3,
                      3,
                      0};
  if (edit)
    edit(&a);
  printf("map %s: %d\n", what,
         cuTensorMapEncodeTiled(a.map, a.type, a.rank, a.address, a.dims,
                                a.strides, a.box, a.elementStrides,
                                a.interleave, a.swizzle, a.l2, a.fill));
}
static void mapMisaligned(struct MapArgs *a) { a->map = mapStorage + 32; }
static void addressMisaligned(struct MapArgs *a) { a->address = tensor + 8; }
static void emptyDim(struct MapArgs *a) { a->dims[1] = 0; }
static void oddStride(struct MapArgs *a) { a->strides[0] = 120; }
static void shortStride(struct MapArgs *a) { a->strides[1] = 8192; }
static void bigBox(struct MapArgs *a) { a->box[1] = 257; }
static void narrowBox(struct MapArgs *a) { a->box[0] = 4; }
static void wideBox(struct MapArgs *a) {
  a->dims[0] = 128;
  a->strides[0] = 256;
  a->strides[1] = 32768;
  a->box[0] = 128;
}
static void rankSix(struct MapArgs *a) { a->rank = 6; }
static void elementStride(struct MapArgs *a) { a->elementStrides[2] = 9; }
static void nanFillInt(struct MapArgs *a) {
  a->type = 1;
  a->fill = 1;
}

static void tryLaunch(const char *what, void *f, unsigned gx, unsigned gy,
                      unsigned bx, unsigned bz, unsigned shared) {
  void *params[1] = {0};
  printf("launch %s: %d\n", what,
         cuLaunchKernel(f, gx, gy, 1, bx, 1, bz, shared, 0, params, 0));
}

/* A module of PTX with one kernel that takes a pointer and a
 * grid-constant tensor map, as moe-compile --pipeline-options=format=isa
 * embeds one. */
static const char ptx[] = ".version 8.3\n.target sm_90a\n"
                          ".visible .entry mapped(\n"
                          "\t.param .u64 .ptr .align 1 mapped_param_0,\n"
                          "\t.param .align 64 .b8 mapped_param_1[128]\n"
                          ")\n.maxntid 128, 1, 1\n{\n\tret;\n}\n";

int main(void) {
  void *k = 0, *other = 0;
  unsigned long long pointer = 0;
  /* Each line in order with the stand-in's on stderr. */
  setvbuf(stdout, 0, _IONBF, 0);
  tryMap("as the runtime makes W's", 0);
  tryMap("at 32 bytes past 64", mapMisaligned);
  tryMap("of a tensor at 8 bytes past 16", addressMisaligned);
  tryMap("of an empty dimension", emptyDim);
  tryMap("with a stride of 120 bytes", oddStride);
  tryMap("with a stride shorter than the dimensions inside it", shortStride);
  tryMap("with a box of 257 rows", bigBox);
  tryMap("with a box row of 8 bytes", narrowBox);
  tryMap("with a box row of 256 bytes, swizzled by 128", wideBox);
  tryMap("of rank 6", rankSix);
  tryMap("with an element stride of 9", elementStride);
  tryMap("of integers filled with NaN", nanFillInt);

  cuModuleGetFunction(&k, (void *)1, "kernel");
  cuModuleGetFunction(&other, (void *)1, "other_kernel");
  tryLaunch("of 1 x 128 threads", k, 1, 1, 128, 1, 0);
  tryLaunch("of an empty grid", k, 0, 1, 128, 1, 0);
  tryLaunch("of 65536 grid rows", k, 1, 65536, 128, 1, 0);
  tryLaunch("of 1025 threads", k, 1, 1, 1025, 1, 0);
  tryLaunch("of 1 x 1 x 65 threads", k, 1, 1, 1, 65, 0);
  tryLaunch("with shared memory never allowed", k, 1, 1, 128, 1, 1024);
  printf("allow 227 KB and 1 byte: %d\n",
         cuFuncSetAttribute(k, 8, kDeviceSharedBytesPerBlock + 1));
  printf("allow 100000 bytes: %d\n", cuFuncSetAttribute(k, 8, 100000));
  tryLaunch("with the 100000 bytes allowed", k, 1, 1, 128, 1, 100000);
  tryLaunch("with 100001 bytes", k, 1, 1, 128, 1, 100001);
  tryLaunch("of another kernel with the first's allowance", other, 1, 1, 128, 1,
            100000);
  {
    /* 128-byte parameters: the map made first; its address (what the
     * host code passed before the maps were grid constants); its first 64
     * bytes only. And the map's address as the pointer parameter. */
    void *module = 0, *mapped = 0, *address = mapStorage;
    unsigned char addressBytes[128] = {0}, halfMap[128] = {0};
    void *withMap[2] = {&pointer, mapStorage};
    void *withAddress[2] = {&pointer, addressBytes};
    void *withHalf[2] = {&pointer, halfMap};
    void *addressAsPointer[2] = {&address, mapStorage};
    memcpy(addressBytes, &address, sizeof address);
    memcpy(halfMap, mapStorage, 64);
    /* The stand-in prints these launches, with the maps they take. */
    setenv("FAKE_CUDA_LAUNCHES", "1", 1);
    cuModuleLoadData(&module, ptx);
    cuModuleGetFunction(&mapped, module, "mapped");
    printf("launch with the map made first: %d\n",
           cuLaunchKernel(mapped, 1, 1, 1, 128, 1, 1, 0, 0, withMap, 0));
    printf("launch with the map's address: %d\n",
           cuLaunchKernel(mapped, 1, 1, 1, 128, 1, 1, 0, 0, withAddress, 0));
    printf("launch with half the map: %d\n",
           cuLaunchKernel(mapped, 1, 1, 1, 128, 1, 1, 0, 0, withHalf, 0));
    printf(
        "launch with the map's address as the pointer: %d\n",
        cuLaunchKernel(mapped, 1, 1, 1, 128, 1, 1, 0, 0, addressAsPointer, 0));
    unsetenv("FAKE_CUDA_LAUNCHES");
  }
  printf("allocate 0 bytes: %d\n", cuMemAlloc_v2(&pointer, 0));
  printf("allocate 100 bytes: %d, 256-byte aligned: %d\n",
         cuMemAlloc_v2(&pointer, 100), pointer % 256 == 0);
  return 0;
}
