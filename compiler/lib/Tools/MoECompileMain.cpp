//===- MoECompileMain.cpp - The moe-compile driver --------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//
//
// This file implements moe-compile: it reads and validates a moe-graph JSON
// model, imports it into the MoE dialect, runs the CPU pipeline, translates
// to LLVM IR, optimises and emits an object for the host CPU, and links it
// with the runtime into an executable. The model's JSON text and the
// parameter arena's size are embedded in the object, so the executable
// works from any directory.
//
//===----------------------------------------------------------------------===//

#include "moe/Tools/MoECompileMain.h"
#include "moe/ABI/ABI.h"
#include "moe/Codegen/CPU/Passes.h"
#include "moe/Dialect/MoE/IR/MoEDialect.h"
#include "moe/Frontend/ModelImporter.h"
#include "moe/Pipelines/Pipelines.h"
#include "moe/Model/ModelSpec.h"
#include "moe/Tools/Config.h"
#include "moe/Tools/CostReport.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::moe;

namespace {

enum class EmitKind {
  MLIR,
  LoweredMLIR,
  LLVM,
  Object,
  Executable,
  Library,
  PTX
};
enum class TargetKind { CPU, NVPTX };

/// Writes the PTX of every `gpu.binary` in `module` (one per kernel module)
/// to `os`; false when there is none.
bool printPTX(ModuleOp module, llvm::raw_ostream &os) {
  bool found = false;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute object : binary.getObjectsAttr()) {
      auto gpuObject = dyn_cast<gpu::ObjectAttr>(object);
      if (!gpuObject ||
          gpuObject.getFormat() != gpu::CompilationTarget::Assembly)
        continue;
      os << gpuObject.getObject().getValue();
      found = true;
    }
  });
  return found;
}

/// Prints warning `diag` as `FILE:LINE:COL: warning: node 'NAME': message`:
/// the importer names each op's location after the model's node.
void printWarning(Diagnostic &diag, llvm::raw_ostream &os) {
  Location loc = diag.getLocation();
  StringRef node;
  if (auto named = dyn_cast<NameLoc>(loc)) {
    node = named.getName().getValue();
    loc = named.getChildLoc();
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    os << file.getFilename().getValue() << ":" << file.getLine() << ":"
       << file.getColumn() << ": ";
  os << "warning: ";
  if (!node.empty())
    os << "node '" << node << "': ";
  os << diag << "\n";
}

/// Prints `moe-compile: error: message` and returns the failing exit code.
int reportError(const llvm::Twine &message) {
  llvm::errs() << "moe-compile: error: " << message << "\n";
  return 1;
}

/// Prints a message of the runtime library, which is already a complete
/// diagnostic (`FILE: error: ...`), and returns the failing exit code.
int reportModelError(const std::string &message) {
  llvm::errs() << message << "\n";
  return 1;
}

/// A target machine for the host CPU, with all of its features (the
/// equivalent of -march=native), emitting position-independent code.
std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(
    std::string &error) {
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  llvm::SubtargetFeatures features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature.first(), feature.second);
  llvm::TargetOptions options;
  // Fuse multiplies and adds into FMAs: the vectorizer emits them apart.
  options.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(), options,
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
}

void addStringGlobal(llvm::Module &module, llvm::StringRef name,
                     llvm::StringRef value) {
  llvm::Constant *init = llvm::ConstantDataArray::getString(
      module.getContext(), value, /*AddNull=*/true);
  new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, init, name);
}

/// Defines the constant `width`-bit integer global `name`.
void addIntegerGlobal(llvm::Module &module, llvm::StringRef name,
                      unsigned width, uint64_t value) {
  llvm::Type *type = llvm::Type::getIntNTy(module.getContext(), width);
  new llvm::GlobalVariable(module, type, /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(type, value), name);
}

/// Writes `module` to `path` ("-" is stdout).
int writeText(llvm::StringRef path,
              llvm::function_ref<void(llvm::raw_ostream &)> print) {
  std::string error;
  auto output = openOutputFile(path, &error);
  if (!output)
    return reportError(error);
  print(output->os());
  output->keep();
  return 0;
}

