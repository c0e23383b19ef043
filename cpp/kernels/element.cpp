#include "element.h"

#include "../video/ffmpeg.h"
#include "../video/frame_memory.h"

namespace vg {

size_t dtypeSize(DType t) {
  switch (t) {
    case DType::U8: return 1;
    case DType::U16: return 2;
    case DType::F32: return 4;
    case DType::F64: return 8;
  }
  return 1;
}

int cvDepth(DType t) {
  switch (t) {
    case DType::U8: return CV_8U;
    case DType::U16: return CV_16U;
    case DType::F32: return CV_32F;
    case DType::F64: return CV_64F;
  }
  return CV_8U;
}

const char* dtypeName(DType t) {
  switch (t) {
    case DType::U8: return "uint8";
    case DType::U16: return "uint16";
    case DType::F32: return "float32";
    case DType::F64: return "float64";
  }
  return "uint8";
}

bool dtypeFromName(const std::string& name, DType* out) {
  for (DType t : {DType::U8, DType::U16, DType::F32, DType::F64}) {
    if (name == dtypeName(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

size_t frameBytes(int64_t height, int64_t width, int64_t channels, DType dtype) {
  if (height < 0 || width < 0 || channels < 0 || height > kMaxFrameSide || width > kMaxFrameSide || channels > kMaxFrameSide)
    throw VgError("ERR_BAD_ARGUMENT", "frame dimensions " + std::to_string(height) + "x" + std::to_string(width) + "x" +
                                          std::to_string(channels) + " are out of range (each between 1 and " +
                                          std::to_string(kMaxFrameSide) + ")");
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(height), static_cast<uint64_t>(width), &bytes) ||
      __builtin_mul_overflow(bytes, static_cast<uint64_t>(channels), &bytes) ||
      __builtin_mul_overflow(bytes, static_cast<uint64_t>(dtypeSize(dtype)), &bytes) || bytes > kMaxFrameBytes)
    throw VgError("ERR_BAD_ARGUMENT", "a " + std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels) +
                                          " frame is larger than the engine's limit of " + std::to_string(kMaxFrameBytes >> 30) + " GiB");
  return static_cast<size_t>(bytes);
}

cv::Mat FrameData::mat() const {
  return cv::Mat(height, width, CV_MAKETYPE(cvDepth(dtype), channels), data);
}

FrameData FrameData::allocate(int height, int width, int channels, DType dtype) {
  FrameData f;
  f.height = height;
  f.width = width;
  f.channels = channels;
  f.dtype = dtype;
  auto buffer = std::make_shared<FrameBuffer>(acquireFrameBuffer(std::max<size_t>(f.bytes(), 1)));
  f.data = buffer->get();
  f.owner = buffer;
  return f;
}

double Args::number(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (const double* d = std::get_if<double>(&it->second)) return *d;
  throw VgError("ERR_BAD_ARGUMENT", "argument '" + name + "' must be a number");
}

int Args::integer(const std::string& name, int fallback) const {
  const double d = number(name, fallback);
  // double → int is undefined behaviour out of range: refuse instead.
  if (!(d >= -2147483648.0 && d <= 2147483647.0)) throw VgError("ERR_BAD_ARGUMENT", "argument '" + name + "' is out of the integer range");
  return static_cast<int>(d);
}

std::string Args::string(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (const std::string* s = std::get_if<std::string>(&it->second)) return *s;
  throw VgError("ERR_BAD_ARGUMENT", "argument '" + name + "' must be a string");
}

bool Args::boolean(const std::string& name, bool fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  if (const bool* b = std::get_if<bool>(&it->second)) return *b;
  throw VgError("ERR_BAD_ARGUMENT", "argument '" + name + "' must be a boolean");
}

}  // namespace vg
