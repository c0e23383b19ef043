/*
 * vidgraph plugin SDK: ops compiled into a shared library and loaded with `sc.loadOp(so, proto)`.
 *
 * The boundary between the engine and a plugin is the versioned C ABI below: plain structs,
 * function pointers, argument bytes. No FFmpeg, OpenCV, protobuf or C++ standard-library type
 * crosses it, so a plugin built with another compiler, another standard library ABI or another
 * protobuf still loads. The C++ layer further down (header-only, compiled into the plugin)
 * declares ops and kernels the way Scanner did.
 *
 * A plugin exports one symbol, `vidgraph_plugin_init`; VIDGRAPH_PLUGIN() defines it.
 */
#ifndef VIDGRAPH_OP_H
#define VIDGRAPH_OP_H

#include <stddef.h>
#include <stdint.h>

#define VG_ABI_VERSION 1u

#if defined(_WIN32)
#define VG_EXPORT __declspec(dllexport)
#else
#define VG_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { VG_DTYPE_U8 = 0, VG_DTYPE_U16 = 1, VG_DTYPE_F32 = 2, VG_DTYPE_F64 = 3 } vg_dtype;
typedef enum { VG_DEVICE_CPU = 0, VG_DEVICE_GPU = 1 } vg_device;
typedef enum { VG_COLUMN_FRAME = 0, VG_COLUMN_BYTES = 1 } vg_column_type;
typedef enum { VG_ELEMENT_NULL = 0, VG_ELEMENT_FRAME = 1, VG_ELEMENT_BYTES = 2 } vg_element_kind;

/* An image: height × width × channels, strides in bytes (row, pixel, channel). */
typedef struct {
  int32_t height, width, channels;
  int32_t dtype;  /* vg_dtype */
  int32_t device; /* vg_device */
  int64_t strides[3];
  uint8_t* data;
} vg_frame;

typedef struct {
  const uint8_t* data;
  uint64_t size;
} vg_bytes;

/* One row of one column. Outputs a kernel fills must point at memory from host->alloc, called
 * during that execute() on its thread; the engine checks that each output (frame: packed strides,
 * known dtype, height × row stride bytes; bytes: size bytes) fits in its allocation. */
typedef struct {
  int32_t kind; /* vg_element_kind */
  vg_frame frame;
  vg_bytes bytes;
} vg_element;

/* What the engine offers a plugin. */
typedef struct {
  uint32_t abi_version;
  void* (*alloc)(uint64_t size); /* memory for output frames and bytes; the engine frees it */
  void (*log)(int32_t level, const char* message);
} vg_host;

/* A kernel: an instance per op per job. Functions return 0 on success; on failure they write a
 * message into err (at most err_size bytes, NUL-terminated) and return non-zero. */
typedef struct {
  /* op_ctx is the declaration's op_ctx, handed back to tell which op to instantiate. */
  void* (*create)(void* op_ctx, const uint8_t* args, uint64_t args_size, const vg_host* host, char* err, uint64_t err_size);
  void (*destroy)(void* kernel);
  /* Per-stream arguments (called once per job, after create). May be NULL. */
  int32_t (*new_stream)(void* kernel, const uint8_t* args, uint64_t args_size, char* err, uint64_t err_size);
  /* Called before the first row, at every slice boundary and discontinuity. May be NULL. */
  void (*reset)(void* kernel);
  /* inputs[c][r * stencil_size + s]: column c (of num_inputs), row r, stencil offset s.
   * outputs[o][r]: to fill, one element per row. */
  int32_t (*execute)(void* kernel, const vg_element* const* inputs, uint64_t num_inputs, uint64_t rows, vg_element* const* outputs,
                     char* err, uint64_t err_size);
} vg_kernel_vtable;

typedef struct {
  const char* name;
  uint64_t num_inputs;
  const char* const* input_names;
  const int32_t* input_types; /* vg_column_type */
  uint64_t num_outputs;
  const char* const* output_names;
  const int32_t* output_types; /* vg_column_type */
  uint64_t stencil_size;
  const int32_t* stencil;
  int32_t bounded_state;
  int32_t unbounded_state;
  int32_t preferred_batch;
  int32_t device;             /* vg_device */
  const char* proto_message;  /* fully qualified protobuf message of the arguments, or NULL */
  vg_kernel_vtable kernel;
  void* op_ctx; /* passed back to kernel.create */
  /* Non-zero: the op takes any number (>= 1) of input columns of input_types[0] (num_inputs is 1,
   * naming the group); execute() receives as many input columns as the graph gives. */
  int32_t variadic_inputs;
} vg_op_decl;

