// Host twins of the GPU kernels (host_twins.h): one loop per kernel around pixel_ops.h.
#include "host_twins.h"

#include <cstring>

namespace vg {
namespace px {

void hostResize(const View& src, const ResizePlan& p, uint8_t* out) {
  const int cn = src.channels;
  if (p.mode == ResizePlan::kCopy) {
    for (int y = 0; y < p.height; y++) std::memcpy(out + static_cast<size_t>(y) * p.width * cn, src.at(0, y), static_cast<size_t>(p.width) * cn);
    return;
  }
  for (int y = 0; y < p.height; y++) {
    uint8_t* row = out + static_cast<size_t>(y) * p.width * cn;
    for (int x = 0; x < p.width; x++)
      for (int c = 0; c < cn; c++) {
        uint8_t& v = row[x * cn + c];
        switch (p.mode) {
          case ResizePlan::kLinear: v = resizeLinearAt(src, p.tx[x], p.ty[y], c); break;
          case ResizePlan::kAreaBlock: v = resizeAreaBlockAt(src, x, y, c, p.blockX, p.blockY); break;
          default:
            v = resizeAreaAt(src, p.ax.data() + p.axOffset[x], p.axOffset[x + 1] - p.axOffset[x], p.ay.data() + p.ayOffset[y],
                             p.ayOffset[y + 1] - p.ayOffset[y], c);
        }
      }
  }
}

void hostConvert(const View& src, int conversion, uint8_t* out) {
  const int oc = conversionOutChannels(conversion);
  for (int y = 0; y < src.height; y++)
    for (int x = 0; x < src.width; x++) convertPixel(conversion, src.at(x, y), out + (static_cast<size_t>(y) * src.width + x) * oc);
}

void hostBlur(const View& src, const std::vector<uint16_t>& k, uint8_t* out) {
  const int cn = src.channels;
  const size_t rowStride = static_cast<size_t>(src.width) * cn;
  std::vector<uint32_t> rows(rowStride * src.height);
  for (int y = 0; y < src.height; y++)
    for (int x = 0; x < src.width; x++)
      for (int c = 0; c < cn; c++) rows[y * rowStride + x * cn + c] = blurRowAt(src, x, y, c, k.data(), static_cast<int>(k.size()));
  for (int y = 0; y < src.height; y++)
    for (int x = 0; x < src.width; x++)
      for (int c = 0; c < cn; c++)
        out[y * rowStride + x * cn + c] = blurColumnAt(rows.data(), rowStride, src.height, x, y, c, cn, k.data(), static_cast<int>(k.size()));
}

void hostHistogram(const View& src, int32_t bins[48]) {
  std::memset(bins, 0, 48 * sizeof(int32_t));
  for (int y = 0; y < src.height; y++)
    for (int x = 0; x < src.width; x++) {
      const uint8_t* p = src.at(x, y);
      for (int c = 0; c < 3; c++) bins[histogramBin(c, p[c])]++;
    }
}

void hostClone(const View& src, int n, uint8_t* out) {
  const int oc = src.channels * n;
  for (int y = 0; y < src.height; y++)
    for (int x = 0; x < src.width; x++) clonePixel(src.at(x, y), out + (static_cast<size_t>(y) * src.width + x) * oc, src.channels, n);
}

void hostNv12ToRgb(const gpu::Nv12Planes& src, const YuvToRgbCoeffs& k, uint8_t* out) {
  for (int y = 0; y < src.height; y++)
    for (int x = 0; x < src.width; x++)
      nv12ToRgbAt(k, src.luma, src.lumaPitch, src.chroma, src.chromaPitch, x, y, out + (static_cast<size_t>(y) * src.width + x) * 3);
}

namespace {

View viewOf(const gpu::HostFrame& f) { return View{f.data, f.width, f.height, f.channels, static_cast<size_t>(f.width) * f.channels}; }

class HostWorkspace : public gpu::Workspace {
 public:
  void resize(const gpu::HostFrame& in, const ResizePlan& plan, uint8_t* out) override { hostResize(viewOf(in), plan, out); }
  void convert(const gpu::HostFrame& in, int conversion, uint8_t* out) override { hostConvert(viewOf(in), conversion, out); }
  void blur(const gpu::HostFrame& in, const std::vector<uint16_t>& kernel, uint8_t* out) override { hostBlur(viewOf(in), kernel, out); }
  void histogram(const gpu::HostFrame& in, int32_t bins[48]) override { hostHistogram(viewOf(in), bins); }
  void clone(const gpu::HostFrame& in, int n, uint8_t* out) override { hostClone(viewOf(in), n, out); }
};

}  // namespace

std::unique_ptr<gpu::Workspace> makeHostWorkspace() { return std::make_unique<HostWorkspace>(); }

}  // namespace px
}  // namespace vg
