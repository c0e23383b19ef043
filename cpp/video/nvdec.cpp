// NVDEC through FFmpeg's CUDA hwaccel (nvdec.h).
#include "nvdec.h"

#include <map>
#include <mutex>

extern "C" {
#include <libavutil/hwcontext.h>
}

namespace vg {
namespace nvdec {

namespace {

// The process's CUDA device contexts, by GPU id: opened on first use, kept for the process's
// life (FFmpeg's CUDA context is expensive to create and safe to share between codecs).
AVBufferRef* deviceContext(int gpu) {
  static std::mutex mutex;
  static std::map<int, AVBufferRef*> devices;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = devices.find(gpu);
  if (it != devices.end()) return it->second;
  AVBufferRef* device = nullptr;
  const int ret = av_hwdevice_ctx_create(&device, AV_HWDEVICE_TYPE_CUDA, std::to_string(gpu).c_str(), nullptr, 0);
  if (ret < 0)
    throw VgError("ERR_NO_GPU", "NVDEC: FFmpeg cannot open CUDA device " + std::to_string(gpu) + ": " + avErrorString(ret) +
                                    " (no NVIDIA driver, no such device, or an FFmpeg built without CUDA)");
  devices.emplace(gpu, device);
  return device;
}

AVPixelFormat pickCuda(AVCodecContext* ctx, const AVPixelFormat* formats) {
  for (const AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; p++)
    if (*p == AV_PIX_FMT_CUDA) return *p;
  // NVDEC cannot take this stream's profile: FFmpeg's software formats.
  return avcodec_default_get_format(ctx, formats);
}

}  // namespace

bool attach(AVCodecContext* ctx, const AVCodec* codec, int gpu) {
  bool supported = false;
  for (int i = 0;; i++) {
    const AVCodecHWConfig* config = avcodec_get_hw_config(codec, i);
    if (!config) break;
    if ((config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) && config->device_type == AV_HWDEVICE_TYPE_CUDA) supported = true;
  }
  if (!supported) return false;
  ctx->hw_device_ctx = av_buffer_ref(deviceContext(gpu));
  if (!ctx->hw_device_ctx) throw std::bad_alloc();
  ctx->get_format = pickCuda;
  ctx->thread_count = 1;  // NVDEC decodes asynchronously itself; frame threads only add delay
  return true;
}

bool download(AVFrame* frame) {
  if (!frame->hw_frames_ctx) return false;
  FramePtr host = allocFrame();
  int ret = av_hwframe_transfer_data(host.get(), frame, 0);
  if (ret >= 0) ret = av_frame_copy_props(host.get(), frame);
  if (ret < 0) throw VgError("ERR_DECODE", "NVDEC: copying a decoded picture from the GPU failed: " + avErrorString(ret));
  av_frame_unref(frame);
  av_frame_move_ref(frame, host.get());
  return true;
}

}  // namespace nvdec
}  // namespace vg
