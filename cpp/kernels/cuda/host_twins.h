// The GPU kernels' host twins: the same per-pixel functions (pixel_ops.h) over whole frames on
// the CPU. They are what the tests hold against OpenCV here, where no GPU is attached, and what
// `npm run test:gpu` holds the device kernels against on a GPU machine.
#pragma once

#include <cstdint>
#include <vector>

#include "gpu_device.h"
#include "plans.h"

namespace vg {
namespace px {

// Each writes a continuous frame (rows width × channels bytes apart) to `out`.
void hostResize(const View& src, const ResizePlan& plan, uint8_t* out);
void hostConvert(const View& src, int conversion, uint8_t* out);
void hostBlur(const View& src, const std::vector<uint16_t>& kernel, uint8_t* out);
void hostHistogram(const View& src, int32_t bins[48]);
void hostClone(const View& src, int replications, uint8_t* out);
// NVDEC's colour conversion (gpu::Nv12Converter) on the CPU: out is width × height × 3.
void hostNv12ToRgb(const gpu::Nv12Planes& src, const YuvToRgbCoeffs& k, uint8_t* out);

// A workspace (gpu_device.h) that runs the host twins: the GPU kernels' arithmetic on the CPU
// (NativeKernel's device 'host-twin', for the tests).
std::unique_ptr<gpu::Workspace> makeHostWorkspace();

}  // namespace px
}  // namespace vg
