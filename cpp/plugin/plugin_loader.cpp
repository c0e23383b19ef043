#include "plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "../../include/vidgraph/op.h"
#include "../kernels/kernel.h"
#include "../video/ffmpeg.h"

namespace vg {

namespace {

// What a plugin may declare: enough for any sensible op, small enough that the engine's own
// arithmetic (rows × stencil, warm-up rows, batch buffers) stays far from overflow.
constexpr uint64_t kMaxColumns = 64;
constexpr uint64_t kMaxStencil = 1024;
constexpr int32_t kMaxStencilOffset = 1000000;
constexpr int32_t kMaxBoundedState = 1000000;
constexpr int32_t kMaxBatch = 1024;
constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxMessageLength = 512;
// OpenCV's limit on channels (CV_CN_MAX): no engine op can take a frame with more.
constexpr int32_t kMaxChannels = 512;

[[noreturn]] void pluginError(const std::string& path, const std::string& what) {
  throw VgError("ERR_PLUGIN", "plugin '" + path + "': " + what);
}

// Memory plugins allocate for their outputs during execute(), with its size: outputs must lie
// inside one of these. Owned by the engine once execute() returns.
struct Allocation {
  uint8_t* data;
  size_t size;
};
thread_local std::vector<Allocation>* callAllocations = nullptr;

void* hostAlloc(uint64_t size) {
  if (size > SIZE_MAX - 63) return nullptr;
  const size_t n = static_cast<size_t>(size);
  void* p = std::aligned_alloc(64, std::max<size_t>(64, (n + 63) / 64 * 64));
  if (p && callAllocations) {
    try {
      callAllocations->push_back({static_cast<uint8_t*>(p), n});
    } catch (...) {
      std::free(p);
      return nullptr;
    }
  }
  return p;
}

void hostLog(int32_t level, const char* message) {
  if (level <= 1 && message) std::fprintf(stderr, "[vidgraph plugin] %.*s\n", 4096, message);
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
  std::vector<std::pair<std::string, ColumnType>> outputs;
};

bool validDType(int32_t d) { return d >= VG_DTYPE_U8 && d <= VG_DTYPE_F64; }


class PluginKernel : public Kernel {
 public:
  PluginKernel(std::shared_ptr<PluginOp> op, const Args& args) : op_(std::move(op)) {
    char err[1024] = {0};
    const std::string& raw = args.raw();
    instance_ = op_->vtable.create(op_->opCtx, reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), &kHost, err, sizeof(err));
    err[sizeof(err) - 1] = '\0';
    if (!instance_) throw VgError("ERR_BAD_ARGUMENT", op_->name + ": " + (err[0] ? err : "the plugin could not create its kernel"));
    if (op_->vtable.new_stream && op_->vtable.new_stream(instance_, reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), err, sizeof(err)) != 0) {
      err[sizeof(err) - 1] = '\0';
      const std::string message = op_->name + ": " + err;
      op_->vtable.destroy(instance_);
      instance_ = nullptr;
      throw VgError("ERR_BAD_ARGUMENT", message);
    }
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
    std::vector<Allocation> allocations;
    callAllocations = &allocations;
    char err[1024] = {0};
    const int32_t status = op_->vtable.execute(instance_, inPtrs.data(), inPtrs.size(), rows, outPtrs.data(), err, sizeof(err));
    callAllocations = nullptr;
    err[sizeof(err) - 1] = '\0';
    // Take ownership of every allocation; frames keep theirs alive, the rest is freed on return.
    std::vector<std::pair<Allocation, std::shared_ptr<void>>> owned;
    for (const Allocation& a : allocations) owned.emplace_back(a, std::shared_ptr<void>(a.data, [](void* q) { std::free(q); }));
    if (status != 0) throw VgError("ERR_KERNEL", op_->name + ": " + (err[0] ? err : "the plugin kernel failed"));
    std::sort(owned.begin(), owned.end(), [](const auto& a, const auto& b) { return a.first.data < b.first.data; });
    std::vector<Column> result(op_->numOutputs);
    for (size_t o = 0; o < op_->numOutputs; o++) {
      for (size_t r = 0; r < rows; r++) result[o].push_back(outputElement(out[o][r], o, r, owned));
    }
    return result;
  }

 private:
  [[noreturn]] void outputError(size_t o, size_t r, const std::string& what) const {
    throw VgError("ERR_PLUGIN", op_->name + " (plugin '" + op_->path + "'): output '" + op_->outputs[o].first + "' row " + std::to_string(r) + ": " + what);
  }

