// Converts decoded frames to packed RGB24, byte-identical to the ffmpeg CLI's `-pix_fmt rgb24`.
//
// The reference is the libavfilter graph the CLI builds (an auto-inserted scale with the CLI's
// swscale flags): whatever FFmpeg version is installed, that graph gives the CLI's pixels. The
// fast path calls swscale directly, set up as that scale filter sets it up, writing straight
// into the buffer JavaScript will receive. For every new frame configuration (size, pixel
// format, colour space, range) the first frame goes through both and the fast path is kept only
// if the bytes are identical; otherwise this configuration stays on the reference graph.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "ffmpeg.h"
#include "frame_memory.h"
#include "../kernels/cuda/pixel_ops.h"

struct SwsContext;

namespace vg {

// A packed HWC RGB24 image in memory that can be handed to JavaScript as is.
struct RgbImage {
  int width = 0, height = 0;
  uint8_t* data = nullptr;
  size_t bytes = 0;
  FrameBuffer buffer;  // owns `data`
};

class RgbConverter {
 public:
  // maxWidth/maxHeight > 0: shrink larger frames to fit, keeping the aspect ratio.
  // autorotate: turn pictures by their display matrix (a frame's own, else `streamMatrix`)
  // with the filters the ffmpeg CLI inserts, before the conversion, as the CLI does.
  RgbConverter(int maxWidth, int maxHeight, const int32_t* streamMatrix = nullptr, bool autorotate = false);
  ~RgbConverter();
  RgbConverter(const RgbConverter&) = delete;
  RgbConverter& operator=(const RgbConverter&) = delete;

  std::unique_ptr<RgbImage> convert(const AVFrame* in);
  // A picture NVDEC decoded: `deviceFormat` is its pixels' format on the device, `sourceFormat`
  // the one the CPU decoder gives for the stream (AVCodecContext::sw_pix_fmt). True when the CPU
  // decode's RGB comes from swscale's unscaled x86 8-bit 4:2:0 converter (NV12 of a 4:2:0
  // stream, even height, kept at its size, not turned, an x86 CPU with SSSE3 or MMXEXT), whose
  // arithmetic gpu::Nv12Converter reproduces on the device; `k` then holds that conversion's
  // constants (the frame's matrix and range).
  bool unscaled420(const AVFrame* in, int deviceFormat, int sourceFormat, px::YuvToRgbCoeffs& k) const;

  // How the current configuration converts: 0 unverified, 1 direct swscale, 2 reference graph.
  int path() const { return static_cast<int>(path_); }

 private:
  enum class Path { Unverified, Direct, Graph };
  struct Config {
    int width = -1, height = -1, format = -1, colorspace = -1, range = -1;
    std::string orientation;  // autorotate filters, "" for none
    bool operator==(const Config& o) const {
      return width == o.width && height == o.height && format == o.format && colorspace == o.colorspace &&
             range == o.range && orientation == o.orientation;
    }
  };
  void configure(const AVFrame* in, const std::string& orientation);
  std::string orientationOf(const AVFrame* in) const;
  std::unique_ptr<RgbImage> viaGraph(const AVFrame* in);
  std::unique_ptr<RgbImage> viaSws(const AVFrame* in);
  bool buildSws(const AVFrame* in);

  int maxWidth_, maxHeight_;
  bool autorotate_ = false;
  bool hasStreamMatrix_ = false;
  std::array<int32_t, 9> streamMatrix_{};
  int outWidth_ = 0, outHeight_ = 0;
  Config config_;
  bool configured_ = false;  // config_ describes the current set-up (the graph is freed once Direct is chosen)
  Path path_ = Path::Unverified;
  FilterGraphPtr graph_;
  AVFilterContext* src_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  SwsContext* sws_ = nullptr;
};

}  // namespace vg
