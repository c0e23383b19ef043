// Converts decoded frames to packed RGB24 with the same libavfilter graph the ffmpeg CLI
// builds for `-pix_fmt rgb24` (an auto-inserted scale with the CLI's swscale flags), so
// that our pixels are byte-identical to the CLI's.
#pragma once

#include <cstdint>
#include <memory>

#include "ffmpeg.h"

namespace vg {

// A packed HWC RGB24 image. Owns its pixels either through an AVFrame reference (zero-copy,
// when the filter's row stride is already packed) or through its own allocation.
struct RgbImage {
  int width = 0, height = 0;
  uint8_t* data = nullptr;
  size_t bytes = 0;
  FramePtr frame;
  std::unique_ptr<uint8_t[]> owned;
};

class RgbConverter {
 public:
  // maxWidth/maxHeight > 0: shrink larger frames to fit, keeping the aspect ratio.
  RgbConverter(int maxWidth, int maxHeight) : maxWidth_(maxWidth), maxHeight_(maxHeight) {}
  std::unique_ptr<RgbImage> convert(const AVFrame* in);

 private:
  void configure(const AVFrame* in);
  int maxWidth_, maxHeight_;
  FilterGraphPtr graph_;
  AVFilterContext* src_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  int width_ = -1, height_ = -1, format_ = -1;
};

}  // namespace vg
