// The values that flow between ops: frames (packed HWC images), byte strings, or null.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <opencv2/core.hpp>

namespace vg {

enum class DType : int32_t { U8 = 0, U16 = 1, F32 = 2, F64 = 3 };

size_t dtypeSize(DType t);
int cvDepth(DType t);
const char* dtypeName(DType t);
bool dtypeFromName(const std::string& name, DType* out);

// Frame sizes the engine accepts anywhere (inputs from JavaScript, plugin outputs, kernels):
// each side at most kMaxFrameSide and at most kMaxFrameBytes in all.
constexpr int kMaxFrameSide = 1 << 16;
constexpr size_t kMaxFrameBytes = size_t(1) << 34;  // 16 GiB

// Bytes of a packed height x width x channels frame of `dtype`, by checked multiplication.
// Throws VgError ERR_BAD_ARGUMENT for a negative or oversized dimension or a size past
// kMaxFrameBytes (no wrap-around: a 2^30 x 2^30 frame is an error, not 0 bytes).
size_t frameBytes(int64_t height, int64_t width, int64_t channels, DType dtype);

// An image in packed HWC layout, row-major. `owner` keeps `data` alive (engine memory, or a
// JavaScript buffer held by the binding while the engine uses it).
struct FrameData {
  int height = 0, width = 0, channels = 0;
  DType dtype = DType::U8;
  uint8_t* data = nullptr;
  std::shared_ptr<void> owner;

  size_t bytes() const { return frameBytes(height, width, channels, dtype); }
  // An OpenCV header over the same pixels (no copy).
  cv::Mat mat() const;
  // A new frame in engine memory.
  static FrameData allocate(int height, int width, int channels, DType dtype);
};

struct Element {
  enum class Kind { Null, Frame, Bytes };
  Kind kind = Kind::Null;
  FrameData frame;
  std::shared_ptr<const std::vector<uint8_t>> bytes;

  static Element null() { return Element{}; }
  static Element ofFrame(FrameData f) {
    Element e;
    e.kind = Kind::Frame;
    e.frame = std::move(f);
    return e;
  }
  static Element ofBytes(std::vector<uint8_t> b) {
    Element e;
    e.kind = Kind::Bytes;
    e.bytes = std::make_shared<const std::vector<uint8_t>>(std::move(b));
    return e;
  }
};

// One column of a batch: one element per row.
using Column = std::vector<Element>;

// Op arguments as validated by the TypeScript layer: numbers, strings, booleans.
using ArgValue = std::variant<double, std::string, bool>;
class Args {
 public:
  void set(const std::string& name, ArgValue v) { values_[name] = std::move(v); }
  double number(const std::string& name, double fallback) const;
  int integer(const std::string& name, int fallback) const;
  std::string string(const std::string& name, const std::string& fallback) const;
  bool boolean(const std::string& name, bool fallback) const;
  // Plugin ops: the protobuf-encoded argument message.
  void setRaw(std::string bytes) { raw_ = std::move(bytes); }
  const std::string& raw() const { return raw_; }

 private:
  std::map<std::string, ArgValue> values_;
  std::string raw_;
};

}  // namespace vg
