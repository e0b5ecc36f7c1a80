/* Runs a model library (moe-compile --emit=lib) through its C interface,
 * for the tests: reads each graph input from a float32 .npy file, runs the
 * model, and writes every output to OUTDIR/NAME.npy.
 *
 *   run-library [--weights FILE] [--save-prepared FILE] [--calls N]
 *               [--cuda-graphs] OUTDIR X.npy...
 *
 * --calls runs the model N times on the same inputs (the outputs of the
 * last written); --cuda-graphs asks for moe_model_use_cuda_graphs first.
 *
 * Built against the library's header (MODEL_HEADER) by the test. */
#include MODEL_HEADER

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *readNpy(const char *path, long long *rows, long long *cols) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  unsigned char magic[10];
  if (fread(magic, 1, 10, file) != 10 || memcmp(magic, "\x93NUMPY", 6)) {
    fclose(file);
    return NULL;
  }
  unsigned length = magic[8] | (magic[9] << 8);
  char *header = calloc(length + 1, 1);
  if (fread(header, 1, length, file) != length) {
    free(header);
    fclose(file);
    return NULL;
  }
  char *shape = strstr(header, "'shape': (");
  if (!shape || sscanf(shape, "'shape': (%lld, %lld)", rows, cols) != 2) {
    free(header);
    fclose(file);
    return NULL;
  }
  free(header);
  float *data = malloc((size_t)(*rows * *cols + 1) * sizeof(float));
  size_t count = (size_t)(*rows * *cols);
  if (fread(data, sizeof(float), count, file) != count) {
    free(data);
    fclose(file);
    return NULL;
  }
  fclose(file);
  return data;
}

static int writeNpy(const char *path, const float *data, long long rows,
                    long long cols) {
  char header[128];
  int length = snprintf(header, sizeof(header),
                        "{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (%lld, %lld), }",
                        rows, cols);
  int padded = (10 + length + 1 + 63) / 64 * 64 - 10;
  FILE *file = fopen(path, "wb");
  if (!file)
    return 1;
  unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              (unsigned char)(padded & 0xff),
                              (unsigned char)(padded >> 8)};
  fwrite(prefix, 1, 10, file);
  fwrite(header, 1, length, file);
  for (int i = length; i < padded - 1; ++i)
    fputc(' ', file);
  fputc('\n', file);
  fwrite(data, sizeof(float), (size_t)(rows * cols), file);
  return fclose(file) != 0;
}

int main(int argc, char **argv) {
  const char *weights = NULL, *save = NULL;
  int calls = 1, graphs = 0;
  int arg = 1;
  for (; arg + 1 < argc && argv[arg][0] == '-'; arg += 2) {
    if (!strcmp(argv[arg], "--cuda-graphs")) {
      graphs = 1;
      --arg;
    } else if (!strcmp(argv[arg], "--weights"))
      weights = argv[arg + 1];
    else if (!strcmp(argv[arg], "--save-prepared"))
      save = argv[arg + 1];
    else if (!strcmp(argv[arg], "--calls"))
      calls = atoi(argv[arg + 1]);
  }
  if (arg >= argc) {
    fprintf(stderr, "usage: run-library [--weights W] OUTDIR X.npy...\n");
    return 2;
  }
  const char *outdir = argv[arg++];
  moe_model *model = moe_model_load(weights);
  if (!model) {
    fprintf(stderr, "%s\n", moe_model_load_error());
    return 1;
  }
  if (graphs && moe_model_use_cuda_graphs(model) != 0) {
    fprintf(stderr, "%s\n", moe_model_error(model));
    return 1;
  }
  int inputs = moe_model_num_inputs(model);
  if (argc - arg != inputs) {
    fprintf(stderr, "the model takes %d inputs\n", inputs);
    return 2;
  }
  const float **in = calloc(inputs + 1, sizeof(float *));
  long long tokens = 0;
  for (int i = 0; i < inputs; ++i) {
    long long rows, cols;
    in[i] = readNpy(argv[arg + i], &rows, &cols);
    if (!in[i] || cols != moe_model_input_width(model, i)) {
      fprintf(stderr, "%s: not a [T, %lld] float32 array\n", argv[arg + i],
              (long long)moe_model_input_width(model, i));
      return 2;
    }
    tokens = rows;
  }
  int outputs = moe_model_num_outputs(model);
  float **out = calloc(outputs + 1, sizeof(float *));
  for (int i = 0; i < outputs; ++i)
    out[i] = malloc((size_t)(moe_model_output_rows(model, i, tokens) *
                                 moe_model_output_width(model, i) +
                             1) *
                    sizeof(float));
  for (int call = 0; call < calls; ++call)
    if (moe_model_forward(model, tokens, in, out) != 0) {
      fprintf(stderr, "%s\n", moe_model_error(model));
      return 1;
    }
  for (int i = 0; i < outputs; ++i) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.npy", outdir,
             moe_model_output_name(model, i));
    if (writeNpy(path, out[i], moe_model_output_rows(model, i, tokens),
                 moe_model_output_width(model, i))) {
      fprintf(stderr, "cannot write %s\n", path);
      return 1;
    }
    printf("%s [%lld, %lld]\n", moe_model_output_name(model, i),
           (long long)moe_model_output_rows(model, i, tokens),
           (long long)moe_model_output_width(model, i));
  }
  if (save && moe_model_save_prepared(model, save) != 0) {
    fprintf(stderr, "%s\n", moe_model_error(model));
    return 1;
  }
  moe_model_free(model);
  for (int i = 0; i < inputs; ++i)
    free((void *)in[i]);
  for (int i = 0; i < outputs; ++i)
    free(out[i]);
  free(in);
  free(out);
  return 0;
}
