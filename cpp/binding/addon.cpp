// Module entry: registers the native API the TypeScript layer (lib/native.ts) wraps.
#include <napi.h>
#include <opencv2/core/version.hpp>

#include "../engine/engine_thread.h"
#include "../video/encoder.h"
#include "../video/ffmpeg.h"
#include "../video/frame_memory.h"
#include "decoder_wrap.h"
#include "encoder_wrap.h"
#include "kernel_wrap.h"
#include "../kernels/cuda/gpu_device.h"
#include "../kernels/cuda/host_twins.h"
#include "../video/rgb_converter.h"

namespace vg {

Napi::Value Scan(const Napi::CallbackInfo& info);
Napi::Value IndexInfo(const Napi::CallbackInfo& info);
Napi::Value ScanInfo(const Napi::CallbackInfo& info);
Napi::Value ScanInfoSync(const Napi::CallbackInfo& info);
Napi::Value ClassifyIndex(const Napi::CallbackInfo& info);

namespace {

Napi::Value Versions(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  auto v = [](unsigned x) {
    return std::to_string(AV_VERSION_MAJOR(x)) + "." + std::to_string(AV_VERSION_MINOR(x)) + "." +
           std::to_string(AV_VERSION_MICRO(x));
  };
  o.Set("ffmpeg", av_version_info());
  o.Set("libavcodec", v(avcodec_version()));
  o.Set("libavformat", v(avformat_version()));
  o.Set("libavfilter", v(avfilter_version()));
  o.Set("libavutil", v(avutil_version()));
  o.Set("ffmpegLicense", avcodec_license());
  o.Set("opencv", CV_VERSION);
  // The H.264 encoder compressVideo() and the demo sample use ("none" when the build has none).
  const AVCodec* h264 = findH264Encoder(nullptr);
  o.Set("h264Encoder", h264 ? h264->name : "none");
  return o;
}

// gpuStatus() → { built, available, devices, names, driverVersion, runtimeVersion, reason }: what
// the CUDA probe found (cpp/kernels/cuda/gpu_device.h); hasGpu() is its `available`.
Napi::Value GpuStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const gpu::Status& s = gpu::status();
  Napi::Object o = Napi::Object::New(env);
  o.Set("built", s.built);
  o.Set("available", s.available);
  o.Set("devices", s.devices);
  Napi::Array names = Napi::Array::New(env, s.names.size());
  for (size_t i = 0; i < s.names.size(); i++) names.Set(static_cast<uint32_t>(i), s.names[i]);
  o.Set("names", names);
  o.Set("driverVersion", s.driverVersion);
  o.Set("runtimeVersion", s.runtimeVersion);
  o.Set("reason", s.reason);
  return o;
}

Napi::Value HasGpu(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), gpu::status().available); }

// trimFrameMemory() → bytes: returns the recycled frame buffers to the system (close paths).
Napi::Value TrimFrameMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(trimFrameMemory()));
}

// releaseBuffer(ab): detaches an ArrayBuffer, so that every view of it becomes empty and an engine
// frame's memory goes back to the frame pool now instead of when the garbage collector gets to
// it. A buffer already detached (or not detachable) is left as it is.
Napi::Value ReleaseBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsArrayBuffer()) throwCoded(env, "ERR_BAD_ARGUMENT", "releaseBuffer: expected an ArrayBuffer");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    bool detached = false;
    if (napi_is_detached_arraybuffer(env, ab, &detached) == napi_ok && !detached) napi_detach_arraybuffer(env, ab);
    return env.Undefined();
  });
}

