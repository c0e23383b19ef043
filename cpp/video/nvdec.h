// NVDEC: decoding on an NVIDIA GPU through FFmpeg's CUDA hwaccel. One FFmpeg CUDA device context
// per GPU for the whole process; a codec context asked to decode on GPU n gets a reference to it
// and picks the CUDA pixel format whenever FFmpeg offers it (a profile NVDEC cannot take, such as
// H.264 4:4:4, decodes in software). Decoded pictures (NV12, P010) are copied to host memory as
// they come out, and converted to RGB like the CPU decoder's.
#pragma once

#include "ffmpeg.h"
#include "../kernels/cuda/gpu_device.h"

namespace vg {
namespace nvdec {

// Before avcodec_open2: makes `ctx` decode on CUDA device `gpu` when `codec` has a CUDA hwaccel.
// Returns false, leaving ctx as it was, when it has none (the codec then decodes on the CPU).
// Throws ERR_NO_GPU when the device cannot be opened (no driver, no such device, an FFmpeg
// built without CUDA).
bool attach(AVCodecContext* ctx, const AVCodec* codec, int gpu);

// A picture on the device becomes the same picture in host memory (in place); host pictures
// are left alone. Returns false for a host picture, true for one copied; throws ERR_DECODE when
// the copy fails.
bool download(AVFrame* frame);

// The software format of a picture on the device (NV12, P010, …); AV_PIX_FMT_NONE for a host picture.
int deviceFormat(const AVFrame* frame);

// The CUDA context (a CUcontext) of FFmpeg's device that holds a picture on the device; null for a
// host picture.
void* cudaContext(const AVFrame* frame);

// An NV12 picture on the device becomes, in place, its RGB24 picture in host memory, converted on
// the device by `converter` (made for the picture's cudaContext) with the constants `k`
// (RgbConverter::unscaled420); its properties (pts, side data) stay. Throws ERR_DECODE when the
// RGB picture cannot be allocated.
void convertOnDevice(AVFrame* frame, gpu::Nv12Converter& converter, const px::YuvToRgbCoeffs& k);

}  // namespace nvdec
}  // namespace vg
