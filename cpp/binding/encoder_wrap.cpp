#include "encoder_wrap.h"

#include <cmath>

#include "../video/limits.h"
#include "js_values.h"

namespace vg {

void EncoderWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeEncoder",
                                   {InstanceMethod("encode", &EncoderWrap::Encode), InstanceMethod("finish", &EncoderWrap::Finish),
                                    InstanceMethod("close", &EncoderWrap::Close)});
  exports.Set("NativeEncoder", cls);
  exports.Set("remux", Napi::Function::New(env, Remux, "remux"));
  exports.Set("concatEncoded", Napi::Function::New(env, ConcatEncoded, "concatEncoded"));
}

namespace {
double numberOption(const Napi::Object& o, const char* key, double fallback, double min, double max) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= min && d <= max))
    throwCoded(o.Env(), "ERR_BAD_ARGUMENT",
               std::string("NativeEncoder: expected ") + key + " between " + std::to_string(min) + " and " + std::to_string(max));
  return d;
}
}  // namespace

// new NativeEncoder(packetsPath, { width, height, fpsNum, fpsDen, crf, bitrate, gop, threads })
EncoderWrap::EncoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EncoderWrap>(info) {
  Napi::Env env = info.Env();
  guarded(env, [&] {
    if (!info[0].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "NativeEncoder: expected the packet file path");
    path_ = info[0].As<Napi::String>().Utf8Value();
    Napi::Object o = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    options_.width = static_cast<int>(numberOption(o, "width", 0, 0, kMaxFrameSide));
    options_.height = static_cast<int>(numberOption(o, "height", 0, 0, kMaxFrameSide));
    options_.frameRate = AVRational{static_cast<int>(numberOption(o, "fpsNum", 30, 1, 1e6)), static_cast<int>(numberOption(o, "fpsDen", 1, 1, 1e6))};
    options_.crf = static_cast<int>(numberOption(o, "crf", 23, 0, 63));
    options_.bitrate = static_cast<int64_t>(numberOption(o, "bitrate", 0, 0, 1e10));
    options_.gop = static_cast<int>(numberOption(o, "gop", 0, 0, 1e6));
    options_.threads = static_cast<int>(numberOption(o, "threads", 0, 0, kMaxThreadsOption));
    encoder_ = std::make_shared<std::unique_ptr<VideoEncoder>>();
    thread_ = std::make_unique<EngineThread>(env, "encoder");
  });
}

EncoderWrap::~EncoderWrap() {
  // A finalizer: the encoder is dropped on its own thread after the queued calls; no waiting.
  if (!thread_) return;
  thread_->closeFromFinalizer([holder = encoder_] { holder->reset(); });
}

void EncoderWrap::checkOpen(Napi::Env env, const char* method) const {
  if (!thread_ || thread_->stopped()) throwCoded(env, "ERR_CLOSED", std::string("NativeEncoder.") + method + ": the encoder is finished or closed");
}

// encode(frames: { height, width, channels, dtype, data }[]) → Promise<void>
Napi::Value EncoderWrap::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    checkOpen(env, "encode");
    if (!info[0].IsArray()) throwCoded(env, "ERR_BAD_ARGUMENT", "NativeEncoder.encode: expected an array of frames");
    Napi::Array arr = info[0].As<Napi::Array>();
    auto frames = std::make_shared<std::vector<FrameData>>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      FrameData d = frameFromJs(arr.Get(i), "NativeEncoder.encode frame " + std::to_string(i));
      if (d.dtype != DType::U8 || d.channels != 3 || d.width != options_.width || d.height != options_.height)
        throwCoded(env, "ERR_BAD_ARGUMENT", "NativeEncoder.encode frame " + std::to_string(i) + ": expected a " + std::to_string(options_.height) +
                                                "x" + std::to_string(options_.width) + "x3 uint8 frame");
      frames->push_back(std::move(d));
    }
    auto holder = encoder_;
    auto path = path_;
    auto options = options_;
    return thread_->submit(env, [holder, frames, path, options]() -> Settle {
      if (!*holder) *holder = std::make_unique<VideoEncoder>(path, options);
      for (const FrameData& f : *frames) (*holder)->encode(f);
      return nullptr;
    });
  });
}

// finish() → Promise<{ index: Buffer, info }>
Napi::Value EncoderWrap::Finish(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    checkOpen(env, "finish");
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
    return done;
  });
}

// close() → Promise<void>: discards the encoder without finishing (an aborted output).
Napi::Value EncoderWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value { return thread_->close(env, [holder = encoder_] { holder->reset(); }); });
}

// remux(index: Uint8Array, dataPath: string, outPath: string) → Promise<void>
Napi::Value Remux(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const std::string bytes = bytesArg(info[0], "the packet index");
    if (!info[1].IsString() || !info[2].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "remux: expected the data path and the output path");
    std::shared_ptr<VideoIndex> index = VideoIndex::deserialize(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    const std::string dataPath = info[1].As<Napi::String>().Utf8Value();
    const std::string outPath = info[2].As<Napi::String>().Utf8Value();
    return runDetached(env, "remux", [index, dataPath, outPath]() -> Settle {
      remuxToMp4(*index, dataPath, outPath);
      return nullptr;
    });
  });
}

// concatEncoded(parts: { index: Uint8Array, data: string }[], outPath: string) → Promise<{ index: Buffer, info }>
Napi::Value ConcatEncoded(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsArray() || !info[1].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "concatEncoded: expected the parts and the output path");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<std::pair<std::shared_ptr<VideoIndex>, std::string>> parts;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      if (!v.IsObject() || !v.As<Napi::Object>().Get("data").IsString())
        throwCoded(env, "ERR_BAD_ARGUMENT", "concatEncoded: expected part " + std::to_string(i) + " as { index, data }");
      const std::string bytes = bytesArg(v.As<Napi::Object>().Get("index"), "the packet index");
      parts.emplace_back(VideoIndex::deserialize(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                         v.As<Napi::Object>().Get("data").As<Napi::String>().Utf8Value());
    }
    const std::string outPath = info[1].As<Napi::String>().Utf8Value();
    return runDetached(env, "concatEncoded", [parts = std::move(parts), outPath]() -> Settle {
      auto index = concatEncoded(parts, outPath);
      auto bytes = std::make_shared<std::vector<uint8_t>>(index->serialize());
      return [index, bytes](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("index", Napi::Buffer<uint8_t>::Copy(env, bytes->data(), bytes->size()));
        o.Set("info", indexInfo(env, *index));
        return o;
      };
    });
  });
}

}  // namespace vg