typedef struct {
  uint32_t abi_version;
  void* ctx;
  /* Returns 0 when the op was registered. */
  int32_t (*register_op)(void* ctx, const vg_op_decl* decl);
} vg_registry;

/* The plugin's one entry point. It returns its own VG_ABI_VERSION without touching the registry
 * when host_abi_version differs; otherwise it registers its ops and returns VG_ABI_VERSION, or
 * 0 on failure (with a message in err). */
typedef uint32_t (*vg_plugin_init_fn)(uint32_t host_abi_version, const vg_registry* registry, const vg_host* host,
                                      char* err, uint64_t err_size);

#ifdef __cplusplus
}  /* extern "C" */
#endif

/* ---------------------------------------------------------------------------------------------
 * C++ convenience layer (compiled into the plugin; nothing here crosses the boundary).
 *
 *   class MyResizeKernel : public vidgraph::Kernel {
 *    public:
 *     explicit MyResizeKernel(const std::string& args) { proto.ParseFromString(args); }
 *     void execute(const vidgraph::Inputs& in, vidgraph::Outputs& out) override { ... }
 *   };
 *   VIDGRAPH_PLUGIN(vidgraph::Op("MyResize").input("frame").output("frame")
 *                       .protoMessage("MyResizeArgs").kernel<MyResizeKernel>())
 * ------------------------------------------------------------------------------------------- */
#ifdef __cplusplus
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vidgraph {

/* A frame view (input) or a frame the kernel fills (output). */
class Frame {
 public:
  explicit Frame(const vg_frame& f) : f_(f) {}
  int height() const { return f_.height; }
  int width() const { return f_.width; }
  int channels() const { return f_.channels; }
  vg_dtype dtype() const { return static_cast<vg_dtype>(f_.dtype); }
  template <typename T = uint8_t>
  T* data() const { return reinterpret_cast<T*>(f_.data); }
  int64_t rowStride() const { return f_.strides[0]; }
  const vg_frame& raw() const { return f_; }

 private:
  vg_frame f_;
};

inline size_t dtypeSize(vg_dtype t) { return t == VG_DTYPE_U8 ? 1 : t == VG_DTYPE_U16 ? 2 : t == VG_DTYPE_F32 ? 4 : 8; }

/* The inputs of one call: column c, row r, stencil position s. */
class Inputs {
 public:
  Inputs(const vg_element* const* cols, size_t numCols, size_t rows, size_t stencil)
      : cols_(cols), numCols_(numCols), rows_(rows), stencil_(stencil) {}
  size_t rows() const { return rows_; }
  size_t columns() const { return numCols_; }
  const vg_element& element(size_t column, size_t row, size_t s = 0) const {
    if (column >= numCols_) throw std::out_of_range("input column out of range");
    return cols_[column][row * stencil_ + s];
  }
  bool isNull(size_t column, size_t row, size_t s = 0) const { return element(column, row, s).kind == VG_ELEMENT_NULL; }
  Frame frame(size_t column, size_t row, size_t s = 0) const {
    const vg_element& e = element(column, row, s);
    if (e.kind != VG_ELEMENT_FRAME) throw std::runtime_error("input is not a frame");
    return Frame(e.frame);
  }
  std::string bytes(size_t column, size_t row, size_t s = 0) const {
    const vg_element& e = element(column, row, s);
    return std::string(reinterpret_cast<const char*>(e.bytes.data), static_cast<size_t>(e.bytes.size));
  }

 private:
  const vg_element* const* cols_;
  size_t numCols_, rows_, stencil_;
};

/* Where a call's results go: allocate frames and bytes through the host. */
class Outputs {
 public:
  Outputs(vg_element* const* cols, size_t numCols, size_t rows, const vg_host* host)
      : cols_(cols), numCols_(numCols), rows_(rows), host_(host) {}
  size_t rows() const { return rows_; }
  Frame allocFrame(size_t column, size_t row, int height, int width, int channels, vg_dtype dtype = VG_DTYPE_U8) {
    vg_element& e = slot(column, row);
    const size_t es = dtypeSize(dtype);
    const uint64_t size = static_cast<uint64_t>(height) * width * channels * es;
    uint8_t* p = static_cast<uint8_t*>(host_->alloc(size ? size : 1));
    if (!p) throw std::bad_alloc();
    e.kind = VG_ELEMENT_FRAME;
    e.frame = vg_frame{height, width, channels, dtype, VG_DEVICE_CPU,
                       {static_cast<int64_t>(width) * channels * static_cast<int64_t>(es), channels * static_cast<int64_t>(es),
                        static_cast<int64_t>(es)},
                       p};
    return Frame(e.frame);
  }
  void setBytes(size_t column, size_t row, const std::string& b) {
    vg_element& e = slot(column, row);
    uint8_t* p = static_cast<uint8_t*>(host_->alloc(b.size() ? b.size() : 1));
    if (!p) throw std::bad_alloc();
    std::memcpy(p, b.data(), b.size());
    e.kind = VG_ELEMENT_BYTES;
    e.bytes = vg_bytes{p, b.size()};
  }
  void setNull(size_t column, size_t row) { slot(column, row).kind = VG_ELEMENT_NULL; }

 private:
  vg_element& slot(size_t column, size_t row) {
    if (column >= numCols_ || row >= rows_) throw std::out_of_range("output out of range");
    return cols_[column][row];
  }
  vg_element* const* cols_;
  size_t numCols_, rows_;
  const vg_host* host_;
};

/* Base class of C++ kernels. The constructor receives the op's protobuf-encoded arguments. */
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void newStream(const std::string& /*args*/) {}
  virtual void reset() {}
  virtual void execute(const Inputs& inputs, Outputs& outputs) = 0;
  const vg_host* host = nullptr;
  size_t stencilSize = 1;
  size_t numInputs = 0, numOutputs = 0;
};

