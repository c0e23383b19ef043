// The built-in ops (API.md "Built-in ops"), on OpenCV.
#include <cmath>
#include <cstring>
#include <sstream>
#include <unordered_map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "../video/ffmpeg.h"
#include "cuda/gpu_device.h"
#include "cuda/host_twins.h"
#include "cuda/plans.h"
#include "kernel.h"

namespace vg {

namespace {

[[noreturn]] void bad(const std::string& op, const std::string& what) { throw VgError("ERR_BAD_ARGUMENT", op + ": " + what); }

// Bounds of the built-in ops' arguments: what each op can do in sensible time and memory
// (lib/graph/ops.ts checks the same bounds when the graph is built; these hold for a kernel
// constructed directly).
constexpr int kMaxSide = 16384;          // Resize width/height
constexpr int kMaxBlurKernel = 255;      // Blur kernelSize
constexpr double kMaxBlurSigma = 100;    // Blur sigma
constexpr int kMaxReplications = 64;     // CloneChannels
constexpr int kMaxChannels = CV_CN_MAX;  // OpenCV's limit on a frame's channels

std::string shown(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// An integer argument within [lo, hi] (odd when asked), checked as a double before any
// conversion: 1e20 or NaN never becomes an arbitrary int.
int boundedInt(const std::string& op, const Args& a, const std::string& name, int fallback, int lo, int hi,
               bool odd = false) {
  const double v = a.number(name, fallback);
  if (!(v >= lo && v <= hi) || v != std::floor(v) || (odd && static_cast<int>(v) % 2 == 0))
    bad(op, std::string("expected ") + (odd ? "odd " : "") + "integer " + name + " between " + std::to_string(lo) +
                " and " + std::to_string(hi) + ", got " + shown(v));
  return static_cast<int>(v);
}

double boundedNumber(const std::string& op, const Args& a, const std::string& name, double fallback, double lo,
                     double hi) {
  const double v = a.number(name, fallback);
  if (!(v >= lo && v <= hi)) bad(op, "expected " + name + " between " + shown(lo) + " and " + shown(hi) + ", got " + shown(v));
  return v;
}

const FrameData& frameOf(const std::string& op, const Element& e) {
  if (e.kind != Element::Kind::Frame) bad(op, "expected a frame input");
  return e.frame;
}

// Wraps an OpenCV result (continuous or not) in engine memory.
FrameData fromMat(const cv::Mat& m, DType dtype) {
  FrameData out = FrameData::allocate(m.rows, m.cols, m.channels(), dtype);
  cv::Mat dst = out.mat();
  m.copyTo(dst);
  return out;
}

// A kernel computing one output frame per input frame.
class MapKernel : public Kernel {
 public:
  using Fn = std::function<Element(const Element&)>;
  explicit MapKernel(Fn fn) : fn_(std::move(fn)) {}
  std::vector<Column> execute(const std::vector<Column>& inputs, size_t rows) override {
    Column out;
    out.reserve(rows);
    for (size_t r = 0; r < rows; r++) out.push_back(inputs[0][r].kind == Element::Kind::Null ? Element::null() : fn_(inputs[0][r]));
    return {std::move(out)};
  }

 private:
  Fn fn_;
};

int interpolationCode(const std::string& op, const std::string& name) {
  static const std::unordered_map<std::string, int> codes = {
      {"INTER_NEAREST", cv::INTER_NEAREST}, {"INTER_LINEAR", cv::INTER_LINEAR},   {"INTER_CUBIC", cv::INTER_CUBIC},
      {"INTER_AREA", cv::INTER_AREA},       {"INTER_LANCZOS4", cv::INTER_LANCZOS4}, {"INTER_LINEAR_EXACT", cv::INTER_LINEAR_EXACT},
      {"INTER_NEAREST_EXACT", cv::INTER_NEAREST_EXACT}};
  auto it = codes.find(name);
  if (it == codes.end()) bad(op, "unknown interpolation '" + name + "'");
  return it->second;
}

int conversionCode(const std::string& name) {
  static const std::unordered_map<std::string, int> codes = {
      {"COLOR_RGB2GRAY", cv::COLOR_RGB2GRAY}, {"COLOR_BGR2GRAY", cv::COLOR_BGR2GRAY}, {"COLOR_GRAY2RGB", cv::COLOR_GRAY2RGB},
      {"COLOR_GRAY2BGR", cv::COLOR_GRAY2BGR}, {"COLOR_RGB2BGR", cv::COLOR_RGB2BGR},   {"COLOR_BGR2RGB", cv::COLOR_BGR2RGB},
      {"COLOR_RGB2RGBA", cv::COLOR_RGB2RGBA}, {"COLOR_RGBA2RGB", cv::COLOR_RGBA2RGB}, {"COLOR_RGB2HSV", cv::COLOR_RGB2HSV},
      {"COLOR_HSV2RGB", cv::COLOR_HSV2RGB},   {"COLOR_RGB2HLS", cv::COLOR_RGB2HLS},   {"COLOR_HLS2RGB", cv::COLOR_HLS2RGB},
      {"COLOR_RGB2Lab", cv::COLOR_RGB2Lab},   {"COLOR_Lab2RGB", cv::COLOR_Lab2RGB},   {"COLOR_RGB2Luv", cv::COLOR_RGB2Luv},
      {"COLOR_RGB2YCrCb", cv::COLOR_RGB2YCrCb}, {"COLOR_YCrCb2RGB", cv::COLOR_YCrCb2RGB}, {"COLOR_RGB2XYZ", cv::COLOR_RGB2XYZ},
      {"COLOR_RGB2YUV", cv::COLOR_RGB2YUV},   {"COLOR_YUV2RGB", cv::COLOR_YUV2RGB}};
  auto it = codes.find(name);
  return it == codes.end() ? -1 : it->second;
}

// Resize's arguments, checked, and the size they give a frame (the CPU and GPU kernels).
struct ResizeArgs {
  int width, height;
  std::string interpolation;
  int code;  // OpenCV's
  bool keepAspect;
  explicit ResizeArgs(const Args& a)
      : width(boundedInt("Resize", a, "width", 0, 1, kMaxSide)),
        height(boundedInt("Resize", a, "height", 0, 1, kMaxSide)),
        interpolation(a.string("interpolation", "INTER_LINEAR")),
        code(interpolationCode("Resize", interpolation)),
        keepAspect(a.boolean("preserveAspect", false)) {}
  // {width, height} of the output for frame f.
  std::pair<int, int> sizeFor(const FrameData& f) const {
    if (!keepAspect) return {width, height};
    const double s = std::min(static_cast<double>(width) / f.width, static_cast<double>(height) / f.height);
    return {std::max(1, static_cast<int>(std::lround(f.width * s))), std::max(1, static_cast<int>(std::lround(f.height * s)))};
  }
};

std::unique_ptr<Kernel> makeResize(const Args& a) {
  const ResizeArgs r(a);
  return std::make_unique<MapKernel>([=](const Element& e) {
    const FrameData& f = frameOf("Resize", e);
    const auto [w, h] = r.sizeFor(f);
    FrameData out = FrameData::allocate(h, w, f.channels, f.dtype);
    cv::Mat dst = out.mat();
    cv::resize(f.mat(), dst, cv::Size(w, h), 0, 0, r.code);
    return Element::ofFrame(std::move(out));
  });
}

std::unique_ptr<Kernel> makeConvertColor(const Args& a) {
  const std::string name = a.string("conversion", "");
  const int code = conversionCode(name);
  if (code < 0) bad("ConvertColor", "unknown conversion '" + name + "' (OpenCV names such as 'COLOR_RGB2GRAY')");
  return std::make_unique<MapKernel>([=](const Element& e) {
    const FrameData& f = frameOf("ConvertColor", e);
    cv::Mat dst;
    try {
      cv::cvtColor(f.mat(), dst, code);
    } catch (const cv::Exception& ex) {
      bad("ConvertColor", name + " cannot convert a " + std::to_string(f.channels) + "-channel frame");
    }
    return Element::ofFrame(fromMat(dst, f.dtype));
  });
}

std::unique_ptr<Kernel> makeBlur(const Args& a) {
  const int k = boundedInt("Blur", a, "kernelSize", 3, 1, kMaxBlurKernel, true);
  const double sigma = boundedNumber("Blur", a, "sigma", 0, 0, kMaxBlurSigma);
  return std::make_unique<MapKernel>([=](const Element& e) {
    const FrameData& f = frameOf("Blur", e);
    FrameData out = FrameData::allocate(f.height, f.width, f.channels, f.dtype);
    cv::Mat dst = out.mat();
    cv::GaussianBlur(f.mat(), dst, cv::Size(k, k), sigma, sigma);
    return Element::ofFrame(std::move(out));
  });
}

gpu::HostFrame hostFrame(const FrameData& f) { return {f.data, f.width, f.height, f.channels}; }

void checkHistogramInput(const FrameData& f) {
  if (f.channels != 3 || f.dtype != DType::U8) bad("Histogram", "expected a uint8 frame with 3 channels");
}

// The 48 counters as the op's bytes: little-endian int32.
Element histogramElement(const int32_t (&bins)[48]) {
  std::vector<uint8_t> bytes(sizeof(bins));
  std::memcpy(bytes.data(), bins, sizeof(bins));
  return Element::ofBytes(std::move(bytes));
}

// 3 channels × 16 bins, bin = value >> 4, as 48 little-endian int32 in R, G, B order: counted by
// the GPU kernel's host twin (cpp/kernels/cuda/pixel_ops.h), the one definition of the bins.
std::unique_ptr<Kernel> makeHistogram(const Args&) {
  return std::make_unique<MapKernel>([](const Element& e) {
    const FrameData& f = frameOf("Histogram", e);
    checkHistogramInput(f);
    int32_t bins[48];
    px::hostHistogram(px::View{f.data, f.width, f.height, 3, static_cast<size_t>(f.width) * 3}, bins);
    return histogramElement(bins);
  });
}

void checkReplications(const FrameData& f, int n) {
  if (f.channels * n > kMaxChannels)
    bad("CloneChannels", std::to_string(n) + " replications of a " + std::to_string(f.channels) + "-channel frame exceed " +
                             std::to_string(kMaxChannels) + " channels");
}

std::unique_ptr<Kernel> makeCloneChannels(const Args& a) {
  const int n = boundedInt("CloneChannels", a, "replications", 3, 1, kMaxReplications);
  return std::make_unique<MapKernel>([=](const Element& e) {
    const FrameData& f = frameOf("CloneChannels", e);
    checkReplications(f, n);
    std::vector<cv::Mat> planes;
    cv::split(f.mat(), planes);
    std::vector<cv::Mat> all;
    for (int i = 0; i < n; i++) all.insert(all.end(), planes.begin(), planes.end());
    FrameData out = FrameData::allocate(f.height, f.width, f.channels * n, f.dtype);
    cv::Mat dst = out.mat();
    cv::merge(all, dst);
    return Element::ofFrame(std::move(out));
  });
}

// ---- GPU kernels (device: GPU): the same arguments, checked the same way, run on a workspace
// (a CUDA device, or the kernels' host twins in the tests). Frames go in and out in host memory.

// A GPU kernel computing one output per input frame: `fn` runs on the workspace.
template <typename Fn>
std::unique_ptr<Kernel> gpuMap(const char* op, std::shared_ptr<gpu::Workspace> ws, Fn fn) {
  return std::make_unique<MapKernel>([op, ws = std::move(ws), fn = std::move(fn)](const Element& e) {
    const FrameData& f = frameOf(op, e);
    if (f.dtype != DType::U8) bad(op, "the GPU kernel takes uint8 frames (use device CPU for other types)");
    return fn(*ws, f);
  });
}

std::unique_ptr<Kernel> makeGpuResize(const Args& a, std::shared_ptr<gpu::Workspace> ws) {
  const ResizeArgs r(a);
  if (r.interpolation != "INTER_LINEAR" && r.interpolation != "INTER_AREA")
    bad("Resize", r.interpolation + " has no GPU kernel (on the GPU: INTER_LINEAR, INTER_AREA); use device CPU");
  // The plan depends only on the sizes: kept for the next frame of the same size.
  auto plan = std::make_shared<px::ResizePlan>();
  return gpuMap("Resize", std::move(ws), [=](gpu::Workspace& w, const FrameData& f) {
    const auto [ow, oh] = r.sizeFor(f);
    if (plan->srcWidth != f.width || plan->srcHeight != f.height || plan->channels != f.channels || plan->width != ow || plan->height != oh)
      *plan = px::planResize(f.width, f.height, f.channels, ow, oh, r.interpolation);
    FrameData out = FrameData::allocate(oh, ow, f.channels, DType::U8);
    w.resize(hostFrame(f), *plan, out.data);
    return Element::ofFrame(std::move(out));
  });
}

std::unique_ptr<Kernel> makeGpuConvertColor(const Args& a, std::shared_ptr<gpu::Workspace> ws) {
  const std::string name = a.string("conversion", "");
  if (conversionCode(name) < 0) bad("ConvertColor", "unknown conversion '" + name + "' (OpenCV names such as 'COLOR_RGB2GRAY')");
  const int conversion = px::gpuConversion(name);
  if (conversion < 0)
    bad("ConvertColor", name + " has no GPU kernel (on the GPU: COLOR_RGB2GRAY, COLOR_BGR2GRAY, COLOR_GRAY2RGB, COLOR_GRAY2BGR, COLOR_RGB2BGR, COLOR_BGR2RGB); use device CPU");
  return gpuMap("ConvertColor", std::move(ws), [=](gpu::Workspace& w, const FrameData& f) {
    if (f.channels != px::conversionInChannels(conversion))
      bad("ConvertColor", name + " cannot convert a " + std::to_string(f.channels) + "-channel frame");
    FrameData out = FrameData::allocate(f.height, f.width, px::conversionOutChannels(conversion), DType::U8);
    w.convert(hostFrame(f), conversion, out.data);
    return Element::ofFrame(std::move(out));
  });
}

std::unique_ptr<Kernel> makeGpuBlur(const Args& a, std::shared_ptr<gpu::Workspace> ws) {
  const int k = boundedInt("Blur", a, "kernelSize", 3, 1, kMaxBlurKernel, true);
  const double sigma = boundedNumber("Blur", a, "sigma", 0, 0, kMaxBlurSigma);
  const std::vector<uint16_t> kernel = px::gaussianKernel(k, sigma);
  return gpuMap("Blur", std::move(ws), [=](gpu::Workspace& w, const FrameData& f) {
    FrameData out = FrameData::allocate(f.height, f.width, f.channels, DType::U8);
    w.blur(hostFrame(f), kernel, out.data);
    return Element::ofFrame(std::move(out));
  });
}

std::unique_ptr<Kernel> makeGpuHistogram(const Args&, std::shared_ptr<gpu::Workspace> ws) {
  return gpuMap("Histogram", std::move(ws), [](gpu::Workspace& w, const FrameData& f) {
    checkHistogramInput(f);
    int32_t bins[48];
    w.histogram(hostFrame(f), bins);
    return histogramElement(bins);
  });
}

std::unique_ptr<Kernel> makeGpuCloneChannels(const Args& a, std::shared_ptr<gpu::Workspace> ws) {
  const int n = boundedInt("CloneChannels", a, "replications", 3, 1, kMaxReplications);
  return gpuMap("CloneChannels", std::move(ws), [=](gpu::Workspace& w, const FrameData& f) {
    checkReplications(f, n);
    FrameData out = FrameData::allocate(f.height, f.width, f.channels * n, DType::U8);
    w.clone(hostFrame(f), n, out.data);
    return Element::ofFrame(std::move(out));
  });
}

std::unique_ptr<Kernel> makeImageEncoder(const Args& a) {
  const std::string format = a.string("format", "png");
  if (format != "png" && format != "jpeg") bad("ImageEncoder", "format must be 'png' or 'jpeg'");
  const int quality = boundedInt("ImageEncoder", a, "quality", 95, 0, 100);
  return std::make_unique<MapKernel>([=](const Element& e) {
    const FrameData& f = frameOf("ImageEncoder", e);
    cv::Mat src = f.mat();
    cv::Mat bgr;
    if (f.channels == 3) cv::cvtColor(src, bgr, cv::COLOR_RGB2BGR);
    else if (f.channels == 4) cv::cvtColor(src, bgr, cv::COLOR_RGBA2BGRA);
    else bgr = src;
    std::vector<uint8_t> out;
    std::vector<int> params = format == "jpeg" ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, quality} : std::vector<int>{};
    if (!cv::imencode(format == "jpeg" ? ".jpg" : ".png", bgr, out, params)) bad("ImageEncoder", "encoding failed");
    return Element::ofBytes(std::move(out));
  });
}

std::unique_ptr<Kernel> makeImageDecoder(const Args&) {
  return std::make_unique<MapKernel>([](const Element& e) {
    if (e.kind != Element::Kind::Bytes) bad("ImageDecoder", "expected an encoded image (bytes) input");
    cv::Mat bgr = cv::imdecode(cv::Mat(1, static_cast<int>(e.bytes->size()), CV_8U, const_cast<uint8_t*>(e.bytes->data())), cv::IMREAD_COLOR);
    if (bgr.empty()) throw VgError("ERR_DECODE", "ImageDecoder: the bytes are not a PNG or JPEG image");
    FrameData out = FrameData::allocate(bgr.rows, bgr.cols, 3, DType::U8);
    cv::Mat dst = out.mat();
    cv::cvtColor(bgr, dst, cv::COLOR_BGR2RGB);
    return Element::ofFrame(std::move(out));
  });
}

std::unique_ptr<Kernel> makeFrameInfo(const Args&) {
  return std::make_unique<MapKernel>([](const Element& e) {
    const FrameData& f = frameOf("FrameInfo", e);
    const std::string json = "{\"width\":" + std::to_string(f.width) + ",\"height\":" + std::to_string(f.height) +
                             ",\"channels\":" + std::to_string(f.channels) + "}";
    return Element::ofBytes(std::vector<uint8_t>(json.begin(), json.end()));
  });
}

constexpr int kMaxFlowLevels = 32, kMaxFlowWindow = 255, kMaxFlowIterations = 100;
constexpr int kMinFlowPolyN = 3, kMaxFlowPolyN = 15;
constexpr double kMaxFlowPolySigma = 10;

// Farneback dense flow from each row's frame to the next (stencil [0, 1]): 2-channel float32.
class OpticalFlowKernel : public Kernel {
 public:
  explicit OpticalFlowKernel(const Args& a)
      : pyrScale_(a.number("pyrScale", 0.5)),
        levels_(boundedInt("OpticalFlow", a, "levels", 3, 1, kMaxFlowLevels)),
        winSize_(boundedInt("OpticalFlow", a, "winSize", 15, 1, kMaxFlowWindow)),
        iterations_(boundedInt("OpticalFlow", a, "iterations", 3, 1, kMaxFlowIterations)),
        polyN_(boundedInt("OpticalFlow", a, "polyN", 5, kMinFlowPolyN, kMaxFlowPolyN)),
        polySigma_(boundedNumber("OpticalFlow", a, "polySigma", 1.2, 0, kMaxFlowPolySigma)) {
    if (!(pyrScale_ > 0 && pyrScale_ < 1)) bad("OpticalFlow", "expected pyrScale between 0 and 1 (exclusive), got " + shown(pyrScale_));
  }
  std::vector<Column> execute(const std::vector<Column>& inputs, size_t rows) override {
    Column out;
    for (size_t r = 0; r < rows; r++) {
      const Element& a = inputs[0][2 * r];
      const Element& b = inputs[0][2 * r + 1];
      if (a.kind == Element::Kind::Null) {
        out.push_back(Element::null());
        continue;
      }
      const FrameData& fa = frameOf("OpticalFlow", a);
      const FrameData& fb = b.kind == Element::Kind::Frame ? b.frame : fa;  // past the end: no motion
      cv::Mat ga = gray(fa), gb = gray(fb);
      FrameData flow = FrameData::allocate(fa.height, fa.width, 2, DType::F32);
      cv::Mat dst = flow.mat();
      cv::calcOpticalFlowFarneback(ga, gb, dst, pyrScale_, levels_, winSize_, iterations_, polyN_, polySigma_, 0);
      out.push_back(Element::ofFrame(std::move(flow)));
    }
    return {std::move(out)};
  }

