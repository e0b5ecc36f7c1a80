//===- ModelSpec.h - The moe-graph v1 model description ---------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// The parsed and validated form of a moe-graph JSON model (docs/model-format.md),
// shared by the compiler's importer, the runtime and the test-only reference
// implementation. Parsing never throws: errors come back as a message naming
// the file, the node and what was expected against what was found.
//
// The same file defines the weight ABI: the ordered list of parameters that a
// compiled model's entry point reads, and their byte layout in one arena.
//
//===----------------------------------------------------------------------===//

#ifndef MOE_MODEL_MODELSPEC_H
#define MOE_MODEL_MODELSPEC_H

#include "moe/ABI/ABI.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace moe {

/// Element types of weights in a safetensors file: the types the compiled
/// code computes with.
enum class DType { F32, BF16, F16 };

/// Size in bytes of one element of `dtype`.
size_t dtypeSize(DType dtype);
/// "F32", "BF16" or "F16".
const char *dtypeName(DType dtype);

/// Every element type of the safetensors format. A weights file may hold
/// tensors of any of them (I64 `position_ids`, U8 quantisation blocks, ...);
/// only those of a DType can be weights.
enum class StorageDType {
  BOOL,
  U8,
  I8,
  U16,
  I16,
  U32,
  I32,
  U64,
  I64,
  F4,
  F6_E2M3,
  F6_E3M2,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  F16,
  BF16,
  F32,
  F64,
  C64,
};

/// The safetensors spelling of `dtype` ("I64", "F8_E4M3", ...).
const char *storageDTypeName(StorageDType dtype);
/// Size in bits of one element of `dtype` (4 and 6 for the packed F4 and
/// F6 types).
unsigned storageDTypeBits(StorageDType dtype);
/// Parses a safetensors dtype name; false for a name the format does not
/// define.
bool parseStorageDType(const std::string &name, StorageDType &dtype);
/// The compute type of `dtype`, or nothing for a dtype no weight can have.
std::optional<DType> toDType(StorageDType dtype);
/// `dtype` as a storage type.
StorageDType toStorageDType(DType dtype);

/// The operation of a graph node.
enum class NodeKind {
  Linear,
  RMSNorm,
  LayerNorm,
  Add,
  Mul,
  SiLU,
  GELU,
  GELUTanh,
  ReLU,
  MoE,
};

/// The JSON spelling of a node kind ("linear", "rms_norm", ...).
const char *nodeKindName(NodeKind kind);

/// The `router` object of a `moe` node.
struct RouterSpec {
  std::string weight;
  std::string scoring = "softmax";
  bool normalizeTopK = false;
  std::optional<std::string> bias;
  int64_t numGroups = 1;
  int64_t topKGroups = 1;
  double scalingFactor = 1.0;
  std::optional<std::string> linearBias;
  /// Training-time noisy gating: `{"weight": NAME, "seed": N}`.
  std::optional<std::string> noiseWeight;
  uint64_t noiseSeed = 0;
};

/// The `experts` object of a `moe` node. Names may hold `{e}`.
struct ExpertsSpec {
  std::string activation = "silu";
  bool gated = true;
  std::optional<std::string> gateProj;
  std::string upProj;
  std::string downProj;
  std::optional<std::string> gateBias, upBias, downBias;
  double alpha = 1.702;
  double limit = 7.0;
  /// Extension: gate and up projections fused in one tensor (`gate_up_proj`,
  /// `gate_up_bias`), split in halves (gate first) or interleaved (gate at
  /// even rows, up at odd ones, as gpt-oss stores them).
  std::optional<std::string> gateUpProj, gateUpBias;
  bool gateUpInterleaved = false;
  /// Extension: expert projection weights stored [in, out] (`x W`, gpt-oss)
  /// rather than nn.Linear's [out, in].
  bool weightsInOut = false;
};

/// The `shared_experts` object of a `moe` node: an always-on FFN.
struct SharedExpertsSpec {
  int64_t intermediateSize = 0;
  std::optional<std::string> gateProj;
  std::string upProj;
  std::string downProj;
  /// Weight [1, D] of the sigmoid gate on the shared output.
  std::optional<std::string> gate;
};

