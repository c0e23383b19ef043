// Memory for the RGB frames handed to JavaScript.
//
// Frames are large (6 MiB at 1080p) and a batch request holds many at once. Each buffer is its
// own private mapping (no allocator zeroing or arena growth on the engine thread; measured about
// 1.5x faster for a 300-frame 1080p batch than libavfilter's pool buffers), and buffers that
// JavaScript releases are recycled, so a sequential read keeps reusing warm memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace vg {

struct FrameBufferDeleter {
  size_t bytes;
  void operator()(uint8_t* p) const;
};
using FrameBuffer = std::unique_ptr<uint8_t, FrameBufferDeleter>;

// A buffer of at least `bytes` bytes (contents undefined). Thread-safe.
FrameBuffer acquireFrameBuffer(size_t bytes);

}  // namespace vg