namespace detail {
inline void setError(char* err, uint64_t size, const char* message) {
  if (!err || size == 0) return;
  std::strncpy(err, message, static_cast<size_t>(size) - 1);
  err[size - 1] = '\0';
}
}  // namespace detail

/* Declares an op: columns, stencil, state, argument message, device, batch, kernel. */
class Op {
 public:
  explicit Op(std::string name) : name_(std::move(name)) {}
  Op& input(const std::string& n, vg_column_type t = VG_COLUMN_FRAME) { inNames_.push_back(n); inTypes_.push_back(t); return *this; }
  Op& output(const std::string& n, vg_column_type t = VG_COLUMN_FRAME) { outNames_.push_back(n); outTypes_.push_back(t); return *this; }
  /* Any number of input columns (Scanner's variadic inputs); Inputs::columns() says how many. */
  Op& variadicInputs(vg_column_type t = VG_COLUMN_FRAME) { inNames_ = {"inputs"}; inTypes_ = {t}; variadic_ = 1; return *this; }
  Op& stencil(std::vector<int32_t> s) { stencil_ = std::move(s); return *this; }
  Op& boundedState(int32_t w) { bounded_ = w; return *this; }
  Op& unboundedState() { unbounded_ = 1; return *this; }
  Op& protoMessage(const std::string& m) { proto_ = m; return *this; }
  Op& device(vg_device d) { device_ = d; return *this; }
  Op& batch(int32_t b) { batch_ = b; return *this; }
  bool hasKernel() const { return static_cast<bool>(factory_); }
  template <typename K>
  Op& kernel() {
    factory_ = [](const std::string& args) -> Kernel* { return new K(args); };
    return *this;
  }

  /* Fills the C declaration; pointers stay valid while this Op lives (the plugin keeps it). */
  vg_op_decl decl() {
    names_.clear();
    for (auto& n : inNames_) names_.push_back(n.c_str());
    outNamePtrs_.clear();
    for (auto& n : outNames_) outNamePtrs_.push_back(n.c_str());
    vg_op_decl d{};
    d.name = name_.c_str();
    d.num_inputs = inNames_.size();
    d.input_names = names_.data();
    d.input_types = inTypes_.data();
    d.num_outputs = outNames_.size();
    d.output_names = outNamePtrs_.data();
    d.output_types = outTypes_.data();
    d.stencil_size = stencil_.size();
    d.stencil = stencil_.data();
    d.bounded_state = bounded_;
    d.unbounded_state = unbounded_;
    d.preferred_batch = batch_;
    d.device = device_;
    d.proto_message = proto_.empty() ? nullptr : proto_.c_str();
    d.kernel.create = &Op::create;
    d.kernel.destroy = &Op::destroy;
    d.kernel.new_stream = &Op::newStream;
    d.kernel.reset = &Op::reset;
    d.kernel.execute = &Op::execute;
    d.op_ctx = this;
    d.variadic_inputs = variadic_;
    return d;
  }