/// The `aux` object of a `moe` node: names of extra output values.
struct AuxSpec {
  std::optional<std::string> expertCounts;
  std::optional<std::string> loadBalancingLoss;
  std::optional<std::string> routerZLoss;
};

/// The fields of a `moe` node.
struct MoESpec {
  int64_t numExperts = 0;
  int64_t topK = 0;
  int64_t intermediateSize = 0;
  RouterSpec router;
  ExpertsSpec experts;
  std::optional<SharedExpertsSpec> sharedExperts;
  AuxSpec aux;
  std::optional<double> capacityFactor;
};

/// One node of the graph; `name` is the name of its output value.
struct NodeSpec {
  std::string name;
  NodeKind kind = NodeKind::Add;
  /// Index in the JSON `nodes` array, for messages.
  size_t index = 0;
  /// Value operands: one (`input`) or two (`inputs`).
  std::vector<std::string> inputs;
  /// `linear`, `rms_norm`, `layer_norm`: the weight and optional bias.
  std::string weight;
  std::optional<std::string> bias;
  /// `linear`: output width N (from `out_features` or the weights file).
  int64_t outFeatures = 0;
  /// Norms: epsilon.
  double eps = 1e-5;
  /// `moe` nodes only.
  MoESpec moe;
  /// Width of the output value, inferred during validation.
  int64_t width = 0;
};

/// A graph input: `[tokens, width]`.
struct InputSpec {
  std::string name;
  int64_t width = 0;
};

/// A graph output: a value name and its width.
struct OutputSpec {
  std::string name;
  int64_t width = 0;
  /// [tokens, width], or [1, width] for a moe node's aux outputs.
  bool perToken = true;
};

/// Where the weights come from.
struct WeightsSource {
  /// Absolute paths: one safetensors file, a Hugging Face index of shards
  /// (a ".json" file, see WeightFiles.h), or a list of shards; empty for
  /// random init.
  std::vector<std::string> files;
  /// Random init: seed and standard deviation.
  uint64_t seed = 0;
  double stdDev = 0.02;
  bool isRandom() const { return files.empty(); }
  /// How messages name the weights: the file or index, or a list's first
  /// shard and how many others there are.
  std::string describe() const;
};

/// What a parameter's random init draws from.
enum class InitKind { Normal, Ones, Zeros };

/// Where a parameter's slice lies in a larger source tensor (extension:
/// fused gate/up projections and [in, out] expert weights): element `p` of
/// the slice (a multi-index over `sliceShape`) is the source element `s`
/// with `s[dims[i]] = start[i] + step[i] * p[i]`.
struct SourceView {
  std::vector<int64_t> sliceShape;
  std::vector<int64_t> dims, start, step;
};

/// `count` consecutive elements of a parameter's slice, from element
/// `sliceOffset` on, and where they are in the source tensor: elements
/// `sourceOffset + i * sourceStride`.
struct SliceRun {
  uint64_t sliceOffset = 0, sourceOffset = 0, count = 0, sourceStride = 1;
};

/// One tensor parameter of the compiled entry point. A stacked expert
/// parameter gathers E tensors (`sourceNames[e]`) into one [E, ...] tensor.
struct ParamSpec {
  /// A unique, readable key: "<node>.<role>", e.g. "moe0.gate_proj".
  std::string key;
  /// Tensor names in the weights file; one, or E for a stacked parameter.
  std::vector<std::string> sourceNames;
  /// Shape of one source tensor.
  std::vector<int64_t> sourceShape;
  /// Set when each slice is a strided, permuted part of its source tensor;
  /// otherwise the slice is the whole source tensor.
  std::optional<SourceView> view;
  /// Shape of the parameter: the slice's shape (the view's, or
  /// sourceShape), with E prepended when stacked.
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  InitKind init = InitKind::Normal;
  /// Byte offset in the parameter arena (64-byte aligned).
  uint64_t offset = 0;
  uint64_t bytes() const;
  /// Elements of one slice, and of one source tensor.
  uint64_t sliceElements() const;
  uint64_t sourceElements() const;
  /// Calls `visit` for the runs that make up one slice, in row-major order:
  /// the whole slice without a view, else one run per innermost row.
  void forEachSliceRun(const std::function<void(const SliceRun &)> &visit) const;
};

