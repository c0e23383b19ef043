#include "plugin_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "../../include/vidgraph/op.h"
#include "../kernels/kernel.h"
#include "../video/ffmpeg.h"

namespace vg {

namespace {

[[noreturn]] void pluginError(const std::string& path, const std::string& what) {
  throw VgError("ERR_PLUGIN", "plugin '" + path + "': " + what);
}

// Memory plugins allocate for their outputs; owned by the engine once execute() returns.
thread_local std::vector<void*>* callAllocations = nullptr;

void* hostAlloc(uint64_t size) {
  void* p = std::aligned_alloc(64, (static_cast<size_t>(size) + 63) / 64 * 64);
  if (p && callAllocations) callAllocations->push_back(p);
  return p;
}

void hostLog(int32_t level, const char* message) {
  if (level <= 1) std::fprintf(stderr, "[vidgraph plugin] %s\n", message);
}

const vg_host kHost = {VG_ABI_VERSION, &hostAlloc, &hostLog};

// What outlives the plugin's registration call: copies of its declarations.
struct PluginOp {
  std::string path;
  std::string name;
  vg_kernel_vtable vtable;
  void* opCtx;
  size_t stencilSize;
  size_t numInputs, numOutputs;
  std::vector<ColumnType> outputTypes;
};

class PluginKernel : public Kernel {
 public:
  PluginKernel(std::shared_ptr<PluginOp> op, const Args& args) : op_(std::move(op)) {
    char err[1024] = {0};
    const std::string& raw = args.raw();
    instance_ = op_->vtable.create(op_->opCtx, reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), &kHost, err, sizeof(err));
    if (!instance_) throw VgError("ERR_BAD_ARGUMENT", op_->name + ": " + (err[0] ? err : "the plugin could not create its kernel"));
    if (op_->vtable.new_stream && op_->vtable.new_stream(instance_, reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), err, sizeof(err)) != 0)
      throw VgError("ERR_BAD_ARGUMENT", op_->name + ": " + err);
  }
  ~PluginKernel() override {
    if (instance_) op_->vtable.destroy(instance_);
  }
  void reset() override {
    if (op_->vtable.reset) op_->vtable.reset(instance_);
  }
  std::vector<Column> execute(const std::vector<Column>& inputs, size_t rows) override {
    std::vector<std::vector<vg_element>> in(inputs.size());
    std::vector<const vg_element*> inPtrs;
    for (size_t c = 0; c < inputs.size(); c++) {
      for (const Element& e : inputs[c]) {
        vg_element v{};
        if (e.kind == Element::Kind::Frame) {
          const FrameData& f = e.frame;
          const int64_t es = static_cast<int64_t>(dtypeSize(f.dtype));
          v.kind = VG_ELEMENT_FRAME;
          v.frame = vg_frame{f.height, f.width, f.channels, static_cast<int32_t>(f.dtype), VG_DEVICE_CPU,
                             {f.width * f.channels * es, f.channels * es, es}, f.data};
        } else if (e.kind == Element::Kind::Bytes) {
          v.kind = VG_ELEMENT_BYTES;
          v.bytes = vg_bytes{e.bytes->data(), e.bytes->size()};
        }
        in[c].push_back(v);
      }
      inPtrs.push_back(in[c].data());
    }
    std::vector<std::vector<vg_element>> out(op_->numOutputs, std::vector<vg_element>(rows));
    std::vector<vg_element*> outPtrs;
    for (auto& col : out) outPtrs.push_back(col.data());
    std::vector<void*> allocations;
    callAllocations = &allocations;
    char err[1024] = {0};
    const int32_t status = op_->vtable.execute(instance_, inPtrs.data(), inPtrs.size(), rows, outPtrs.data(), err, sizeof(err));
    callAllocations = nullptr;
    auto freeAll = [&]() {
      for (void* p : allocations) std::free(p);
    };
    if (status != 0) {
      freeAll();
      throw VgError("ERR_KERNEL", op_->name + ": " + (err[0] ? err : "the plugin kernel failed"));
    }
    // Take ownership of every allocation; frames keep theirs alive, the rest is freed now.
    std::unordered_map<void*, std::shared_ptr<void>> owned;
    for (void* p : allocations) owned.emplace(p, std::shared_ptr<void>(p, [](void* q) { std::free(q); }));
    std::vector<Column> result(op_->numOutputs);
    for (size_t o = 0; o < op_->numOutputs; o++) {
      for (size_t r = 0; r < rows; r++) {
        const vg_element& v = out[o][r];
        if (v.kind == VG_ELEMENT_FRAME) {
          const vg_frame& f = v.frame;
          FrameData fd;
          fd.height = f.height;
          fd.width = f.width;
          fd.channels = f.channels;
          fd.dtype = static_cast<DType>(f.dtype);
          fd.data = f.data;
          const int64_t es = static_cast<int64_t>(dtypeSize(fd.dtype));
          auto it = owned.find(f.data);
          if (it == owned.end() || f.strides[0] != f.width * f.channels * es || f.strides[1] != f.channels * es)
            throw VgError("ERR_KERNEL", op_->name + ": output frames must be packed and allocated with Outputs::allocFrame (host->alloc)");
          fd.owner = it->second;
          result[o].push_back(Element::ofFrame(std::move(fd)));
        } else if (v.kind == VG_ELEMENT_BYTES) {
          result[o].push_back(Element::ofBytes(std::vector<uint8_t>(v.bytes.data, v.bytes.data + v.bytes.size)));
        } else {
          result[o].push_back(Element::null());
        }
      }
    }
    return result;
  }

