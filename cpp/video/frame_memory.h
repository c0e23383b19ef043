// Memory for the RGB frames handed to JavaScript.
//
// Frames are large (6 MiB at 1080p) and a batch request holds many at once. Each buffer is its
// own private mapping, populated when mapped (no allocator zeroing or arena growth on the engine
// thread, no page fault per 4 KiB; measured about 1.5x faster for a 300-frame 1080p batch than
// libavfilter's pool buffers), and buffers that
// JavaScript releases are recycled, so a sequential read keeps reusing warm memory; recycled
// buffers idle for a few seconds are unmapped by a background thread.
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

// Returns every recycled buffer to the system now (and free heap pages, on glibc); buffers
// released before the next acquire are returned at once too. For close paths: an idle process
// keeps no frame memory. Returns the bytes unmapped. Thread-safe.
size_t trimFrameMemory();

}  // namespace vg