  // The allocation holding [p, p + size): its owner, and how many bytes it has from p on.
  const std::pair<Allocation, std::shared_ptr<void>>* allocationAt(const uint8_t* p,
                                                                   const std::vector<std::pair<Allocation, std::shared_ptr<void>>>& owned) const {
    auto it = std::upper_bound(owned.begin(), owned.end(), p, [](const uint8_t* q, const auto& a) { return q < a.first.data; });
    if (it == owned.begin()) return nullptr;
    --it;
    const Allocation& a = it->first;
    if (p < a.data || static_cast<size_t>(p - a.data) > a.size) return nullptr;
    return &*it;
  }

  // Checks one output descriptor against what the plugin allocated during this call.
  Element outputElement(const vg_element& v, size_t o, size_t r, const std::vector<std::pair<Allocation, std::shared_ptr<void>>>& owned) const {
    const ColumnType declared = op_->outputs[o].second;
    if (v.kind == VG_ELEMENT_NULL) return Element::null();
    if (v.kind == VG_ELEMENT_FRAME) {
      if (declared != ColumnType::Frame) outputError(o, r, "a frame in a column declared as bytes");
      const vg_frame& f = v.frame;
      if (!validDType(f.dtype)) outputError(o, r, "unknown dtype " + std::to_string(f.dtype));
      if (f.device != VG_DEVICE_CPU) outputError(o, r, "output frames must be in CPU memory (device " + std::to_string(f.device) + ")");
      if (f.height <= 0 || f.width <= 0 || f.channels <= 0 || f.channels > kMaxChannels)
        outputError(o, r, "bad frame shape " + std::to_string(f.height) + "x" + std::to_string(f.width) + "x" + std::to_string(f.channels) +
                              " (height and width > 0, channels 1 to " + std::to_string(kMaxChannels) + ")");
      const DType dtype = static_cast<DType>(f.dtype);
      const int64_t es = static_cast<int64_t>(dtypeSize(dtype));
      // The engine's one frame-size rule (checked multiplication, per-side and total limits).
      size_t extent = 0;
      try {
        extent = frameBytes(f.height, f.width, f.channels, dtype);
      } catch (const VgError& e) {
        outputError(o, r, std::string("frame size overflows: ") + e.what());
      }
      const int64_t pixel = f.channels * es, row = f.width * pixel;  // within extent: no overflow
      if (f.strides[2] != es || f.strides[1] != pixel || f.strides[0] != row)
        outputError(o, r, "strides [" + std::to_string(f.strides[0]) + ", " + std::to_string(f.strides[1]) + ", " + std::to_string(f.strides[2]) +
                              "] are not packed (expected [" + std::to_string(row) + ", " + std::to_string(pixel) + ", " + std::to_string(es) + "])");
      const std::string shape = std::to_string(f.height) + "x" + std::to_string(f.width) + "x" + std::to_string(f.channels) + " " + dtypeName(dtype) +
                                " (" + std::to_string(extent) + " bytes)";
      const auto* a = f.data ? allocationAt(f.data, owned) : nullptr;
      if (!a) outputError(o, r, "frame " + shape + " is not in memory from host->alloc during this call (allocate outputs with Outputs::allocFrame)");
      const size_t room = a->first.size - static_cast<size_t>(f.data - a->first.data);
      if (extent > room)
        outputError(o, r, "frame " + shape + " does not fit in its host->alloc allocation (" + std::to_string(room) + " bytes from its data pointer)");
      FrameData fd;
      fd.height = f.height;
      fd.width = f.width;
      fd.channels = f.channels;
      fd.dtype = dtype;
      fd.data = f.data;
      fd.owner = a->second;
      return Element::ofFrame(std::move(fd));
    }
    if (v.kind == VG_ELEMENT_BYTES) {
      if (declared != ColumnType::Bytes) outputError(o, r, "bytes in a column declared as frames");
      if (v.bytes.size > static_cast<uint64_t>(INT64_MAX)) outputError(o, r, "negative bytes size " + std::to_string(static_cast<int64_t>(v.bytes.size)));
      if (!v.bytes.data) {
        if (v.bytes.size != 0) outputError(o, r, std::to_string(v.bytes.size) + " bytes at a null pointer");
        return Element::ofBytes({});
      }
      const auto* a = allocationAt(v.bytes.data, owned);
      if (!a) outputError(o, r, std::to_string(v.bytes.size) + " bytes not in memory from host->alloc during this call (use Outputs::setBytes)");
      const size_t room = a->first.size - static_cast<size_t>(v.bytes.data - a->first.data);
      if (v.bytes.size > room)
        outputError(o, r, std::to_string(v.bytes.size) + " bytes do not fit in their host->alloc allocation (" + std::to_string(room) + " bytes from their data pointer)");
      return Element::ofBytes(std::vector<uint8_t>(v.bytes.data, v.bytes.data + v.bytes.size));
    }
    outputError(o, r, "unknown element kind " + std::to_string(v.kind));
  }

