// JS class NativeEncoder: one H.264 encoder on its own engine thread; remux() writes MP4.
#pragma once

#include <napi.h>

#include <memory>

#include "../engine/engine_thread.h"
#include "../video/encoder.h"

namespace vg {

class EncoderWrap : public Napi::ObjectWrap<EncoderWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit EncoderWrap(const Napi::CallbackInfo& info);
  ~EncoderWrap() override;

 private:
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Finish(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void checkOpen(Napi::Env env, const char* method) const;

  std::string path_;
  EncoderOptions options_;
  // Only the encoder's engine thread uses or destroys it.
  std::shared_ptr<std::unique_ptr<VideoEncoder>> encoder_;
  std::unique_ptr<EngineThread> thread_;
};

Napi::Value Remux(const Napi::CallbackInfo& info);
Napi::Value ConcatEncoded(const Napi::CallbackInfo& info);

}  // namespace vg
