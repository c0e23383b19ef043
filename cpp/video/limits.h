// Bounds on what a caller can make the engine allocate: threads per codec and decoded
// picture sizes (issue 8). The TypeScript layer validates the same options with clear
// messages; these bounds hold for direct native calls as well.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>

namespace vg {

// More codec threads than this many per core only cost memory (each frame thread holds a
// copy of the codec state): larger requests are clamped.
constexpr int kThreadsPerCore = 4;

// The largest thread count a caller may pass at all (the TypeScript layer's bound); what a
// codec gets is clamped further to threadCap().
constexpr int kMaxThreadsOption = 1024;

inline int threadCap() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return kThreadsPerCore * cores;
}

// A codec thread count: 0 (or less) lets FFmpeg choose (at most 16), otherwise clamped to
// threadCap().
inline int boundedThreads(int requested) { return requested <= 0 ? 0 : std::min(requested, threadCap()); }

// The default limitInputPixels: 8K UHD.
constexpr int64_t kDefaultMaxPixels = int64_t{7680} * 4320;

inline int64_t pixelCount(int width, int height) {
  return static_cast<int64_t>(std::max(width, 0)) * static_cast<int64_t>(std::max(height, 0));
}

// Why a picture of width x height is refused under `limit` pixels (for ERR_INVALID_VIDEO).
inline std::string pixelLimitMessage(const std::string& what, int width, int height, int64_t limit) {
  return what + " is " + std::to_string(width) + "x" + std::to_string(height) + " (" +
         std::to_string(pixelCount(width, height)) + " pixels), more than limitInputPixels (" + std::to_string(limit) +
         "); raise limitInputPixels, or set it to false, to decode it";
}

}  // namespace vg
