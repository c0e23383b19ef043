#include "kernel_wrap.h"

#include <unordered_map>

#include "../kernels/cuda/gpu_device.h"
#include "../kernels/cuda/host_twins.h"
#include "../plugin/plugin_loader.h"
#include "js_values.h"
#include "../video/ffmpeg.h"

namespace vg {

// useStdMatAllocator(): makes OpenCV allocate with its own allocator again (see lib/frame.ts).
Napi::Value UseStdMatAllocator(const Napi::CallbackInfo& info) {
  cv::Mat::setDefaultAllocator(cv::Mat::getStdAllocator());
  return info.Env().Undefined();
}

// loadPlugin(path: string, timeoutMs?: number, replace?: boolean) → Promise<string[]> (the op names
// it registered; all or none: a name clash is ERR_EXISTS unless replace)
Napi::Value LoadPlugin(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsString()) throwCoded(info.Env(), "ERR_BAD_ARGUMENT", "loadPlugin: expected the plugin's path");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    // A registration that returns later than this is refused (its ops never join the registry).
    const double timeout = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    const int64_t timeoutMs = timeout > 0 && timeout < 9e15 ? static_cast<int64_t>(timeout) : 0;
    const bool replace = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
    return runDetached(info.Env(), "plugin", [path, timeoutMs, replace]() -> Settle {
      auto names = std::make_shared<std::vector<std::string>>(loadPlugin(path, timeoutMs, replace));
      return [names](Napi::Env env) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, names->size());
        for (size_t i = 0; i < names->size(); i++) a.Set(static_cast<uint32_t>(i), (*names)[i]);
        return a;
      };
    });
  });
}

namespace {

const char* typeName(ColumnType t) {
  switch (t) {
    case ColumnType::Frame: return "frame";
    case ColumnType::Bytes: return "bytes";
    case ColumnType::Any: return "any";
  }
  return "any";
}

Napi::Array columnsToJs(Napi::Env env, const std::vector<std::pair<std::string, ColumnType>>& cols) {
  Napi::Array a = Napi::Array::New(env, cols.size());
  for (size_t i = 0; i < cols.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", cols[i].first);
    o.Set("type", typeName(cols[i].second));
    a.Set(static_cast<uint32_t>(i), o);
  }
  return a;
}

// The input frame objects of one call, so that an op handing a frame back unchanged (Pass)
// returns the caller's own object. Created and released on the JS thread only (the engine
// thread destroys no job state: see EngineThread); the engine never reads through them.
struct HeldInputs {
  std::vector<Napi::Reference<Napi::Value>> refs;
  std::unordered_map<const uint8_t*, size_t> byData;  // engine data pointer → index in refs
};

// An input element. Frames are shared (engine memory) or copied (JavaScript memory), bytes
// are copied: once this returns, the job reads nothing JavaScript owns.
Element elementFromJs(Napi::Env env, const Napi::Value& v, HeldInputs& held, const std::string& where) {
  if (v.IsNull() || v.IsUndefined()) return Element::null();
  if (v.IsTypedArray()) {  // bytes
    const std::string b = bytesArg(v, where);
    return Element::ofBytes(std::vector<uint8_t>(b.begin(), b.end()));
  }
  if (!v.IsObject()) throwCoded(env, "ERR_BAD_ARGUMENT", where + ": expected a frame, a Uint8Array or null");
  FrameData f = frameFromJs(v, where);
  held.byData[f.data] = held.refs.size();
  held.refs.push_back(Napi::Persistent(v));
  return Element::ofFrame(std::move(f));
}

Napi::Value elementToJs(Napi::Env env, const Element& e, const HeldInputs& held) {
  switch (e.kind) {
    case Element::Kind::Null:
      return env.Null();
    case Element::Kind::Bytes: {
      const size_t n = e.bytes->size();
      if (n == 0) return Napi::Uint8Array::New(env, 0);
      auto* data = const_cast<uint8_t*>(e.bytes->data());
      return Napi::Uint8Array::New(env, n, engineBuffer(env, data, n, std::const_pointer_cast<std::vector<uint8_t>>(e.bytes)), 0);
    }
    case Element::Kind::Frame: {
      auto it = held.byData.find(e.frame.data);
      if (it != held.byData.end()) return held.refs[it->second].Value();  // an input passed through
      Napi::Object o = Napi::Object::New(env);
      o.Set("height", e.frame.height);
      o.Set("width", e.frame.width);
      o.Set("channels", e.frame.channels);
      o.Set("dtype", dtypeName(e.frame.dtype));
      o.Set("data", engineBuffer(env, e.frame.data, e.frame.bytes(), e.frame.owner));
      return o;
    }
  }
  return env.Null();
}

}  // namespace

void KernelWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeKernel",
                                   {InstanceMethod("execute", &KernelWrap::Execute),
                                    InstanceMethod("reset", &KernelWrap::Reset),
                                    InstanceMethod("close", &KernelWrap::Close),
                                    InstanceMethod("abandon", &KernelWrap::Abandon)});
  exports.Set("NativeKernel", cls);
  exports.Set("ops", Napi::Function::New(env, ListOps, "ops"));
  exports.Set("loadPlugin", Napi::Function::New(env, LoadPlugin, "loadPlugin"));
  exports.Set("useStdMatAllocator", Napi::Function::New(env, UseStdMatAllocator, "useStdMatAllocator"));
}

Napi::Value ListOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::vector<const OpSpec*> ops = allOps();
    Napi::Array out = Napi::Array::New(env, ops.size());
    for (size_t i = 0; i < ops.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", ops[i]->name);
      o.Set("inputs", columnsToJs(env, ops[i]->inputs));
      o.Set("outputs", columnsToJs(env, ops[i]->outputs));
      Napi::Array st = Napi::Array::New(env, ops[i]->stencil.size());
      for (size_t k = 0; k < ops[i]->stencil.size(); k++) st.Set(static_cast<uint32_t>(k), ops[i]->stencil[k]);
      o.Set("stencil", st);
      o.Set("boundedState", ops[i]->boundedState);
      o.Set("unboundedState", ops[i]->unboundedState);
      o.Set("batch", ops[i]->batch);
      o.Set("protoMessage", ops[i]->protoMessage);
      o.Set("plugin", ops[i]->plugin);
      o.Set("variadic", ops[i]->variadic);
      out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
  });
}

// new NativeKernel(op: string, args: Record<string, number | string | boolean> | Uint8Array,
//                  placement?: { device: 'cpu' | 'gpu' | 'host-twin', gpu?: number })
// 'gpu' runs the op's CUDA kernel on device `gpu` (ERR_NO_GPU when it cannot); 'host-twin' runs
// the same kernel's arithmetic on the CPU (cpp/kernels/cuda/host_twins.h), for the tests.
KernelWrap::KernelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KernelWrap>(info) {
  Napi::Env env = info.Env();
  guarded(env, [&] {
    if (!info[0].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "NativeKernel: expected an op name");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    spec_ = findOp(name);
    if (!spec_) throwCoded(env, "ERR_NOT_FOUND", "no op named '" + name + "'");
    Args args;
    if (info[1].IsTypedArray()) {  // plugin ops: the protobuf-encoded argument message
      args.setRaw(bytesArg(info[1], name + " arguments"));
    } else if (info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      Napi::Array keys = o.GetPropertyNames();
      for (uint32_t i = 0; i < keys.Length(); i++) {
        const std::string k = keys.Get(i).ToString().Utf8Value();
        Napi::Value v = o.Get(k);
        if (v.IsNumber()) args.set(k, v.As<Napi::Number>().DoubleValue());
        else if (v.IsString()) args.set(k, v.As<Napi::String>().Utf8Value());
        else if (v.IsBoolean()) args.set(k, v.As<Napi::Boolean>().Value());
        else if (!v.IsUndefined()) throwCoded(env, "ERR_BAD_ARGUMENT", name + ": argument '" + k + "' must be a number, string or boolean");
      }
    }
    std::string device = "cpu";
    int gpuId = 0;
    if (info[2].IsObject()) {
      Napi::Object p = info[2].As<Napi::Object>();
      if (p.Get("device").IsString()) device = p.Get("device").As<Napi::String>().Utf8Value();
      const Napi::Value id = p.Get("gpu");
      if (id.IsNumber()) {
        const double v = id.As<Napi::Number>().DoubleValue();
        if (!(v >= 0 && v <= 1024) || v != static_cast<double>(static_cast<int>(v)))
          throwCoded(env, "ERR_BAD_ARGUMENT", name + ": expected a GPU id between 0 and 1024");
        gpuId = static_cast<int>(v);
      }
    }
    if (device == "cpu") {
      kernel_ = std::make_shared<std::unique_ptr<Kernel>>(spec_->factory(args));
    } else if (device == "gpu" || device == "host-twin") {
      if (!spec_->gpuFactory)
        throwCoded(env, "ERR_BAD_ARGUMENT", name + " has no GPU kernel (GPU kernels: Resize, ConvertColor, Blur, Histogram, CloneChannels); use device CPU");
      std::shared_ptr<gpu::Workspace> ws = device == "gpu" ? gpu::makeWorkspace(gpuId) : px::makeHostWorkspace();
      kernel_ = std::make_shared<std::unique_ptr<Kernel>>(spec_->gpuFactory(args, std::move(ws)));
    } else {
      throwCoded(env, "ERR_BAD_ARGUMENT", name + ": unknown device '" + device + "' (cpu, gpu)");
    }
    thread_ = std::make_unique<EngineThread>(env, "kernel");
  });
}

