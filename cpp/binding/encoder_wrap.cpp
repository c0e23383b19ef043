#include "encoder_wrap.h"

#include "js_values.h"

namespace vg {

void EncoderWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeEncoder",
                                   {InstanceMethod("encode", &EncoderWrap::Encode), InstanceMethod("finish", &EncoderWrap::Finish)});
  exports.Set("NativeEncoder", cls);
  exports.Set("remux", Napi::Function::New(env, Remux, "remux"));
}

// new NativeEncoder(packetsPath, { width, height, fpsNum, fpsDen, crf, bitrate, gop, threads })
EncoderWrap::EncoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EncoderWrap>(info) {
  Napi::Env env = info.Env();
  path_ = info[0].ToString().Utf8Value();
  Napi::Object o = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  auto num = [&](const char* k, double d) { return o.Get(k).IsNumber() ? o.Get(k).As<Napi::Number>().DoubleValue() : d; };
  options_.width = static_cast<int>(num("width", 0));
  options_.height = static_cast<int>(num("height", 0));
  options_.frameRate = AVRational{static_cast<int>(num("fpsNum", 30)), static_cast<int>(num("fpsDen", 1))};
  options_.crf = static_cast<int>(num("crf", 23));
  options_.bitrate = static_cast<int64_t>(num("bitrate", 0));
  options_.gop = static_cast<int>(num("gop", 0));
  options_.threads = static_cast<int>(num("threads", 0));
  encoder_ = std::make_shared<std::unique_ptr<VideoEncoder>>();
  thread_ = std::make_unique<EngineThread>(env, "encoder");
}

EncoderWrap::~EncoderWrap() { thread_.reset(); }

// encode(frames: { height, width, channels, dtype, data }[]) → Promise<void>
Napi::Value EncoderWrap::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!thread_) throwCoded(env, "ERR_BAD_ARGUMENT", "this encoder is finished");
  Napi::Array arr = info[0].As<Napi::Array>();
  auto frames = std::make_shared<std::vector<FrameData>>();
  auto refs = std::make_shared<std::vector<Napi::Reference<Napi::Value>>>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object f = arr.Get(i).As<Napi::Object>();
    Napi::TypedArray ta = f.Get("data").As<Napi::TypedArray>();
    FrameData d;
    d.height = f.Get("height").ToNumber().Int32Value();
    d.width = f.Get("width").ToNumber().Int32Value();
    d.channels = f.Get("channels").ToNumber().Int32Value();
    if (!dtypeFromName(f.Get("dtype").ToString().Utf8Value(), &d.dtype)) throwCoded(env, "ERR_BAD_ARGUMENT", "unknown dtype");
    d.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    if (ta.ByteLength() != d.bytes()) throwCoded(env, "ERR_BAD_ARGUMENT", "frame shape does not match its data");
    frames->push_back(d);
    refs->push_back(Napi::Persistent(arr.Get(i)));
  }
  auto holder = encoder_;
  auto path = path_;
  auto options = options_;
  return thread_->submit(env, [holder, frames, refs, path, options]() -> Settle {
    if (!*holder) *holder = std::make_unique<VideoEncoder>(path, options);
    for (const FrameData& f : *frames) (*holder)->encode(f);
    return [refs](Napi::Env env) -> Napi::Value {
      refs->clear();
      return env.Undefined();
    };
  });
}

// finish() → Promise<{ index: Buffer, info }>
Napi::Value EncoderWrap::Finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!thread_) throwCoded(env, "ERR_BAD_ARGUMENT", "this encoder is finished");
  auto holder = encoder_;
  auto path = path_;
  auto options = options_;
  Napi::Promise done = thread_->submit(env, [holder, path, options]() -> Settle {
    if (!*holder) *holder = std::make_unique<VideoEncoder>(path, options);
    auto index = (*holder)->finish();
    holder->reset();
    auto bytes = std::make_shared<std::vector<uint8_t>>(index->serialize());
    return [index, bytes](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("index", Napi::Buffer<uint8_t>::Copy(env, bytes->data(), bytes->size()));
      o.Set("info", indexInfo(env, *index));
      return o;
    };
  });
  thread_->stop();
  thread_.reset();
  return done;
}

// remux(index: Uint8Array, dataPath: string, outPath: string) → Promise<void>
Napi::Value Remux(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto bytes = bytesArg(info[0], "the packet index");
  std::shared_ptr<VideoIndex> index;
  try {
    index = VideoIndex::deserialize(bytes.first, bytes.second);
  } catch (const VgError& e) {
    throwCoded(env, e.code(), e.what());
  }
  const std::string dataPath = info[1].ToString().Utf8Value();
  const std::string outPath = info[2].ToString().Utf8Value();
  return runDetached(env, "remux", [index, dataPath, outPath]() -> Settle {
    remuxToMp4(*index, dataPath, outPath);
    return nullptr;
  });
}

}  // namespace vg
