#include "rgb_converter.h"

#include <cstring>

#include "index.h"
#include "../kernels/cuda/plans.h"

extern "C" {
#include <libavutil/cpu.h>
#include <libswscale/swscale.h>
}

namespace vg {

namespace {
// The swscale flags the ffmpeg CLI gives its auto-inserted scalers.
constexpr const char* kCliSwsOpts = "flags=bicubic";

void check(int ret, const char* what) {
  if (ret < 0) throw VgError("ERR_DECODE", std::string("colour conversion: ") + what + ": " + avErrorString(ret));
}

// The scale filter's choice of YUV->RGB coefficients for a frame ("auto" colour matrix).
const int* coefficientsFor(int colorspace) {
  if (colorspace < 1 || colorspace > 10 || colorspace == 8) colorspace = AVCOL_SPC_BT470BG;
  return sws_getCoefficients(colorspace);
}

std::unique_ptr<RgbImage> allocImage(int width, int height) {
  auto img = std::make_unique<RgbImage>();
  img->width = width;
  img->height = height;
  img->bytes = static_cast<size_t>(width) * 3 * height;
  img->buffer = acquireFrameBuffer(img->bytes);
  img->data = img->buffer.get();
  return img;
}
}  // namespace

RgbConverter::RgbConverter(int maxWidth, int maxHeight, const int32_t* streamMatrix, bool autorotate)
    : maxWidth_(maxWidth), maxHeight_(maxHeight), autorotate_(autorotate) {
  if (streamMatrix) {
    hasStreamMatrix_ = true;
    std::memcpy(streamMatrix_.data(), streamMatrix, sizeof(int32_t) * 9);
  }
}

RgbConverter::~RgbConverter() { sws_freeContext(sws_); }

// The CLI takes the frame's display matrix when it has one, else the stream's.
std::string RgbConverter::orientationOf(const AVFrame* in) const {
  if (!autorotate_) return "";
  const AVFrameSideData* sd = av_frame_get_side_data(in, AV_FRAME_DATA_DISPLAYMATRIX);
  if (sd && sd->size >= sizeof(int32_t) * 9) return orientationFilters(reinterpret_cast<const int32_t*>(sd->data));
  return orientationFilters(hasStreamMatrix_ ? streamMatrix_.data() : nullptr);
}

namespace {
// swscale converts 8-bit 4:2:0 to RGB24 with its x86 SIMD code (libswscale/x86/yuv2rgb.c);
// elsewhere (aarch64: lookup tables) it rounds differently.
bool swscaleX86Converter() {
#if defined(__x86_64__) || defined(__i386__)
  return (av_get_cpu_flags() & (AV_CPU_FLAG_SSSE3 | AV_CPU_FLAG_MMXEXT)) != 0;
#else
  return false;
#endif
}
}  // namespace

bool RgbConverter::unscaled420(const AVFrame* in, int deviceFormat, int sourceFormat, px::YuvToRgbCoeffs& k) const {
  // NVDEC gives NV12 for 4:2:2 and monochrome streams too, their chroma resampled: the CPU
  // converts those from their own layout.
  if (deviceFormat != AV_PIX_FMT_NV12 || (sourceFormat != AV_PIX_FMT_YUV420P && sourceFormat != AV_PIX_FMT_YUVJ420P)) return false;
  if (in->width < 1 || in->height < 2 || in->height % 2 != 0 || !swscaleX86Converter()) return false;
  if ((maxWidth_ > 0 && in->width > maxWidth_) || (maxHeight_ > 0 && in->height > maxHeight_)) return false;
  if (!orientationOf(in).empty()) return false;
  // As buildSws sets swscale up: the frame's matrix and stated range (else limited), and
  // swscale's own brightness, contrast and saturation (0, 1.0, 1.0 in 16.16).
  // (swscale takes yuvj420p as full range when the frame states none.)
  const bool full = in->color_range == AVCOL_RANGE_JPEG || (in->color_range == AVCOL_RANGE_UNSPECIFIED && sourceFormat == AV_PIX_FMT_YUVJ420P);
  k = px::yuvToRgbCoeffs(coefficientsFor(in->colorspace), full, 0, 1 << 16, 1 << 16);
  return true;
}

void RgbConverter::configure(const AVFrame* in, const std::string& orientation) {
  sws_freeContext(sws_);
  sws_ = nullptr;
  path_ = Path::Unverified;
  configured_ = false;
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

  // The CLI's autorotate filters come first, on the decoder's pixel format; its scaler then
  // converts the turned picture.
  std::string chain = orientation.empty() ? "" : orientation + ",";
  const bool swapped = orientation.rfind("transpose", 0) == 0;
  const int inWidth = swapped ? in->height : in->width;
  const int inHeight = swapped ? in->width : in->height;
  outWidth_ = inWidth;
  outHeight_ = inHeight;
  if ((maxWidth_ > 0 && inWidth > maxWidth_) || (maxHeight_ > 0 && inHeight > maxHeight_)) {
    const int w = maxWidth_ > 0 ? maxWidth_ : inWidth;
    const int h = maxHeight_ > 0 ? maxHeight_ : inHeight;
    // As the scale filter's force_original_aspect_ratio=decrease computes it.
    outWidth_ = std::min<int>(static_cast<int>(av_rescale(h, inWidth, inHeight)), w);
    outHeight_ = std::min<int>(static_cast<int>(av_rescale(w, inHeight, inWidth)), h);
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
  inputs->name = av_strdup("out");
  inputs->filter_ctx = sink_;
  int ret = avfilter_graph_parse_ptr(graph_.get(), chain.c_str(), &inputs, &outputs, nullptr);
  avfilter_inout_free(&inputs);
  avfilter_inout_free(&outputs);
  check(ret, "filter graph");
  check(avfilter_graph_config(graph_.get(), nullptr), "filter graph configuration");
  config_ = Config{in->width, in->height, in->format, in->colorspace, in->color_range, orientation};
  // A turned picture always goes through the graph: swscale alone cannot turn it.
  if (!orientation.empty()) path_ = Path::Graph;
  configured_ = true;
}

std::unique_ptr<RgbImage> RgbConverter::viaGraph(const AVFrame* in) {
  FramePtr copy = allocFrame();
  check(av_frame_ref(copy.get(), in), "frame reference");
  check(av_buffersrc_add_frame_flags(src_, copy.get(), 0), "feeding the filter");
  FramePtr out = allocFrame();
  check(av_buffersink_get_frame(sink_, out.get()), "reading the filter");
  auto img = allocImage(out->width, out->height);
  const size_t rowBytes = static_cast<size_t>(out->width) * 3;
  for (int y = 0; y < out->height; y++)
    std::memcpy(img->data + y * rowBytes, out->data[0] + static_cast<size_t>(y) * out->linesize[0], rowBytes);
  return img;
}

// Sets swscale up as libavfilter's scale filter does for the CLI's auto-inserted scaler.
bool RgbConverter::buildSws(const AVFrame* in) {
  sws_ = sws_alloc_context();
  if (!sws_) return false;
  av_opt_set_int(sws_, "srcw", in->width, 0);
  av_opt_set_int(sws_, "srch", in->height, 0);
  av_opt_set_int(sws_, "src_format", in->format, 0);
  av_opt_set_int(sws_, "dstw", outWidth_, 0);
  av_opt_set_int(sws_, "dsth", outHeight_, 0);
  av_opt_set_int(sws_, "dst_format", AV_PIX_FMT_RGB24, 0);
  av_opt_set_int(sws_, "sws_flags", SWS_BICUBIC, 0);
  av_opt_set_int(sws_, "threads", 1, 0);
  // MPEG-2 chroma siting, which the scale filter assumes for yuv420p.
  if (in->format == AV_PIX_FMT_YUV420P) av_opt_set_int(sws_, "src_v_chr_pos", 128, 0);
  if (sws_init_context(sws_, nullptr, nullptr) < 0) return false;
  int *inv, *table, srcRange, dstRange, brightness, contrast, saturation;
  if (sws_getColorspaceDetails(sws_, &inv, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation) < 0)
    return false;
  const int* coeffs = coefficientsFor(in->colorspace);
  if (in->color_range != AVCOL_RANGE_UNSPECIFIED) srcRange = in->color_range == AVCOL_RANGE_JPEG;
  sws_setColorspaceDetails(sws_, coeffs, srcRange, coeffs, dstRange, brightness, contrast, saturation);
  return true;
}

std::unique_ptr<RgbImage> RgbConverter::viaSws(const AVFrame* in) {
  auto img = allocImage(outWidth_, outHeight_);
  uint8_t* dst[4] = {img->data, nullptr, nullptr, nullptr};
  int dstStride[4] = {outWidth_ * 3, 0, 0, 0};
  const int h = sws_scale(sws_, in->data, in->linesize, 0, in->height, dst, dstStride);
  if (h != outHeight_) throw VgError("ERR_DECODE", "colour conversion: swscale returned " + std::to_string(h) + " rows");
  return img;
}

std::unique_ptr<RgbImage> RgbConverter::convert(const AVFrame* in) {
  std::string orientation = orientationOf(in);
  if (!configured_ || !(config_ == Config{in->width, in->height, in->format, in->colorspace, in->color_range, orientation}))
    configure(in, orientation);
  switch (path_) {
    case Path::Direct:
      return viaSws(in);
    case Path::Graph:
      return viaGraph(in);
    case Path::Unverified:
      break;
  }
  std::unique_ptr<RgbImage> reference = viaGraph(in);
  if (buildSws(in)) {
    std::unique_ptr<RgbImage> fast = viaSws(in);
    if (fast->bytes == reference->bytes && std::memcmp(fast->data, reference->data, fast->bytes) == 0) {
      path_ = Path::Direct;
      // The reference graph is not used again for this configuration: its scaler and the output
      // frame its pool keeps (6 MiB at 1080p) go now rather than live as long as the decoder.
      graph_.reset();
      src_ = sink_ = nullptr;
      return fast;
    }
  }
  sws_freeContext(sws_);
  sws_ = nullptr;
  path_ = Path::Graph;
  return reference;
}

}  // namespace vg
