// Host-side plans of the GPU kernels: the tables a kernel reads (resize taps, blur weights), made
// once per frame size from the op's arguments, the same for the device kernels and their host
// twins (pixel_ops.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pixel_ops.h"

namespace vg {
namespace px {

struct ResizePlan {
  enum Mode { kCopy, kLinear, kAreaBlock, kArea } mode = kCopy;
  int srcWidth = 0, srcHeight = 0, width = 0, height = 0, channels = 0;
  std::vector<LinearTap> tx, ty;  // kLinear: one per output column / row
  int blockX = 1, blockY = 1;     // kAreaBlock: source pixels per output pixel
  // kArea: taps of output column i are ax[axOffset[i] .. axOffset[i + 1]) (rows likewise).
  std::vector<AreaTap> ax, ay;
  std::vector<int> axOffset, ayOffset;
};

// `interpolation`: "INTER_LINEAR" or "INTER_AREA" (the interpolations with a GPU kernel).
ResizePlan planResize(int srcWidth, int srcHeight, int channels, int width, int height, const std::string& interpolation);

// cv::GaussianBlur's 8-bit fixed-point kernel (Σ = 256) for an odd size and a sigma (0: from the size).
std::vector<uint16_t> gaussianKernel(int size, double sigma);

// The conversion's GPU code for an OpenCV name, or -1 when it has no GPU kernel.
int gpuConversion(const std::string& name);

// swscale's constants for its unscaled YUV → RGB conversion, computed as FFmpeg 5.1's
// ff_yuv2rgb_c_init_tables does from sws_getColorspaceDetails' values: the inverse matrix
// {crv, cbu, cgu, cgv} (sws_getCoefficients), the source range, brightness, contrast, saturation.
YuvToRgbCoeffs yuvToRgbCoeffs(const int invTable[4], bool fullRange, int brightness, int contrast, int saturation);

}  // namespace px
}  // namespace vg