/// A validated moe-graph model.
struct ModelSpec {
  std::string path;
  std::string name;
  std::string dtype = "f32";
  WeightsSource weights;
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs;
  std::vector<NodeSpec> nodes;
  /// The parameters of the entry point, in argument order, laid out in one
  /// arena of `paramBytes` bytes.
  std::vector<ParamSpec> params;
  uint64_t paramBytes = 0;
};

/// Shapes of the tensors in a weights file, to check a model against.
struct TensorShapeInfo {
  std::string name;
  /// The compute type; empty for a tensor of another safetensors dtype,
  /// which a model may not use as a weight.
  std::optional<DType> dtype;
  std::vector<int64_t> shape;
  /// The dtype as the file names it; consulted when `dtype` is empty.
  StorageDType storageDType = StorageDType::F32;
  /// The file holding it, for messages.
  std::string file;
};

/// Alignment of every tensor in the parameter, input and output arenas.
constexpr uint64_t kArenaAlignment = MOE_ABI_ARENA_ALIGNMENT;

/// Rounds `value` up to a multiple of kArenaAlignment.
uint64_t alignArenaOffset(uint64_t value);

/// Parses the model in `text`, read from `path` (used in messages and to
/// resolve a relative weights file): the structure, fields, names and
/// references. Widths and parameters are left to resolveModelSpec. Returns
/// false with a message in `error` on bad input.
bool parseModelSpec(const std::string &text, const std::string &path,
                    ModelSpec &model, std::string &error);

/// Infers every value's width and builds the parameter list and its arena
/// layout. With `fileTensors` (the tensors of the weights file), shapes the
/// JSON leaves open come from the file and every parameter is checked
/// against it; without it (random init) the JSON must give every shape.
bool resolveModelSpec(ModelSpec &model,
                      const std::vector<TensorShapeInfo> *fileTensors,
                      std::string &error);

/// Resolves a parsed model against the header of its weights file, or of
/// `weightsOverride` (a path relative to the working directory) when not
/// empty; a random-init model needs no file.
bool resolveModelSpecWithWeights(ModelSpec &model,
                                 const std::string &weightsOverride,
                                 std::string &error);

/// Reads `path`, parses it and resolves it with resolveModelSpecWithWeights.
bool loadModelSpec(const std::string &path, const std::string &weightsOverride,
                   ModelSpec &model, std::string &error);

/// What compiled code depends on, one entry per line: every input's and
/// output's width, then every parameter's key, dtype and shape, e.g.
/// `param m0.gate_proj F32 8x128x64`. moe-compile embeds it; the runtime
/// compares it with the model resolved against the weights it is given.
std::vector<std::string> compiledSignature(const ModelSpec &model);

/// Reads a whole file into `contents`.
bool readFile(const std::string &path, std::string &contents,
              std::string &error);

/// How many bytes of a user string messages quote.
constexpr size_t kMessageQuoteLimit = 120;
/// How long a path in a message may be before it is cut.
constexpr size_t kMessagePathLimit = 1024;

/// User text (a name, a field, a value, a header) quoted for a message:
/// `'TEXT'`, with control characters escaped (`\n`, `\t`, `\x1b`). Text of
/// more than kMessageQuoteLimit bytes is cut at a character boundary and
/// shows its length: `'PREFIX...' (50000000 bytes)`. Every message of the
/// runtime quotes user text through it, so none grows with its input.
std::string quoteForMessage(const std::string &text);

/// A file path for a message, unquoted: whole up to kMessagePathLimit
/// bytes; longer ones keep their start and their end (the file name):
/// `START...END (N bytes)`. Control characters are escaped.
std::string pathForMessage(const std::string &path);

} // namespace moe

#endif // MOE_MODEL_MODELSPEC_H