/// Links `object` with the runtime into the executable `output` (with
/// `library`, a shared library with the C interface of moe_model.h, and
/// that header beside it as OUTPUT.h), with the OpenMP runtime when the
/// code uses threads (CPU code does).
int linkExecutable(const char *argv0, llvm::StringRef object,
                   llvm::StringRef output, bool openMP, bool library) {
  std::string self = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&moeCompileMain));
  llvm::SmallString<256> libDir(llvm::sys::path::parent_path(self));
  llvm::sys::path::append(libDir, "..", "lib");
  llvm::SmallString<256> runtimeMain(libDir), runtime(libDir),
      modelLibrary(libDir);
  llvm::sys::path::append(runtimeMain, library ? "libMoERuntimeLibrary.a"
                                               : "libMoERuntimeMain.a");
  llvm::sys::path::append(runtime, "libMoERuntime.a");
  llvm::sys::path::append(modelLibrary, "libMoEModel.a");
  for (llvm::StringRef lib :
       {runtimeMain.str(), runtime.str(), modelLibrary.str()})
    if (!llvm::sys::fs::exists(lib))
      return reportError("runtime library not found: " + lib);

  llvm::SmallVector<llvm::StringRef> args = {kHostCXXCompiler, object};
  // A library's interface is what nothing in it calls: every member of its
  // archive goes in.
  if (library)
    args.append({"-Wl,--whole-archive", runtimeMain, "-Wl,--no-whole-archive"});
  else
    args.push_back(runtimeMain);
  args.append({runtime, modelLibrary, "-lm", "-o", output});
  // GPU executables then depend on the C and C++ libraries alone, and run
  // on a GPU machine without LLVM's libomp.
  if (openMP)
    args.push_back("-fopenmp");
  // A library binds its own symbols: two models loaded in one process each
  // call their own code.
  if (library)
    args.append({"-shared", "-Wl,-Bsymbolic"});
  llvm::SmallVector<llvm::StringRef> extraFlags;
  llvm::StringRef(kModelLinkFlags).split(extraFlags, ' ', -1, false);
  args.append(extraFlags.begin(), extraFlags.end());
  std::string error;
  int status = llvm::sys::ExecuteAndWait(kHostCXXCompiler, args, std::nullopt,
                                         {}, 0, 0, &error);
  if (status != 0)
    return reportError("linking " + output + " with " + kHostCXXCompiler +
                       " failed" + (error.empty() ? "" : ": " + error));
  if (library) {
    llvm::SmallString<256> header(llvm::sys::path::parent_path(self));
    llvm::sys::path::append(header, "..", "include", "moe_model.h");
    llvm::SmallString<256> headerOut(output);
    llvm::sys::path::replace_extension(headerOut, "h");
    if (std::error_code ec = llvm::sys::fs::copy_file(header, headerOut))
      return reportError("writing the C header " + headerOut + " from " +
                         header + ": " + ec.message());
  }
  return 0;
}

} // namespace

