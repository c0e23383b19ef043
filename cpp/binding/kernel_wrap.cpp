#include "kernel_wrap.h"

#include <unordered_map>

#include "../plugin/plugin_loader.h"
#include "../video/ffmpeg.h"

namespace vg {

// useStdMatAllocator(): makes OpenCV allocate with its own allocator again (see lib/frame.ts).
Napi::Value UseStdMatAllocator(const Napi::CallbackInfo& info) {
  cv::Mat::setDefaultAllocator(cv::Mat::getStdAllocator());
  return info.Env().Undefined();
}

// loadPlugin(path: string) → Promise<string[]> (the op names it registered)
Napi::Value LoadPlugin(const Napi::CallbackInfo& info) {
  const std::string path = info[0].ToString().Utf8Value();
  return runDetached(info.Env(), "plugin", [path]() -> Settle {
    auto names = std::make_shared<std::vector<std::string>>(loadPlugin(path));
    return [names](Napi::Env env) -> Napi::Value {
      Napi::Array a = Napi::Array::New(env, names->size());
      for (size_t i = 0; i < names->size(); i++) a.Set(static_cast<uint32_t>(i), (*names)[i]);
      return a;
    };
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

// JS values the engine reads while a job runs are kept alive by these references.
struct HeldInputs {
  std::vector<Napi::Reference<Napi::Value>> refs;
  std::unordered_map<const uint8_t*, size_t> jsByData;  // frame data pointer → index in refs
};

Element elementFromJs(Napi::Env env, const Napi::Value& v, HeldInputs& held, const std::string& where) {
  if (v.IsNull() || v.IsUndefined()) return Element::null();
  if (v.IsTypedArray()) {  // bytes
    Napi::Uint8Array u = v.As<Napi::Uint8Array>();
    const uint8_t* p = u.Data();
    return Element::ofBytes(std::vector<uint8_t>(p, p + u.ByteLength()));
  }
  if (!v.IsObject()) throwCoded(env, "ERR_BAD_ARGUMENT", where + ": expected a frame, a Uint8Array or null");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value data = o.Get("data");
  uint8_t* base = nullptr;
  size_t length = 0;
  if (data.IsTypedArray()) {
    Napi::TypedArray ta = data.As<Napi::TypedArray>();
    base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    length = ta.ByteLength();
  } else if (data.IsArrayBuffer()) {
    base = static_cast<uint8_t*>(data.As<Napi::ArrayBuffer>().Data());
    length = data.As<Napi::ArrayBuffer>().ByteLength();
  } else {
    throwCoded(env, "ERR_BAD_ARGUMENT", where + ": a frame needs `data` (a typed array or ArrayBuffer)");
  }
  FrameData f;
  f.height = o.Get("height").ToNumber().Int32Value();
  f.width = o.Get("width").ToNumber().Int32Value();
  f.channels = o.Get("channels").ToNumber().Int32Value();
  if (!dtypeFromName(o.Get("dtype").ToString().Utf8Value(), &f.dtype))
    throwCoded(env, "ERR_BAD_ARGUMENT", where + ": unknown dtype");
  f.data = base;
  if (f.height <= 0 || f.width <= 0 || f.channels <= 0 || length != f.bytes())
    throwCoded(env, "ERR_BAD_ARGUMENT", where + ": frame shape does not match its data");
  held.jsByData[f.data] = held.refs.size();
  held.refs.push_back(Napi::Persistent(v));
  return Element::ofFrame(std::move(f));
}

Napi::Value elementToJs(Napi::Env env, const Element& e, const HeldInputs& held) {
  switch (e.kind) {
    case Element::Kind::Null:
      return env.Null();
    case Element::Kind::Bytes: {
      auto holder = new std::shared_ptr<const std::vector<uint8_t>>(e.bytes);
      const size_t n = e.bytes->size();
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
          env, const_cast<uint8_t*>(e.bytes->data()), n,
          [](Napi::Env en, void*, std::shared_ptr<const std::vector<uint8_t>>* h) {
            Napi::MemoryManagement::AdjustExternalMemory(en, -static_cast<int64_t>((*h)->size()));
            delete h;
          },
          holder);
      Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(n));
      return Napi::Uint8Array::New(env, n, ab, 0);
    }
    case Element::Kind::Frame: {
      if (!e.frame.owner) {
        // Not engine memory: an input frame passed through (Pass). Hand back the same object.
        auto it = held.jsByData.find(e.frame.data);
        if (it != held.jsByData.end()) return held.refs[it->second].Value();
      }
      Napi::Object o = Napi::Object::New(env);
      o.Set("height", e.frame.height);
      o.Set("width", e.frame.width);
      o.Set("channels", e.frame.channels);
      o.Set("dtype", dtypeName(e.frame.dtype));
      const size_t n = e.frame.bytes();
      auto holder = new std::shared_ptr<void>(e.frame.owner);
      o.Set("data", Napi::ArrayBuffer::New(
                        env, e.frame.data, n,
                        [n](Napi::Env en, void*, std::shared_ptr<void>* h) {
                          Napi::MemoryManagement::AdjustExternalMemory(en, -static_cast<int64_t>(n));
                          delete h;
                        },
                        holder));
      Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(n));
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
                                    InstanceMethod("close", &KernelWrap::Close)});
  exports.Set("NativeKernel", cls);
  exports.Set("ops", Napi::Function::New(env, ListOps, "ops"));
  exports.Set("loadPlugin", Napi::Function::New(env, LoadPlugin, "loadPlugin"));
  exports.Set("useStdMatAllocator", Napi::Function::New(env, UseStdMatAllocator, "useStdMatAllocator"));
}

Napi::Value ListOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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
}

