// The GPU kernels' arithmetic, written once: every function here compiles as __host__ __device__
// code under nvcc (cpp/kernels/cuda/gpu_kernels.cu) and as plain C++ for the CPU, where the same
// functions run over whole frames in host_twins.cpp and are tested against OpenCV
// (test/gpu-kernels.test.mjs). Each function reproduces the integer or float arithmetic of the
// OpenCV 4.x routine behind the CPU op, in the same order, so a GPU result can be compared with
// the CPU op's pixel for pixel:
//   ConvertColor  cv::cvtColor (RGB↔gray with OpenCV's 15-bit fixed-point weights, RGB↔BGR)
//   Resize        cv::resize INTER_LINEAR (11-bit weights, the SIMD vertical rounding) and INTER_AREA
//                 (integer block means, fractional area weights in float, the linear upscale case)
//   Blur          cv::GaussianBlur on uint8 (8-bit fixed-point separable kernels, reflect-101 border)
//   Histogram     the engine's 16 bins per channel
//   CloneChannels cv::merge of the planes repeated
// Tables that depend only on sizes and arguments (resize taps, blur kernels) are made on the host
// by the plan functions (plans.h), once per frame size, and read by both.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define VG_HD __host__ __device__ inline
#else
#define VG_HD inline
#endif

