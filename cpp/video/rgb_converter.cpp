#include "rgb_converter.h"

#include <cstring>

namespace vg {

namespace {
// The swscale flags the ffmpeg CLI gives its auto-inserted scalers.
constexpr const char* kCliSwsOpts = "flags=bicubic";

void check(int ret, const char* what) {
  if (ret < 0) throw VgError("ERR_DECODE", std::string("colour conversion: ") + what + ": " + avErrorString(ret));
}
}  // namespace

void RgbConverter::configure(const AVFrame* in) {
  graph_.reset(avfilter_graph_alloc());
  if (!graph_) throw std::bad_alloc();
  graph_->scale_sws_opts = av_strdup(kCliSwsOpts);
  graph_->nb_threads = 1;  // this converter runs on one engine thread

  char args[256];
  const AVRational sar = in->sample_aspect_ratio.num > 0 ? in->sample_aspect_ratio : AVRational{0, 1};
  snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/1:pixel_aspect=%d/%d", in->width,
           in->height, in->format, sar.num, sar.den > 0 ? sar.den : 1);
  check(avfilter_graph_create_filter(&src_, avfilter_get_by_name("buffer"), "in", args, nullptr, graph_.get()),
        "buffer source");
  check(avfilter_graph_create_filter(&sink_, avfilter_get_by_name("buffersink"), "out", nullptr, nullptr,
                                     graph_.get()),
        "buffer sink");

  std::string chain;
  if ((maxWidth_ > 0 && in->width > maxWidth_) || (maxHeight_ > 0 && in->height > maxHeight_)) {
    const int w = maxWidth_ > 0 ? maxWidth_ : in->width;
    const int h = maxHeight_ > 0 ? maxHeight_ : in->height;
    chain += "scale=w=" + std::to_string(w) + ":h=" + std::to_string(h) +
             ":force_original_aspect_ratio=decrease:flags=bicubic,";
  }
  chain += "format=pix_fmts=rgb24";

  AVFilterInOut* outputs = avfilter_inout_alloc();
  AVFilterInOut* inputs = avfilter_inout_alloc();
  if (!outputs || !inputs) {
    avfilter_inout_free(&outputs);
    avfilter_inout_free(&inputs);
    throw std::bad_alloc();
  }
  outputs->name = av_strdup("in");
  outputs->filter_ctx = src_;
  outputs->pad_idx = 0;
  outputs->next = nullptr;
  inputs->name = av_strdup("out");
  inputs->filter_ctx = sink_;
  inputs->pad_idx = 0;
  inputs->next = nullptr;
  int ret = avfilter_graph_parse_ptr(graph_.get(), chain.c_str(), &inputs, &outputs, nullptr);
  avfilter_inout_free(&inputs);
  avfilter_inout_free(&outputs);
  check(ret, "filter graph");
  check(avfilter_graph_config(graph_.get(), nullptr), "filter graph configuration");
  width_ = in->width;
  height_ = in->height;
  format_ = in->format;
}

std::unique_ptr<RgbImage> RgbConverter::convert(const AVFrame* in) {
  if (!graph_ || in->width != width_ || in->height != height_ || in->format != format_) configure(in);
  FramePtr copy = allocFrame();
  check(av_frame_ref(copy.get(), in), "frame reference");
  check(av_buffersrc_add_frame_flags(src_, copy.get(), 0), "feeding the filter");
  FramePtr out = allocFrame();
  check(av_buffersink_get_frame(sink_, out.get()), "reading the filter");

  auto img = std::make_unique<RgbImage>();
  img->width = out->width;
  img->height = out->height;
  const size_t rowBytes = static_cast<size_t>(out->width) * 3;
  img->bytes = rowBytes * out->height;
  if (static_cast<size_t>(out->linesize[0]) == rowBytes) {
    img->data = out->data[0];  // already packed: hand the filter's buffer over as is
    img->frame = std::move(out);
  } else {
    img->owned.reset(new uint8_t[img->bytes]);
    img->data = img->owned.get();
    for (int y = 0; y < out->height; y++)
      std::memcpy(img->data + y * rowBytes, out->data[0] + static_cast<size_t>(y) * out->linesize[0], rowBytes);
  }
  return img;
}

}  // namespace vg