// new NativeKernel(op: string, args: Record<string, number | string | boolean>)
KernelWrap::KernelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KernelWrap>(info) {
  Napi::Env env = info.Env();
  const std::string name = info[0].ToString().Utf8Value();
  spec_ = findOp(name);
  if (!spec_) throwCoded(env, "ERR_NOT_FOUND", "no op named '" + name + "'");
  Args args;
  if (info[1].IsTypedArray()) {  // plugin ops: the protobuf-encoded argument message
    Napi::Uint8Array raw = info[1].As<Napi::Uint8Array>();
    args.setRaw(std::string(reinterpret_cast<const char*>(raw.Data()), raw.ByteLength()));
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
  try {
    kernel_ = std::shared_ptr<Kernel>(spec_->factory(args));
  } catch (const VgError& e) {
    throwCoded(env, e.code(), e.what());
  }
  thread_ = std::make_unique<EngineThread>(env, "kernel");
}

KernelWrap::~KernelWrap() { thread_.reset(); }

// execute(inputs: Array<Array<element>>, rows: number) → Promise<Array<Array<element>>>
Napi::Value KernelWrap::Execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!thread_) throwCoded(env, "ERR_BAD_ARGUMENT", "this kernel is closed");
  if (!info[0].IsArray()) throwCoded(env, "ERR_BAD_ARGUMENT", spec_->name + ": expected an array of input columns");
  const size_t rows = info[1].ToNumber().Uint32Value();
  Napi::Array cols = info[0].As<Napi::Array>();
  auto held = std::make_shared<HeldInputs>();
  auto inputs = std::make_shared<std::vector<Column>>();
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
  return thread_->submit(env, [kernel, inputs, rows, held, name]() -> Settle {
    std::vector<Column> out;
    try {
      out = kernel->execute(*inputs, rows);
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
      held->refs.clear();  // the JS inputs may go now
      return cols;
    };
  });
}

Napi::Value KernelWrap::Reset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!thread_) throwCoded(env, "ERR_BAD_ARGUMENT", "this kernel is closed");
  auto kernel = kernel_;
  return thread_->submit(env, [kernel]() -> Settle {
    kernel->reset();
    return nullptr;
  });
}

Napi::Value KernelWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!thread_) return env.Undefined();
  auto kernel = kernel_;
  kernel_.reset();
  Napi::Promise done = thread_->submit(env, [kernel]() mutable -> Settle {
    kernel.reset();
    return nullptr;
  });
  thread_->stop();
  thread_.reset();
  return done;
}

}  // namespace vg