 private:
  struct Instance {
    std::unique_ptr<Kernel> kernel;
  };
  static void* create(void* opCtx, const uint8_t* args, uint64_t size, const vg_host* host, char* err, uint64_t errSize) {
    try {
      Op* op = static_cast<Op*>(opCtx);
      auto* inst = new Instance{std::unique_ptr<Kernel>(op->factory_(std::string(reinterpret_cast<const char*>(args), static_cast<size_t>(size))))};
      inst->kernel->host = host;
      inst->kernel->stencilSize = op->stencil_.size();
      inst->kernel->numInputs = op->inNames_.size();
      inst->kernel->numOutputs = op->outNames_.size();
      return inst;
    } catch (const std::exception& e) {
      detail::setError(err, errSize, e.what());
    } catch (...) {
      detail::setError(err, errSize, "unknown exception in the kernel constructor");
    }
    return nullptr;
  }
  static void destroy(void* k) { delete static_cast<Instance*>(k); }
  static int32_t newStream(void* k, const uint8_t* args, uint64_t size, char* err, uint64_t errSize) {
    try {
      static_cast<Instance*>(k)->kernel->newStream(std::string(reinterpret_cast<const char*>(args), static_cast<size_t>(size)));
      return 0;
    } catch (const std::exception& e) {
      detail::setError(err, errSize, e.what());
    } catch (...) {
      detail::setError(err, errSize, "unknown exception in newStream");
    }
    return 1;
  }
  static void reset(void* k) {
    try {
      static_cast<Instance*>(k)->kernel->reset();
    } catch (...) {
    }
  }
  static int32_t execute(void* k, const vg_element* const* in, uint64_t numInputs, uint64_t rows, vg_element* const* out, char* err,
                         uint64_t errSize) {
    try {
      Kernel& kernel = *static_cast<Instance*>(k)->kernel;
      Inputs inputs(in, static_cast<size_t>(numInputs), static_cast<size_t>(rows), kernel.stencilSize);
      Outputs outputs(out, kernel.numOutputs, static_cast<size_t>(rows), kernel.host);
      kernel.execute(inputs, outputs);
      return 0;
    } catch (const std::exception& e) {
      detail::setError(err, errSize, e.what());
    } catch (...) {
      detail::setError(err, errSize, "unknown exception in execute");
    }
    return 1;
  }

  std::string name_;
  std::vector<std::string> inNames_, outNames_;
  std::vector<int32_t> inTypes_, outTypes_;
  std::vector<const char*> names_, outNamePtrs_;
  std::vector<int32_t> stencil_{0};
  int32_t bounded_ = 0, unbounded_ = 0, batch_ = 1, variadic_ = 0;
  vg_device device_ = VG_DEVICE_CPU;
  std::string proto_;
  std::function<Kernel*(const std::string&)> factory_;
};

/* Registers every op; called by the generated vidgraph_plugin_init. */
inline uint32_t registerAll(std::vector<Op>& ops, uint32_t hostAbi, const vg_registry* registry, const vg_host* host, char* err,
                            uint64_t errSize) {
  (void)host;
  if (hostAbi != VG_ABI_VERSION || !registry || registry->abi_version != VG_ABI_VERSION) return VG_ABI_VERSION;
  try {
    for (Op& op : ops) {
      if (!op.hasKernel()) {
        detail::setError(err, errSize, "an op was declared without .kernel<K>()");
        return 0;
      }
      vg_op_decl d = op.decl();
      if (registry->register_op(registry->ctx, &d) != 0) {
        detail::setError(err, errSize, "the engine refused an op declaration");
        return 0;
      }
    }
    return VG_ABI_VERSION;
  } catch (const std::exception& e) {
    detail::setError(err, errSize, e.what());
  } catch (...) {
    detail::setError(err, errSize, "unknown exception during registration");
  }
  return 0;
}

}  // namespace vidgraph

/* Defines the plugin entry point registering the given ops. Nothing throws across it: an
 * exception while declaring or registering the ops becomes a registration error. */
#define VIDGRAPH_PLUGIN(...)                                                                                          \
  extern "C" VG_EXPORT uint32_t vidgraph_plugin_init(uint32_t host_abi, const vg_registry* registry, const vg_host* host, \
                                                     char* err, uint64_t err_size) {                                  \
    if (host_abi != VG_ABI_VERSION) return VG_ABI_VERSION;                                                            \
    try {                                                                                                             \
      static std::vector<vidgraph::Op> ops{__VA_ARGS__};                                                              \
      return vidgraph::registerAll(ops, host_abi, registry, host, err, err_size);                                     \
    } catch (const std::exception& e) {                                                                               \
      vidgraph::detail::setError(err, err_size, e.what());                                                            \
    } catch (...) {                                                                                                   \
      vidgraph::detail::setError(err, err_size, "unknown exception while declaring the ops");                        \
    }                                                                                                                 \
    return 0;                                                                                                         \
  }
#endif /* __cplusplus */

#endif /* VIDGRAPH_OP_H */