  std::shared_ptr<PluginOp> op_;
  void* instance_ = nullptr;
};

struct RegistrationContext {
  std::string path;
  std::vector<OpSpec> staged;  // registered only once the plugin's init returned in full
  std::string error;
};

// A NUL-terminated string of at most `max` characters, read no further than that.
bool boundedString(const char* s, size_t max, std::string* out) {
  if (!s) return false;
  const size_t n = strnlen(s, max + 1);
  if (n == 0 || n > max) return false;
  out->assign(s, n);
  return true;
}

bool identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Reads and checks a declaration; returns an error message, or "" with *spec filled.
std::string checkDeclaration(const vg_op_decl* d, const std::string& path, OpSpec* spec, std::shared_ptr<PluginOp>* opOut) {
  if (!d) return "an op declaration is null";
  std::string name;
  if (!boundedString(d->name, kMaxNameLength, &name) || !identifier(name))
    return "an op declaration has no valid name (a letter or _, then letters, digits or _, at most " + std::to_string(kMaxNameLength) + " characters)";
  const std::string op = "op '" + name + "': ";
  if (!d->kernel.create || !d->kernel.destroy || !d->kernel.execute) return op + "the kernel's create, destroy and execute are required";
  if (d->num_inputs < 1 || d->num_inputs > kMaxColumns) return op + "num_inputs must be 1 to " + std::to_string(kMaxColumns) + ", got " + std::to_string(d->num_inputs);
  if (d->num_outputs < 1 || d->num_outputs > kMaxColumns) return op + "num_outputs must be 1 to " + std::to_string(kMaxColumns) + ", got " + std::to_string(d->num_outputs);
  if (d->variadic_inputs && d->num_inputs != 1) return op + "a variadic op declares exactly one input (the group), got " + std::to_string(d->num_inputs);
  auto columns = [&](const char* what, uint64_t n, const char* const* names, const int32_t* types,
                     std::vector<std::pair<std::string, ColumnType>>* outCols) -> std::string {
    if (!names || !types) return op + what + " names and types are required";
    std::set<std::string> seen;
    for (uint64_t i = 0; i < n; i++) {
      std::string col;
      if (!boundedString(names[i], kMaxNameLength, &col) || !identifier(col))
        return op + what + " " + std::to_string(i) + " has no valid name";
      if (!seen.insert(col).second) return op + what + " '" + col + "' is declared twice";
      if (types[i] != VG_COLUMN_FRAME && types[i] != VG_COLUMN_BYTES)
        return op + what + " '" + col + "' has unknown column type " + std::to_string(types[i]);
      outCols->emplace_back(col, types[i] == VG_COLUMN_BYTES ? ColumnType::Bytes : ColumnType::Frame);
    }
    return "";
  };
  spec->name = name;
  if (std::string e = columns("input", d->num_inputs, d->input_names, d->input_types, &spec->inputs); !e.empty()) return e;
  if (std::string e = columns("output", d->num_outputs, d->output_names, d->output_types, &spec->outputs); !e.empty()) return e;
  if (d->stencil_size > kMaxStencil) return op + "stencil_size must be at most " + std::to_string(kMaxStencil) + ", got " + std::to_string(d->stencil_size);
  if (d->stencil_size > 0 && !d->stencil) return op + "stencil_size is " + std::to_string(d->stencil_size) + " but stencil is null";
  spec->stencil.clear();
  for (uint64_t i = 0; i < d->stencil_size; i++) {
    if (d->stencil[i] < -kMaxStencilOffset || d->stencil[i] > kMaxStencilOffset)
      return op + "stencil offsets must be within ±" + std::to_string(kMaxStencilOffset) + ", got " + std::to_string(d->stencil[i]);
    spec->stencil.push_back(d->stencil[i]);
  }
  if (spec->stencil.empty()) spec->stencil.push_back(0);
  if (d->bounded_state < 0 || d->bounded_state > kMaxBoundedState)
    return op + "bounded_state must be 0 to " + std::to_string(kMaxBoundedState) + ", got " + std::to_string(d->bounded_state);
  if (d->preferred_batch < 0 || d->preferred_batch > kMaxBatch)
    return op + "preferred_batch must be 0 to " + std::to_string(kMaxBatch) + ", got " + std::to_string(d->preferred_batch);
  if (d->device != VG_DEVICE_CPU && d->device != VG_DEVICE_GPU) return op + "unknown device " + std::to_string(d->device);
  if (d->proto_message && !boundedString(d->proto_message, kMaxMessageLength, &spec->protoMessage))
    return op + "proto_message must be a message name of 1 to " + std::to_string(kMaxMessageLength) + " characters, or null";
  spec->boundedState = d->bounded_state;
  spec->unboundedState = d->unbounded_state != 0;
  spec->batch = d->preferred_batch > 0 ? d->preferred_batch : 1;
  spec->plugin = path;
  spec->variadic = d->variadic_inputs != 0;
  auto plugin = std::make_shared<PluginOp>();
  plugin->path = path;
  plugin->name = name;
  plugin->vtable = d->kernel;
  plugin->opCtx = d->op_ctx;
  plugin->stencilSize = spec->stencil.size();
  plugin->numInputs = d->num_inputs;
  plugin->numOutputs = d->num_outputs;
  plugin->outputs = spec->outputs;
  *opOut = plugin;
  return "";
}

