// Plans of the GPU kernels (plans.h): OpenCV 4.x's table construction, step for step, in
// double precision where OpenCV uses double or its soft double.
#include "plans.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace vg {
namespace px {

namespace {

// 11-bit resize weight: saturate_cast<short>(w * 2048), ties to even.
int weight11(float w) { return std::clamp(static_cast<int>(std::nearbyint(w * 2048.f)), -32768, 32767); }

// cv::resize's linear taps for one axis. `area`: INTER_AREA enlarging (OpenCV's linear path with
// weights from the covered fraction). Columns past an edge take the edge pixel whole; rows past an
// edge keep their weights over the edge row twice (as OpenCV does: the results differ in rounding).
std::vector<LinearTap> linearTaps(int src, int dst, bool area, bool columns) {
  const double inv = static_cast<double>(dst) / src;
  const double scale = 1. / inv;
  std::vector<LinearTap> taps(dst);
  for (int d = 0; d < dst; d++) {
    int s;
    float f;
    if (!area) {
      f = static_cast<float>((d + 0.5) * scale - 0.5);
      s = static_cast<int>(std::floor(f));
      f -= static_cast<float>(s);
    } else {
      s = static_cast<int>(std::floor(d * scale));
      f = static_cast<float>((d + 1) - (s + 1) * inv);
      f = f <= 0 ? 0.f : f - static_cast<float>(std::floor(f));
    }
    if (columns) {
      if (s < 0) f = 0, s = 0;
      if (s >= src - 1) f = 0, s = src - 1;
    }
    taps[d] = {std::clamp(s, 0, src - 1), std::clamp(s + 1, 0, src - 1), weight11(1.f - f), weight11(f)};
  }
  return taps;
}

// cv::resize's INTER_AREA taps for one axis (a reduction by `scale` ≥ 1), as offsets + taps.
void areaTaps(int src, int dst, std::vector<AreaTap>& taps, std::vector<int>& offsets) {
  const double scale = 1. / (static_cast<double>(dst) / src);
  taps.clear();
  offsets.assign(1, 0);
  for (int d = 0; d < dst; d++) {
    const double f1 = d * scale, f2 = f1 + scale;
    const double cell = std::min(scale, src - f1);
    int s1 = static_cast<int>(std::ceil(f1)), s2 = static_cast<int>(std::floor(f2));
    s2 = std::min(s2, src - 1);
    s1 = std::min(s1, s2);
    if (s1 - f1 > 1e-3) taps.push_back({s1 - 1, static_cast<float>((s1 - f1) / cell)});
    for (int s = s1; s < s2; s++) taps.push_back({s, static_cast<float>(1.0 / cell)});
    if (f2 - s2 > 1e-3) taps.push_back({s2, static_cast<float>(std::min(std::min(f2 - s2, 1.), cell) / cell)});
    offsets.push_back(static_cast<int>(taps.size()));
  }
}

}  // namespace

ResizePlan planResize(int srcWidth, int srcHeight, int channels, int width, int height, const std::string& interpolation) {
  ResizePlan p;
  p.srcWidth = srcWidth;
  p.srcHeight = srcHeight;
  p.width = width;
  p.height = height;
  p.channels = channels;
  if (srcWidth == width && srcHeight == height) return p;  // cv::resize copies
  const double scaleX = 1. / (static_cast<double>(width) / srcWidth), scaleY = 1. / (static_cast<double>(height) / srcHeight);
  const int wholeX = static_cast<int>(std::nearbyint(scaleX)), wholeY = static_cast<int>(std::nearbyint(scaleY));
  const bool whole = std::abs(scaleX - wholeX) < DBL_EPSILON && std::abs(scaleY - wholeY) < DBL_EPSILON;
  bool area = interpolation == "INTER_AREA";
  if (!area && whole && wholeX == 2 && wholeY == 2) area = true;  // OpenCV halves by INTER_AREA
  if (area && scaleX >= 1 && scaleY >= 1) {
    if (whole) {
      p.mode = ResizePlan::kAreaBlock;
      p.blockX = wholeX;
      p.blockY = wholeY;
    } else {
      p.mode = ResizePlan::kArea;
      areaTaps(srcWidth, width, p.ax, p.axOffset);
      areaTaps(srcHeight, height, p.ay, p.ayOffset);
    }
    return p;
  }
  p.mode = ResizePlan::kLinear;
  p.tx = linearTaps(srcWidth, width, area, true);
  p.ty = linearTaps(srcHeight, height, area, false);
  return p;
}

std::vector<uint16_t> gaussianKernel(int n, double sigma) {
  // The kernel in double (OpenCV's getGaussianKernelBitExact): fixed tables up to 7 taps without a
  // sigma, else exp(-x²/2σ²) normalised, the centre taking what the sides leave.
  std::vector<double> k(n);
  static const double k3[] = {0.25, 0.5, 0.25}, k5[] = {0.0625, 0.25, 0.375, 0.25, 0.0625},
                      k7[] = {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
  if (sigma <= 0 && n <= 7) {
    if (n == 1) k[0] = 1;
    else std::copy_n(n == 3 ? k3 : n == 5 ? k5 : k7, n, k.begin());
  } else {
    const double s = sigma > 0 ? sigma : std::fma(static_cast<double>(n), 0.15, 0.35);
    const double scale2 = -0.125 / (s * s);
    const int half = (n - 1) / 2;
    std::vector<double> v(half);
    double sum = 0;
    for (int i = 0, x = 1 - n; i < half; i++, x += 2) {
      v[i] = std::exp(static_cast<double>(x * x) * scale2);
      sum += v[i];
    }
    sum = sum * 2 + 1;
    const double mul = 1 / sum;
    for (int i = 0; i < half; i++) k[i] = k[n - 1 - i] = v[i] * mul;
    k[half] = mul;
  }
  // To 8 fractional bits with the rounding error carried outwards-in, the centre tap making Σ = 256.
  std::vector<uint16_t> fixed(n);
  const int half = n / 2;
  double err = 0;
  int64_t sum = 0;
  for (int i = 0; i < half; i++) {
    const double adjusted = k[i] * 256 + err;
    const int64_t v = static_cast<int64_t>(std::nearbyint(adjusted));
    err = adjusted - static_cast<double>(v);
    fixed[i] = fixed[n - 1 - i] = static_cast<uint16_t>(v);
    sum += v;
  }
  fixed[half] = static_cast<uint16_t>(256 - 2 * sum);
  return fixed;
}

int gpuConversion(const std::string& name) {
  if (name == "COLOR_RGB2GRAY") return kRgbToGray;
  if (name == "COLOR_BGR2GRAY") return kBgrToGray;
  if (name == "COLOR_GRAY2RGB" || name == "COLOR_GRAY2BGR") return kGrayToRgb;
  if (name == "COLOR_RGB2BGR" || name == "COLOR_BGR2RGB") return kSwapRedBlue;
  return -1;
}

namespace {
// roundToInt16 in libswscale/yuv2rgb.c: 16.16 fixed point to a saturated int16, half up.
int16_t roundToInt16(int64_t f) {
  const int r = static_cast<int>((f + (1 << 15)) >> 16);
  return static_cast<int16_t>(r < -0x7FFF ? -0x8000 : r > 0x7FFF ? 0x7FFF : r);
}
}  // namespace

YuvToRgbCoeffs yuvToRgbCoeffs(const int invTable[4], bool fullRange, int brightness, int contrast, int saturation) {
  int64_t crv = invTable[0], cbu = invTable[1], cgu = -invTable[2], cgv = -invTable[3];
  int64_t cy = 1 << 16, oy = 0;
  if (!fullRange) {
    cy = (cy * 255) / 219;
    oy = 16 << 16;
  } else {
    crv = (crv * 224) / 255;
    cbu = (cbu * 224) / 255;
    cgu = (cgu * 224) / 255;
    cgv = (cgv * 224) / 255;
  }
  cy = (cy * contrast) >> 16;
  crv = (crv * contrast * saturation) >> 32;
  cbu = (cbu * contrast * saturation) >> 32;
  cgu = (cgu * contrast * saturation) >> 32;
  cgv = (cgv * contrast * saturation) >> 32;
  oy -= 256LL * brightness;
  YuvToRgbCoeffs k{};
  k.yOffset = roundToInt16(oy * (1 << 3));
  k.yCoeff = roundToInt16(cy * (1 << 13));
  k.vr = roundToInt16(crv * (1 << 13));
  k.ub = roundToInt16(cbu * (1 << 13));
  k.ug = roundToInt16(cgu * (1 << 13));
  k.vg = roundToInt16(cgv * (1 << 13));
  return k;
}

}  // namespace px
}  // namespace vg