// nv12ToRgb(nv12, width, height, colorspace, fullRange, device, gpu?) → Uint8Array (tests): an
// NV12 picture (packed rows: luma, then U,V pairs of ceil(width / 2) at half height) converted as
// NVDEC's pictures are, with the constants the decoder picks for a frame of that AVColorSpace and
// range; device 'host-twin' runs the arithmetic on the CPU, 'gpu' runs the CUDA kernel on `gpu`.
// Synchronous: a test hook, not a public call.
Napi::Value Nv12ToRgb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const int width = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    const int height = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
    if (width < 1 || height < 2 || height % 2 || width > 16384 || height > 16384)
      throwCoded(env, "ERR_BAD_ARGUMENT", "nv12ToRgb: expected width 1–16384 and an even height 2–16384");
    const size_t chromaPitch = static_cast<size_t>(width + 1) / 2 * 2, lumaBytes = static_cast<size_t>(width) * height;
    const size_t bytes = lumaBytes + chromaPitch * (height / 2);
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().ByteLength() != bytes)
      throwCoded(env, "ERR_BAD_ARGUMENT", "nv12ToRgb: expected a Uint8Array of " + std::to_string(bytes) + " bytes");
    Napi::Uint8Array nv12 = info[0].As<Napi::Uint8Array>();
    FramePtr frame = allocFrame();
    frame->width = width;
    frame->height = height;
    frame->colorspace = static_cast<AVColorSpace>(info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 2);
    frame->color_range = info[4].ToBoolean() ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    px::YuvToRgbCoeffs k;
    if (!RgbConverter(0, 0).unscaled420(frame.get(), AV_PIX_FMT_NV12, AV_PIX_FMT_YUV420P, k))
      throwCoded(env, "ERR_INTERNAL", "nv12ToRgb: the CPU does not convert this picture with swscale's x86 4:2:0 converter");
    const gpu::Nv12Planes planes{nv12.Data(), static_cast<size_t>(width), nv12.Data() + lumaBytes, chromaPitch, width, height};
    Napi::Uint8Array out = Napi::Uint8Array::New(env, static_cast<size_t>(width) * height * 3);
    const std::string device = info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : "host-twin";
    if (device == "gpu") gpu::nv12ToRgbFromHost(info[6].IsNumber() ? info[6].As<Napi::Number>().Int32Value() : 0, planes, k, out.Data());
    else px::hostNv12ToRgb(planes, k, out.Data());
    return out;
  });
}

Napi::Value SetLogLevel(const Napi::CallbackInfo& info) {
  static const std::pair<const char*, int> levels[] = {
      {"silent", AV_LOG_QUIET}, {"error", AV_LOG_ERROR}, {"warn", AV_LOG_WARNING},
      {"info", AV_LOG_INFO},    {"debug", AV_LOG_DEBUG}};
  const std::string name = info[0].ToString().Utf8Value();
  for (const auto& l : levels)
    if (name == l.first) av_log_set_level(l.second);
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  av_log_set_level(AV_LOG_QUIET);  // FFmpeg's own chatter is opt-in (Client logLevel: 'debug')
  exports.Set("scan", Napi::Function::New(env, Scan, "scan"));
  exports.Set("indexInfo", Napi::Function::New(env, IndexInfo, "indexInfo"));
  exports.Set("scanInfo", Napi::Function::New(env, ScanInfo, "scanInfo"));
  exports.Set("scanInfoSync", Napi::Function::New(env, ScanInfoSync, "scanInfoSync"));
  exports.Set("classifyIndex", Napi::Function::New(env, ClassifyIndex, "classifyIndex"));
  exports.Set("trimFrameMemory", Napi::Function::New(env, TrimFrameMemory, "trimFrameMemory"));
  exports.Set("releaseBuffer", Napi::Function::New(env, ReleaseBuffer, "releaseBuffer"));
  exports.Set("versions", Napi::Function::New(env, Versions, "versions"));
  exports.Set("hasGpu", Napi::Function::New(env, HasGpu, "hasGpu"));
  exports.Set("gpuStatus", Napi::Function::New(env, GpuStatus, "gpuStatus"));
  exports.Set("nv12ToRgb", Napi::Function::New(env, Nv12ToRgb, "nv12ToRgb"));
  exports.Set("setLogLevel", Napi::Function::New(env, SetLogLevel, "setLogLevel"));
  DecoderWrap::Init(env, exports);
  KernelWrap::Init(env, exports);
  EncoderWrap::Init(env, exports);
  return exports;
}

}  // namespace vg

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return vg::Init(env, exports); }

NODE_API_MODULE(vidgraph, InitModule)