int mlir::moe::moeCompileMain(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  llvm::cl::OptionCategory category("moe-compile options");
  llvm::cl::opt<std::string> inputPath(llvm::cl::Positional,
                                       llvm::cl::desc("<model.json>"),
                                       llvm::cl::Required,
                                       llvm::cl::cat(category));
  llvm::cl::opt<std::string> outputPath(
      "o", llvm::cl::desc("Output file ('-' for stdout; text kinds only)"),
      llvm::cl::value_desc("file"), llvm::cl::init("-"),
      llvm::cl::cat(category));
  llvm::cl::opt<EmitKind> emit(
      "emit", llvm::cl::desc("What to produce"),
      llvm::cl::values(
          clEnumValN(EmitKind::MLIR, "mlir", "the MoE dialect, as imported"),
          clEnumValN(EmitKind::LoweredMLIR, "lowered-mlir",
                     "the LLVM dialect after the CPU pipeline"),
          clEnumValN(EmitKind::LLVM, "llvm", "optimised LLVM IR"),
          clEnumValN(EmitKind::Object, "obj", "an object file for this CPU"),
          clEnumValN(EmitKind::Executable, "exe",
                     "an executable linked with the runtime (default)"),
          clEnumValN(EmitKind::Library, "lib",
                     "a shared library with the C interface of moe_model.h "
                     "(written beside it as OUT.h)"),
          clEnumValN(EmitKind::PTX, "ptx",
                     "the kernels' PTX (--target=nvptx)")),
      llvm::cl::init(EmitKind::Executable), llvm::cl::cat(category));
  llvm::cl::opt<TargetKind> target(
      "target", llvm::cl::desc("What the model runs on"),
      llvm::cl::values(
          clEnumValN(TargetKind::CPU, "cpu", "this CPU (default)"),
          clEnumValN(TargetKind::NVPTX, "nvptx",
                     "an NVIDIA GPU, from this CPU (moe-nvptx-pipeline)")),
      llvm::cl::init(TargetKind::CPU), llvm::cl::cat(category));
  llvm::cl::opt<std::string> gpuArch(
      "gpu-arch",
      llvm::cl::desc("The GPU of --target=nvptx: sm_80, sm_90 or sm_90a"),
      llvm::cl::init("sm_90"), llvm::cl::cat(category));
  llvm::cl::opt<std::string> cudaToolkit(
      "cuda-toolkit",
      llvm::cl::desc("The CUDA toolkit of --target=nvptx (ptxas, libdevice); "
                     "default $CUDA_HOME, else /usr/local/cuda"),
      llvm::cl::cat(category));
  llvm::cl::opt<bool> gpuHostSemantics(
      "gpu-host-semantics",
      llvm::cl::desc("With --target=nvptx: compile the GPU schedule for this "
                     "CPU, its blocks and threads run as loops, to check what "
                     "the GPU code computes on a machine without a GPU"),
      llvm::cl::cat(category));
  llvm::cl::opt<bool> gpuTF32(
      "gpu-tf32",
      llvm::cl::desc("With --target=nvptx: expert and linear matmuls with F32 "
                     "weights round their activations and weights to TF32 "
                     "and run on tensor cores (faster; TF32 keeps 10 of "
                     "f32's 23 mantissa bits; moe-reference --tf32 computes "
                     "the same)"),
      llvm::cl::cat(category));
  llvm::cl::opt<bool> report(
      "report",
      llvm::cl::desc("Print the dense-vs-MoE cost report (parameters, "
                     "FLOPs and bytes per token) and stop"),
      llvm::cl::cat(category));
  llvm::cl::opt<bool> runtimeChecks(
      "runtime-checks",
      llvm::cl::desc("Compile bounds and size checks into the model code "
                     "(on by default in sanitizer builds of moe-compile)"),
      llvm::cl::init(kDefaultRuntimeChecks), llvm::cl::cat(category));
  llvm::cl::opt<bool> bf16Dot(
      "bf16-dot",
      llvm::cl::desc("Expert matmuls with BF16 weights round their "
                     "activations to BF16 and use the CPU's AVX-512 BF16 dot "
                     "products, accumulating in f32 (less accurate; faster "
                     "where the dot product outruns the CPU's FMAs; needs "
                     "AVX512-BF16)"),
      llvm::cl::cat(category));
  llvm::cl::opt<bool> amx(
      "amx",
      llvm::cl::desc("With --bf16-dot (implied): the expert matmuls' 16-row "
                     "tiles run on the CPU's AMX tile unit (tdpbf16ps); "
                     "gate and up become two grouped matmuls (needs "
                     "AMX-BF16 for an object or executable)"),
      llvm::cl::cat(category));
  llvm::cl::opt<bool> amxHostSemantics(
      "amx-host-semantics",
      llvm::cl::desc("With --amx: compute the AMX tiles with the vector "
                     "instructions instead (the same schedule, on a CPU "
                     "without AMX; for testing)"),
      llvm::cl::cat(category));
  llvm::cl::opt<std::string> pipelineOptionsText(
      "pipeline-options",
      llvm::cl::desc("Options of moe-cpu-pipeline (or moe-nvptx-pipeline "
                     "with --target=nvptx), as moe-opt takes them "
                     "(for experiments: 'fuse-gate-up=false', "
                     "'panel-width=16 row-tile=4'; see moe-opt --help)"),
      llvm::cl::value_desc("OPTIONS"), llvm::cl::cat(category));
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  llvm::cl::HideUnrelatedOptions(category);
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "moe-compile: compile a moe-graph JSON model ahead of time\n\n"
      "  moe-compile MODEL.json -o OUT    an executable for this CPU\n"
      "  OUT --input X.npy --output Y.npy [--weights FILE] [--bench N]\n");

  bool isNVPTX = target == TargetKind::NVPTX;
  if (emit == EmitKind::PTX && !isNVPTX)
    return reportError("--emit=ptx needs --target=nvptx");
  if (gpuHostSemantics && !isNVPTX)
    return reportError("--gpu-host-semantics needs --target=nvptx");
  if (gpuTF32 && !isNVPTX)
    return reportError("--gpu-tf32 needs --target=nvptx");
  if (isNVPTX && !gpuHostSemantics) {
    if (ptxFeaturesForArch(gpuArch).empty())
      return reportError("unsupported --gpu-arch '" + gpuArch +
                         "' (sm_80, sm_90 or sm_90a)");
    if (bf16Dot)
      return reportError("--bf16-dot is a CPU option");
    if (amx)
      return reportError("--amx is a CPU option");
    if (cudaToolkit.empty()) {
      const char *home = std::getenv("CUDA_HOME");
      cudaToolkit = home && *home ? home : "/usr/local/cuda";
    }
    if (!llvm::sys::fs::exists(libdevicePath(cudaToolkit)))
      return reportError("no CUDA toolkit at '" + cudaToolkit + "' (" +
                         libdevicePath(cudaToolkit) +
                         " is missing): name one with --cuda-toolkit or "
                         "CUDA_HOME");
  }
  bool isBinary = emit == EmitKind::Object || emit == EmitKind::Executable ||
                  emit == EmitKind::Library;
  if (isBinary && outputPath == "-" && !report)
    return reportError(
        "-o FILE is required for --emit=obj, --emit=exe and --emit=lib");
  if (amxHostSemantics && !amx)
    return reportError("--amx-host-semantics needs --amx");
  // --amx is the pair layout of --bf16-dot on other tiles.
  if (amx)
    bf16Dot = true;
  // Objects and executables run here: they can only use what this CPU has
  // (LLVM IR may be read, or compiled elsewhere, with --amx).
  llvm::StringMap<bool> hostFeatures = llvm::sys::getHostCPUFeatures();
  if (amx && !amxHostSemantics && isBinary &&
      !(hostFeatures.lookup("amx-tile") && hostFeatures.lookup("amx-bf16")))
    return reportError("--amx needs a CPU with AMX-BF16; this one (" +
                       llvm::sys::getHostCPUName().str() +
                       ") does not offer it (--amx-host-semantics computes the "
                       "same tiles without it)");
  // Code for this CPU (LLVM IR and beyond) can only use what it has.
  if (bf16Dot && emit != EmitKind::MLIR && emit != EmitKind::LoweredMLIR &&
      !report && !hostFeatures.lookup("avx512bf16"))
    return reportError(std::string(amx ? "--amx" : "--bf16-dot") +
                       " needs a CPU with AVX512-BF16; this one (" +
                       llvm::sys::getHostCPUName().str() + ") has none");

  // Parse, validate and resolve the model against its weights.
  llvm::SmallString<256> absolutePath(inputPath.getValue());
  llvm::sys::fs::make_absolute(absolutePath);
  // The text is read once: parsed here and embedded in the object.
  std::string modelText;
  ::moe::ModelSpec model;
  std::string error;
  if (!::moe::readFile(std::string(absolutePath), modelText, error) ||
      !::moe::parseModelSpec(modelText, std::string(absolutePath), model,
                             error) ||
      !::moe::resolveModelSpecWithWeights(model, "", error))
    return reportModelError(error);
  if (report) {
    printCostReport(model, llvm::outs());
    return 0;
  }

  DialectRegistry registry;
  registerMoEDialects(registry);
  MLIRContext context(registry);
  // Warnings (a tile that could not take a schedule option as asked) go to
  // stderr, as errors do; without a handler MLIR drops them.
  ScopedDiagnosticHandler printWarnings(&context, [](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Warning)
      return failure();
    printWarning(diag, llvm::errs());
    return success();
  });

  OwningOpRef<ModuleOp> module = importModel(&context, model, error);
  if (!module)
    return reportError(inputPath + ": " + error);
  if (emit == EmitKind::MLIR)
    return writeText(outputPath, [&](llvm::raw_ostream &os) {
      module->print(os);
      os << "\n";
    });

  PassManager pm(&context);
  if (failed(applyPassManagerCLOptions(pm)))
    return reportError("invalid pass manager options");
  std::string optionErrors;
  llvm::raw_string_ostream optionErrorStream(optionErrors);
  if (isNVPTX) {
    NVPTXPipelineOptions pipelineOptions;
    if (failed(pipelineOptions.parseFromString(pipelineOptionsText,
                                               optionErrorStream)))
      return reportError("invalid --pipeline-options '" + pipelineOptionsText +
                         "': " + optionErrors);
    pipelineOptions.gpuArch = gpuArch;
    if (!cudaToolkit.empty())
      pipelineOptions.cudaToolkit = cudaToolkit;
    pipelineOptions.hostSemantics = gpuHostSemantics;
    if (gpuTF32)
      pipelineOptions.tf32 = true;
    if (emit == EmitKind::PTX)
      pipelineOptions.binaryFormat = "isa";
    std::string optionError = verifyNVPTXPipelineOptions(pipelineOptions);
    if (!optionError.empty())
      return reportError(optionError);
    buildMoENVPTXPipeline(pm, pipelineOptions);
    if (failed(pm.run(*module)))
      return reportError(inputPath + ": the NVPTX pipeline failed");
    if (emit == EmitKind::PTX) {
      std::string ptx;
      llvm::raw_string_ostream ptxStream(ptx);
      if (!printPTX(*module, ptxStream))
        return reportError(inputPath + ": the model compiled to no kernel");
      return writeText(outputPath, [&](llvm::raw_ostream &os) { os << ptx; });
    }
  } else {
    CPUPipelineOptions pipelineOptions;
    if (failed(pipelineOptions.parseFromString(pipelineOptionsText,
                                               optionErrorStream)))
      return reportError("invalid --pipeline-options '" + pipelineOptionsText +
                         "': " + optionErrors);
    // The AVX512-BF16 check above covers --bf16-dot only.
    if (pipelineOptions.bf16Dot && !bf16Dot)
      return reportError("--pipeline-options: use --bf16-dot for bf16-dot");
    if ((pipelineOptions.amx && !amx) ||
        (pipelineOptions.amxHostSemantics && !amxHostSemantics))
      return reportError("--pipeline-options: use --amx and "
                         "--amx-host-semantics for amx");
    pipelineOptions.runtimeChecks =
        pipelineOptions.runtimeChecks || runtimeChecks;
    pipelineOptions.bf16Dot = bf16Dot;
    pipelineOptions.amx = amx;
    pipelineOptions.amxHostSemantics = amxHostSemantics;
    buildMoECPUPipeline(pm, pipelineOptions);
    if (failed(pm.run(*module)))
      return reportError(inputPath + ": the CPU pipeline failed");
  }

  // The compiled entry point and the runtime must agree on the arena.
  auto entry = module->lookupSymbol<LLVM::LLVMFuncOp>(kForwardEntryName);
  auto paramBytes =
      entry ? entry->getAttrOfType<IntegerAttr>(kParamBytesAttrName) : nullptr;
  if (!paramBytes || paramBytes.getInt() !=
                         static_cast<int64_t>(model.paramBytes))
    return reportError("internal error: the compiled parameter layout does "
                       "not match the runtime's");
  if (emit == EmitKind::LoweredMLIR)
    return writeText(outputPath, [&](llvm::raw_ostream &os) {
      module->print(os);
      os << "\n";
    });

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::unique_ptr<llvm::TargetMachine> targetMachine =
      createHostTargetMachine(error);
  if (!targetMachine)
    return reportError("no target for this host: " + error);

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, "moe-model");
  if (!llvmModule)
    return reportError("translation to LLVM IR failed");
  llvmModule->setTargetTriple(targetMachine->getTargetTriple());
  llvmModule->setDataLayout(targetMachine->createDataLayout());
  addIntegerGlobal(*llvmModule, MOE_ABI_VERSION_NAME, 32, MOE_ABI_VERSION);
  addStringGlobal(*llvmModule, MOE_ABI_MODEL_JSON_NAME, modelText);
  addStringGlobal(*llvmModule, MOE_ABI_MODEL_PATH_NAME, model.path);
  addIntegerGlobal(*llvmModule, MOE_ABI_PARAM_BYTES_NAME, 64,
                   model.paramBytes);
  std::string signature;
  for (const std::string &line : ::moe::compiledSignature(model))
    signature += line + "\n";
  addStringGlobal(*llvmModule, MOE_ABI_MODEL_SIGNATURE_NAME, signature);
  // The GPU schedule run on the host is CPU code.
  addStringGlobal(*llvmModule, MOE_ABI_TARGET_NAME,
                  isNVPTX && !gpuHostSemantics ? MOE_ABI_TARGET_NVPTX
                                               : MOE_ABI_TARGET_CPU);
  // What the runtime checks the CPU for before it calls the code (the
  // remainder rows of --amx run on the dot products of --bf16-dot).
  std::string cpuFeatures;
  if (amx && !amxHostSemantics)
    cpuFeatures =
        MOE_ABI_CPU_FEATURE_AMX_TILE "," MOE_ABI_CPU_FEATURE_AMX_BF16 ",";
  if (bf16Dot)
    cpuFeatures += MOE_ABI_CPU_FEATURE_AVX512BF16;
  addStringGlobal(*llvmModule, MOE_ABI_CPU_FEATURES_NAME, cpuFeatures);

  auto optimize = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                            targetMachine.get());
  if (llvm::Error err = optimize(llvmModule.get()))
    return reportError("LLVM optimisation failed: " +
                       llvm::toString(std::move(err)));
  if (emit == EmitKind::LLVM)
    return writeText(outputPath,
                     [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });

  // The object goes to -o, or to a temporary file for linking.
  llvm::SmallString<128> objectPath(outputPath);
  if (emit == EmitKind::Executable || emit == EmitKind::Library) {
    int fd;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "moe-model", "o", fd, objectPath))
      return reportError("cannot create a temporary object file: " +
                         ec.message());
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
  }
  {
    std::error_code ec;
    llvm::raw_fd_ostream objectStream(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return reportError("cannot write " + objectPath + ": " + ec.message());
    llvm::legacy::PassManager codegen;
    if (targetMachine->addPassesToEmitFile(codegen, objectStream, nullptr,
                                           llvm::CodeGenFileType::ObjectFile))
      return reportError("the host target cannot emit object files");
    codegen.run(*llvmModule);
  }
  if (emit == EmitKind::Object)
    return 0;
  // The GPU schedule's host code, and its host-semantics run, use no
  // OpenMP threads.
  int status = linkExecutable(argv[0], objectPath, outputPath,
                              /*openMP=*/!isNVPTX,
                              /*library=*/emit == EmitKind::Library);
  llvm::sys::fs::remove(objectPath);
  return status;
}