KernelWrap::~KernelWrap() {
  // A finalizer: the kernel is destroyed on its own thread after the queued calls; no waiting.
  if (!thread_) return;
  thread_->closeFromFinalizer([kernel = kernel_] { kernel->reset(); });
}

void KernelWrap::checkOpen(Napi::Env env, const char* method) const {
  if (!thread_ || thread_->stopped())
    throwCoded(env, "ERR_CLOSED", (spec_ ? spec_->name : std::string("NativeKernel")) + "." + method + ": the kernel is closed");
}

// execute(inputs: Array<Array<element>>, rows: number) → Promise<Array<Array<element>>>
Napi::Value KernelWrap::Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    checkOpen(env, "execute");
    if (!info[0].IsArray()) throwCoded(env, "ERR_BAD_ARGUMENT", spec_->name + ": expected an array of input columns");
    const double rowsArg = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(rowsArg >= 0 && rowsArg <= (1 << 20)) || rowsArg != static_cast<double>(static_cast<int64_t>(rowsArg)))
      throwCoded(env, "ERR_BAD_ARGUMENT", spec_->name + ": expected an integer row count between 0 and 1048576");
    const size_t rows = static_cast<size_t>(rowsArg);
    Napi::Array cols = info[0].As<Napi::Array>();
    auto inputs = std::make_shared<std::vector<Column>>();
    auto held = std::make_shared<HeldInputs>();
    const size_t perRow = spec_->stencil.size();
    for (uint32_t c = 0; c < cols.Length(); c++) {
      Napi::Value colv = cols.Get(c);
      if (!colv.IsArray()) throwCoded(env, "ERR_BAD_ARGUMENT", spec_->name + ": input column " + std::to_string(c) + " is not an array");
      Napi::Array col = colv.As<Napi::Array>();
      if (col.Length() != rows * perRow)
        throwCoded(env, "ERR_BAD_ARGUMENT", spec_->name + ": input column " + std::to_string(c) + " has " + std::to_string(col.Length()) +
                                                " entries, expected " + std::to_string(rows * perRow));
      Column column;
      for (uint32_t r = 0; r < col.Length(); r++)
        column.push_back(elementFromJs(env, col.Get(r), *held, spec_->name + " input " + std::to_string(c) + " row " + std::to_string(r)));
      inputs->push_back(std::move(column));
    }
    if (inputs->size() < spec_->inputs.size() || (spec_->variadic && inputs->empty()))
      throwCoded(env, "ERR_BAD_ARGUMENT", spec_->name + ": expected " + std::to_string(spec_->inputs.size()) + " input column(s)");
    auto kernel = kernel_;
    const std::string name = spec_->name;
    return thread_->submit(env, [kernel, inputs, held, rows, name]() -> Settle {
      if (!*kernel) throw VgError("ERR_CLOSED", name + ": the kernel is closed");
      std::vector<Column> out;
      try {
        out = (*kernel)->execute(*inputs, rows);
      } catch (const cv::Exception& e) {
        throw VgError("ERR_BAD_ARGUMENT", name + ": " + e.err);
      }
      auto result = std::make_shared<std::vector<Column>>(std::move(out));
      return [result, held](Napi::Env env) -> Napi::Value {
        Napi::Array cols = Napi::Array::New(env, result->size());
        for (size_t c = 0; c < result->size(); c++) {
          Napi::Array col = Napi::Array::New(env, (*result)[c].size());
          for (size_t r = 0; r < (*result)[c].size(); r++) col.Set(static_cast<uint32_t>(r), elementToJs(env, (*result)[c][r], *held));
          cols.Set(static_cast<uint32_t>(c), col);
        }
        return cols;
      };
    });
  });
}

Napi::Value KernelWrap::Reset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    checkOpen(env, "reset");
    auto kernel = kernel_;
    return thread_->submit(env, [kernel]() -> Settle {
      if (*kernel) (*kernel)->reset();
      return nullptr;
    });
  });
}

// abandon(): for a kernel stuck past the run's kernelTimeout. Its thread takes no more calls and
// no longer keeps Node alive; the kernel is never destroyed (the thread may still be inside it).
Napi::Value KernelWrap::Abandon(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (thread_) thread_->abandon(info.Env());
    return info.Env().Undefined();
  });
}

// close() → Promise<void>: queued calls finish first, then the kernel is destroyed on its
// thread; never blocks the event loop. A second close() resolves at once.
Napi::Value KernelWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value { return thread_->close(env, [kernel = kernel_] { kernel->reset(); }); });
}

}  // namespace vg