int32_t registerFromPlugin(void* ctx, const vg_op_decl* d) {
  auto* rc = static_cast<RegistrationContext*>(ctx);
  try {
    OpSpec spec;
    std::shared_ptr<PluginOp> op;
    std::string error = checkDeclaration(d, rc->path, &spec, &op);
    if (!error.empty()) {
      if (rc->error.empty()) rc->error = error;
      return 1;
    }
    spec.factory = [op](const Args& args) { return std::make_unique<PluginKernel>(op, args); };
    rc->staged.push_back(std::move(spec));
    return 0;
  } catch (...) {  // nothing may unwind into the plugin's C frames
    if (rc->error.empty()) rc->error = "out of memory while registering";
    return 1;
  }
}

// Loads in progress (one at a time per file) and files whose registration overran its time.
struct LoadState {
  std::mutex mutex;
  std::condition_variable idle;
  std::set<std::string> loading, quarantined;
};
LoadState& loadState() {
  static LoadState s;
  return s;
}

}  // namespace

std::vector<std::string> loadPlugin(const std::string& path, int64_t timeoutMs, bool replace) {
  const auto started = std::chrono::steady_clock::now();
  LoadState& state = loadState();
  {
    std::unique_lock<std::mutex> lock(state.mutex);
    state.idle.wait(lock, [&] { return !state.loading.count(path); });
    if (state.quarantined.count(path))
      pluginError(path, "did not finish registering in time earlier; it stays unloaded until the process restarts");
    state.loading.insert(path);
  }
  struct Loading {
    LoadState& state;
    const std::string& path;
    ~Loading() {
      {
        std::lock_guard<std::mutex> lock(state.mutex);
        state.loading.erase(path);
      }
      state.idle.notify_all();
    }
  } loading{state, path};

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
  err[sizeof(err) - 1] = '\0';
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (timeoutMs > 0 && elapsed > timeoutMs) {
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      state.quarantined.insert(path);
    }
    throw VgError("ERR_TIMEOUT", "plugin '" + path + "': registration took " + std::to_string(elapsed) + " ms, more than the " + std::to_string(timeoutMs) +
                                     " ms allowed; its ops were not registered");
  }
  if (version != VG_ABI_VERSION) {
    if (version == 0) pluginError(path, std::string("failed during registration: ") + (rc.error.empty() ? (err[0] ? err : "unknown error") : rc.error));
    pluginError(path, "was built for plugin ABI version " + std::to_string(version) + ", this engine has version " + std::to_string(VG_ABI_VERSION) +
                          " (rebuild it against this package's include/vidgraph/op.h)");
  }
  if (!rc.error.empty()) pluginError(path, rc.error);
  if (rc.staged.empty()) pluginError(path, "registered no ops");
  // All or nothing: a clash (ERR_EXISTS unless `replace`) registers none of the plugin's ops.
  // The library stays loaded: its ops are in the registry for the life of the process.
  std::vector<std::string> names;
  for (const OpSpec& spec : rc.staged) names.push_back(spec.name);
  registerOps(std::move(rc.staged), replace);
  return names;
}

}  // namespace vg
