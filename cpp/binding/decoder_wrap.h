// JS class NativeDecoder: one VideoDecoder on its own engine thread.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "../engine/engine_thread.h"
#include "../video/decoder.h"

namespace vg {

class DecoderWrap : public Napi::ObjectWrap<DecoderWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit DecoderWrap(const Napi::CallbackInfo& info);
  ~DecoderWrap() override;

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value RowTimes(const Napi::CallbackInfo& info);
  Napi::Value KeyframeRows(const Napi::CallbackInfo& info);
  Napi::Value Decode(const Napi::CallbackInfo& info);
  Napi::Value Plan(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // Throws ERR_CLOSED after close().
  void checkOpen(Napi::Env env, const char* method) const;

  std::shared_ptr<const VideoIndex> index_;
  std::shared_ptr<const PacketFile> file_;
  DecoderOptions options_;
  // Created on the engine thread at the first decode; only that thread touches it, and only
  // that thread destroys it (close() or the finalizer queue its reset).
  std::shared_ptr<std::unique_ptr<VideoDecoder>> decoder_;
  // Set by close(): the decode in progress stops at its next packet.
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::unique_ptr<EngineThread> thread_;
};

}  // namespace vg