namespace vg {
namespace px {

// An interleaved 8-bit image (rows `stride` bytes apart) in memory the caller can read.
struct View {
  const uint8_t* data;
  int width;
  int height;
  int channels;
  size_t stride;
  VG_HD const uint8_t* at(int x, int y) const { return data + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * channels; }
};

VG_HD uint8_t saturateU8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// Round to nearest, ties to even (cvRound of a float; the default FPU rounding mode).
VG_HD int roundEven(float v) {
#if defined(__CUDA_ARCH__)
  return __float2int_rn(v);
#else
  return static_cast<int>(__builtin_rintf(v));
#endif
}

// The float operations of the area resize, kept apart so that nvcc cannot fuse a multiply and an
// add into one FMA (OpenCV's x86 build rounds after each).
VG_HD float fmul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
VG_HD float fadd(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// ---- ConvertColor -------------------------------------------------------------------------------

// The conversions with a GPU kernel. In/out channel counts: gray 1, the others 3.
enum Conversion : int { kRgbToGray = 0, kBgrToGray = 1, kGrayToRgb = 2, kSwapRedBlue = 3 };

VG_HD int conversionInChannels(int c) { return c == kGrayToRgb ? 1 : 3; }
VG_HD int conversionOutChannels(int c) { return c == kRgbToGray || c == kBgrToGray ? 1 : 3; }

// cvtColor's RGB2GRAY on uint8: Rec.601 weights scaled by 2^15 (9798, 19235, 3735), rounded half up.
VG_HD uint8_t luma(int r, int g, int b) { return static_cast<uint8_t>((r * 9798 + g * 19235 + b * 3735 + (1 << 14)) >> 15); }

VG_HD void convertPixel(int conversion, const uint8_t* in, uint8_t* out) {
  switch (conversion) {
    case kRgbToGray: out[0] = luma(in[0], in[1], in[2]); break;
    case kBgrToGray: out[0] = luma(in[2], in[1], in[0]); break;
    case kGrayToRgb: out[0] = out[1] = out[2] = in[0]; break;
    default: {  // kSwapRedBlue (RGB→BGR and BGR→RGB)
      const uint8_t r = in[0];
      out[0] = in[2];
      out[1] = in[1];
      out[2] = r;
    }
  }
}

// ---- Resize -------------------------------------------------------------------------------------

// One output position of a linear resize along one axis: source positions s0 ≤ s1 and their
// 11-bit weights (each rounded on its own, as OpenCV does: they need not add up to 2048).
struct LinearTap {
  int s0;
  int s1;
  int w0;
  int w1;
};

// The horizontal pass of one source row at one output column and channel (int, weights × 2048).
VG_HD int linearRow(const View& src, int row, const LinearTap& tx, int c) {
  const uint8_t* r = src.data + static_cast<size_t>(row) * src.stride;
  return r[tx.s0 * src.channels + c] * tx.w0 + r[tx.s1 * src.channels + c] * tx.w1;
}

// The vertical pass as OpenCV's 8-bit SIMD path rounds it: each row sum shifted right by 4 before
// its 16-bit multiply-high, then (sum + 2) >> 2.
VG_HD uint8_t linearColumn(int h0, int h1, int b0, int b1) {
  return saturateU8(((((h0 >> 4) * b0) >> 16) + (((h1 >> 4) * b1) >> 16) + 2) >> 2);
}

VG_HD uint8_t resizeLinearAt(const View& src, const LinearTap& tx, const LinearTap& ty, int c) {
  return linearColumn(linearRow(src, ty.s0, tx, c), linearRow(src, ty.s1, tx, c), ty.w0, ty.w1);
}

// INTER_AREA by a whole factor (fx × fy source pixels per output pixel): their mean. A 2×2 block
// rounds half up ((sum + 2) >> 2, OpenCV's vector path); other blocks multiply by the float
// reciprocal of the block size and round half to even.
VG_HD uint8_t resizeAreaBlockAt(const View& src, int dx, int dy, int c, int fx, int fy) {
  long long sum = 0;  // a 16384² block of 255s exceeds an int
  for (int y = 0; y < fy; y++) {
    const uint8_t* p = src.at(dx * fx, dy * fy + y) + c;
    for (int x = 0; x < fx; x++) sum += p[x * src.channels];
  }
  if (fx == 2 && fy == 2) return static_cast<uint8_t>((sum + 2) >> 2);
  const float scale = 1.f / static_cast<float>(fx * fy);
  return saturateU8(roundEven(static_cast<float>(sum) * scale));
}

// One source position's share in an output pixel of an area resize along one axis.
struct AreaTap {
  int s;
  float w;
};

// INTER_AREA by a fractional factor: the output pixel covers parts of source pixels. xs/ys are the
// taps of this output column and row (in source order); each row is summed across first, then the
// rows are weighted and added, in float, in OpenCV's order.
VG_HD uint8_t resizeAreaAt(const View& src, const AreaTap* xs, int nx, const AreaTap* ys, int ny, int c) {
  float acc = 0.f;
  for (int j = 0; j < ny; j++) {
    const uint8_t* r = src.data + static_cast<size_t>(ys[j].s) * src.stride + c;
    float row = 0.f;
    for (int i = 0; i < nx; i++) row = fadd(row, fmul(static_cast<float>(r[xs[i].s * src.channels]), xs[i].w));
    acc = j == 0 ? fmul(ys[j].w, row) : fadd(acc, fmul(ys[j].w, row));
  }
  return saturateU8(roundEven(acc));
}

// ---- Blur (Gaussian) ----------------------------------------------------------------------------

// reflect-101 (OpenCV's default border): …dcb|abcd|cba…
VG_HD int reflect101(int p, int n) {
  if (n == 1) return 0;
  while (p < 0 || p >= n) p = p < 0 ? -p : 2 * n - 2 - p;
  return p;
}

// The horizontal pass at (x, y, c): Σ k[i]·v, k in 8-bit fixed point (Σ k = 256), a 16-bit result.
VG_HD int blurRowAt(const View& src, int x, int y, int c, const uint16_t* k, int n) {
  const uint8_t* r = src.data + static_cast<size_t>(y) * src.stride + c;
  const int half = n / 2;
  int sum = 0;
  for (int i = 0; i < n; i++) sum += k[i] * r[reflect101(x - half + i, src.width) * src.channels];
  return sum;
}

// The vertical pass over horizontal results `rows` (one int per pixel and channel, rows apart by
// `rowStride` ints), rounded from 16 fractional bits.
VG_HD uint8_t blurColumnAt(const uint32_t* rows, size_t rowStride, int height, int x, int y, int c, int channels,
                           const uint16_t* k, int n) {
  const int half = n / 2;
  uint32_t sum = 0;
  for (int i = 0; i < n; i++) sum += k[i] * rows[static_cast<size_t>(reflect101(y - half + i, height)) * rowStride + static_cast<size_t>(x) * channels + c];
  return static_cast<uint8_t>((sum + 0x8000u) >> 16);
}

// ---- NV12 → RGB (NVDEC's pictures) ----------------------------------------------------------------

// The constants of swscale's unscaled 8-bit 4:2:0 → RGB24 conversion (FFmpeg 5.1,
// libswscale/yuv2rgb.c ff_yuv2rgb_c_init_tables), made on the host by yuvToRgbCoeffs (plans.h).
struct YuvToRgbCoeffs {
  int16_t yOffset, yCoeff;  // luma: ((Y << 3) - yOffset) · yCoeff >> 16
  int16_t vr, ub, ug, vg;   // chroma: ((C << 3) - 1024) · coefficient >> 16
};

// x86's 16-bit lanes: pmulhw (the high half of the signed product, floor), paddsw (saturated).
VG_HD int mulHigh16(int a, int b) { return (a * b) >> 16; }
VG_HD int addSat16(int a, int b) {
  const int v = a + b;
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

// One pixel as swscale's SIMD converter (libswscale/x86/yuv_2_rgb.asm, the path the CPU decoder's
// RGB goes through for same-size 8-bit 4:2:0 pictures of even height) computes it: each sample
// scaled by 8 into a 16-bit lane, offset, multiplied-high by its coefficient, and the terms added
// with saturation; the 4:2:0 chroma sample is used as it is for its 2×2 block (no interpolation).
VG_HD void yuvToRgbPixel(const YuvToRgbCoeffs& k, int y8, int u8, int v8, uint8_t* rgb) {
  const int y = mulHigh16(static_cast<int16_t>((y8 << 3) - k.yOffset), k.yCoeff);
  const int u = (u8 << 3) - 1024, v = (v8 << 3) - 1024;
  const int g = addSat16(mulHigh16(u, k.ug), mulHigh16(v, k.vg));
  rgb[0] = saturateU8(addSat16(y, mulHigh16(v, k.vr)));
  rgb[1] = saturateU8(addSat16(y, g));
  rgb[2] = saturateU8(addSat16(y, mulHigh16(u, k.ub)));
}

// Pixel (x, y) of an NV12 picture (luma rows yPitch bytes apart, interleaved U,V rows uvPitch apart).
VG_HD void nv12ToRgbAt(const YuvToRgbCoeffs& k, const uint8_t* luma, size_t yPitch, const uint8_t* chroma, size_t uvPitch, int x, int y,
                       uint8_t* rgb) {
  const uint8_t* c = chroma + static_cast<size_t>(y >> 1) * uvPitch + static_cast<size_t>(x >> 1) * 2;
  yuvToRgbPixel(k, luma[static_cast<size_t>(y) * yPitch + x], c[0], c[1], rgb);
}

// ---- Histogram, CloneChannels -------------------------------------------------------------------

// 16 bins per channel (value >> 4); bins are R 0–15, G 16–31, B 32–47.
VG_HD int histogramBin(int channel, uint8_t v) { return channel * 16 + (v >> 4); }

// Output channel j of n replications of a `channels`-channel pixel is input channel j mod channels.
VG_HD void clonePixel(const uint8_t* in, uint8_t* out, int channels, int replications) {
  for (int j = 0; j < channels * replications; j++) out[j] = in[j % channels];
}

}  // namespace px
}  // namespace vg