 private:
  static cv::Mat gray(const FrameData& f) {
    if (f.channels == 1) return f.mat();
    cv::Mat g;
    cv::cvtColor(f.mat(), g, f.channels == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
    return g;
  }
  double pyrScale_;
  int levels_, winSize_, iterations_, polyN_;
  double polySigma_;
};

class PassKernel : public Kernel {
 public:
  std::vector<Column> execute(const std::vector<Column>& inputs, size_t rows) override {
    return {Column(inputs[0].begin(), inputs[0].begin() + static_cast<long>(rows))};
  }
};

class DiscardKernel : public Kernel {
 public:
  std::vector<Column> execute(const std::vector<Column>&, size_t) override { return {}; }
};

}  // namespace

void registerBuiltinOps() {
  using T = ColumnType;
  using Cols = std::vector<std::pair<std::string, ColumnType>>;
  using GpuFactory = std::function<std::unique_ptr<Kernel>(const Args&, std::shared_ptr<gpu::Workspace>)>;
  const auto add = [](const char* name, Cols inputs, Cols outputs, std::vector<int> stencil,
                      std::function<std::unique_ptr<Kernel>(const Args&)> factory, GpuFactory gpuFactory = nullptr) {
    OpSpec spec;
    spec.name = name;
    spec.inputs = std::move(inputs);
    spec.outputs = std::move(outputs);
    spec.stencil = std::move(stencil);
    spec.factory = std::move(factory);
    spec.gpuFactory = std::move(gpuFactory);
    registerOp(std::move(spec));
  };
  const Cols frame = {{"frame", T::Frame}};
  add("Resize", frame, frame, {0}, makeResize, makeGpuResize);
  add("ConvertColor", frame, frame, {0}, makeConvertColor, makeGpuConvertColor);
  add("Blur", frame, frame, {0}, makeBlur, makeGpuBlur);
  add("CloneChannels", frame, frame, {0}, makeCloneChannels, makeGpuCloneChannels);
  add("Histogram", frame, {{"histogram", T::Bytes}}, {0}, makeHistogram, makeGpuHistogram);
  add("OpticalFlow", frame, {{"flow", T::Frame}}, {0, 1}, [](const Args& a) { return std::make_unique<OpticalFlowKernel>(a); });
  add("ImageEncoder", frame, {{"img", T::Bytes}}, {0}, makeImageEncoder);
  add("ImageDecoder", {{"img", T::Bytes}}, frame, {0}, makeImageDecoder);
  add("FrameInfo", frame, {{"info", T::Bytes}}, {0}, makeFrameInfo);
  add("Pass", {{"input", T::Any}}, {{"output", T::Any}}, {0}, [](const Args&) { return std::make_unique<PassKernel>(); });
  add("Discard", {{"input", T::Any}}, {}, {0}, [](const Args&) { return std::make_unique<DiscardKernel>(); });
}

}  // namespace vg
