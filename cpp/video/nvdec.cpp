// NVDEC through FFmpeg's CUDA hwaccel (nvdec.h).
#include "nvdec.h"

#include "../kernels/cuda/gpu_device.h"

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

int deviceFormat(const AVFrame* frame) {
  if (!frame->hw_frames_ctx) return AV_PIX_FMT_NONE;
  return reinterpret_cast<const AVHWFramesContext*>(frame->hw_frames_ctx->data)->sw_format;
}

void* cudaContext(const AVFrame* frame) {
  if (!frame->hw_frames_ctx) return nullptr;
  const AVHWDeviceContext* device = reinterpret_cast<const AVHWFramesContext*>(frame->hw_frames_ctx->data)->device_ctx;
  // AVCUDADeviceContext (libavutil/hwcontext_cuda.h, public) begins with its CUcontext; its
  // header needs CUDA's, which builds without CUDA lack.
  struct CudaDeviceHead {
    void* cudaContext;
  };
  return device && device->hwctx ? static_cast<const CudaDeviceHead*>(device->hwctx)->cudaContext : nullptr;
}

void convertOnDevice(AVFrame* frame, gpu::Nv12Converter& converter, const px::YuvToRgbCoeffs& k) {
  FramePtr rgb = allocFrame();
  rgb->format = AV_PIX_FMT_RGB24;
  rgb->width = frame->width;
  rgb->height = frame->height;
  int ret = av_frame_get_buffer(rgb.get(), 1);  // align 1: packed rows, as the kernel writes them
  if (ret >= 0 && rgb->linesize[0] != frame->width * 3) ret = AVERROR(EINVAL);
  if (ret >= 0) ret = av_frame_copy_props(rgb.get(), frame);
  if (ret < 0)
    throw VgError(ret == AVERROR(ENOMEM) ? "ERR_RESOURCE" : "ERR_DECODE", "NVDEC: allocating an RGB picture failed: " + avErrorString(ret));
  rgb->colorspace = AVCOL_SPC_RGB;  // converted: the converter copies it as it is
  rgb->color_range = AVCOL_RANGE_UNSPECIFIED;
  const gpu::Nv12Planes planes{frame->data[0], static_cast<size_t>(frame->linesize[0]), frame->data[1], static_cast<size_t>(frame->linesize[1]),
                               frame->width, frame->height};
  converter.convert(planes, k, rgb->data[0]);
  av_frame_unref(frame);
  av_frame_move_ref(frame, rgb.get());
}

}  // namespace nvdec
}  // namespace vg