 private:
  std::shared_ptr<PluginOp> op_;
  void* instance_ = nullptr;
};

struct RegistrationContext {
  std::string path;
  std::vector<std::string> names;
  std::string error;
};

int32_t registerFromPlugin(void* ctx, const vg_op_decl* d) {
  auto* rc = static_cast<RegistrationContext*>(ctx);
  if (!d || !d->name || !d->kernel.create || !d->kernel.destroy || !d->kernel.execute) {
    rc->error = "an op declaration is incomplete (name, create, destroy and execute are required)";
    return 1;
  }
  auto op = std::make_shared<PluginOp>();
  op->path = rc->path;
  op->name = d->name;
  op->vtable = d->kernel;
  op->opCtx = d->op_ctx;
  op->stencilSize = d->stencil_size ? d->stencil_size : 1;
  op->numInputs = d->num_inputs;
  op->numOutputs = d->num_outputs;
  OpSpec spec;
  spec.name = d->name;
  for (uint64_t i = 0; i < d->num_inputs; i++)
    spec.inputs.emplace_back(d->input_names[i], d->input_types[i] == VG_COLUMN_BYTES ? ColumnType::Bytes : ColumnType::Frame);
  for (uint64_t i = 0; i < d->num_outputs; i++)
    spec.outputs.emplace_back(d->output_names[i], d->output_types[i] == VG_COLUMN_BYTES ? ColumnType::Bytes : ColumnType::Frame);
  spec.stencil.clear();
  for (uint64_t i = 0; i < d->stencil_size; i++) spec.stencil.push_back(d->stencil[i]);
  if (spec.stencil.empty()) spec.stencil.push_back(0);
  spec.boundedState = d->bounded_state;
  spec.unboundedState = d->unbounded_state != 0;
  spec.batch = d->preferred_batch > 0 ? d->preferred_batch : 1;
  spec.protoMessage = d->proto_message ? d->proto_message : "";
  spec.plugin = rc->path;
  spec.variadic = d->variadic_inputs != 0;
  spec.factory = [op](const Args& args) { return std::make_unique<PluginKernel>(op, args); };
  registerOp(std::move(spec));
  rc->names.push_back(d->name);
  return 0;
}

std::mutex loadMutex;

}  // namespace

std::vector<std::string> loadPlugin(const std::string& path) {
  std::lock_guard<std::mutex> lock(loadMutex);
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = dlerror();
    pluginError(path, std::string("cannot be loaded as a shared library: ") + (e ? e : "unknown error"));
  }
  auto init = reinterpret_cast<vg_plugin_init_fn>(dlsym(handle, "vidgraph_plugin_init"));
  if (!init) {
    dlclose(handle);
    pluginError(path, "has no vidgraph_plugin_init symbol (define the plugin with VIDGRAPH_PLUGIN(...) from vidgraph/op.h)");
  }
  RegistrationContext rc{path, {}, {}};
  const vg_registry registry{VG_ABI_VERSION, &rc, &registerFromPlugin};
  char err[1024] = {0};
  const uint32_t version = init(VG_ABI_VERSION, &registry, &kHost, err, sizeof(err));
  if (version != VG_ABI_VERSION) {
    if (version == 0) pluginError(path, std::string("failed during registration: ") + (rc.error.empty() ? (err[0] ? err : "unknown error") : rc.error));
    pluginError(path, "was built for plugin ABI version " + std::to_string(version) + ", this engine has version " + std::to_string(VG_ABI_VERSION) +
                          " (rebuild it against this package's include/vidgraph/op.h)");
  }
  if (!rc.error.empty()) pluginError(path, rc.error);
  // The library stays loaded: its ops are in the registry for the life of the process.
  return rc.names;
}

}  // namespace vg
