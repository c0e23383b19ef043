// CUDA devices: what this machine has (probed through the driver library, loaded lazily, so the
// same binary runs where there is no driver), and a workspace that runs the GPU kernels of the
// built-in ops on one device. The workspace is implemented in gpu_kernels.cu when the engine is
// built with CUDA (VG_HAVE_CUDA); without it, making one throws ERR_NO_GPU.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plans.h"

namespace vg {
namespace gpu {

struct Status {
  bool built = false;      // compiled with CUDA (nvcc was found at build time)
  bool available = false;  // built, a driver, and at least one device
  int devices = 0;
  int driverVersion = 0;   // e.g. 12040 for 12.4; 0 without a driver
  int runtimeVersion = 0;  // the CUDA runtime linked in; 0 when not built
  std::vector<std::string> names;
  std::string reason;      // why not available (empty when available)
};

// Probes once per process (the driver's answer does not change while it runs).
const Status& status();

// Throws ERR_NO_GPU naming what is missing unless `device` can be used.
void requireDevice(int device, const std::string& who);

// A thrown error with a VidgraphError code (gpu_device.cpp makes it a VgError).
[[noreturn]] void fail(const std::string& code, const std::string& message);

// An 8-bit interleaved frame in host memory (continuous rows).
struct HostFrame {
  const uint8_t* data;
  int width, height, channels;
};

// One device, one CUDA stream, device buffers that grow to the largest frame seen, and pinned
// host buffers for the copies in and out. Not thread-safe: one per kernel instance.
class Workspace {
 public:
  virtual ~Workspace() = default;
  virtual void resize(const HostFrame& in, const px::ResizePlan& plan, uint8_t* out) = 0;
  virtual void convert(const HostFrame& in, int conversion, uint8_t* out) = 0;
  virtual void blur(const HostFrame& in, const std::vector<uint16_t>& kernel, uint8_t* out) = 0;
  virtual void histogram(const HostFrame& in, int32_t bins[48]) = 0;
  virtual void clone(const HostFrame& in, int replications, uint8_t* out) = 0;
};

std::unique_ptr<Workspace> makeWorkspace(int device);

// An NV12 picture: a luma plane and an interleaved U,V plane at half height, rows `pitch` apart.
struct Nv12Planes {
  const uint8_t* luma;
  size_t lumaPitch;
  const uint8_t* chroma;
  size_t chromaPitch;
  int width, height;
};

// Makes `context` (a driver-API CUcontext, such as FFmpeg's CUDA device context) current on the
// calling thread while it lives, so that CUDA runtime calls run in that context.
class ContextScope {
 public:
  explicit ContextScope(void* context);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  bool pushed_ = false;
};

// NVDEC's colour conversion in FFmpeg's CUDA context `context` (its pictures live there): an NV12
// picture in device memory becomes RGB24 in host memory `out` (width × height × 3), by the CUDA
// twin of swscale's arithmetic (pixel_ops.h yuvToRgbPixel). Its stream waits for the work on the
// context's legacy default stream (where FFmpeg maps the decoded surface). Holds a stream, the
// device RGB buffer and a pinned staging buffer; one per decoder.
class Nv12Converter {
 public:
  virtual ~Nv12Converter() = default;
  virtual void convert(const Nv12Planes& onDevice, const px::YuvToRgbCoeffs& k, uint8_t* out) = 0;
};
// Throws ERR_NO_GPU when no GPU can be used (or the engine was built without CUDA), ERR_INTERNAL
// for a null context.
std::unique_ptr<Nv12Converter> makeNv12Converter(void* context);

// The same conversion from a picture in host memory, uploaded to GPU `device` first (in its
// primary context): the GPU suite's check of the kernel against its host twin.
void nv12ToRgbFromHost(int device, const Nv12Planes& onHost, const px::YuvToRgbCoeffs& k, uint8_t* out);

}  // namespace gpu
}  // namespace vg
