#include "frame_memory.h"

#include <sys/mman.h>

#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace vg {

namespace {

constexpr size_t kPage = 4096;
// Freed buffers kept for reuse, in bytes: a sequential 1080p read cycles through ~20 frames.
constexpr size_t kRecycleLimit = 192u << 20;

size_t mappedSize(size_t bytes) { return (bytes + kPage - 1) / kPage * kPage; }

struct Recycler {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<uint8_t*>> free;
  size_t freeBytes = 0;
};

Recycler& recycler() {
  static Recycler* r = new Recycler();  // never destroyed: frames may be released at exit
  return *r;
}

}  // namespace

void FrameBufferDeleter::operator()(uint8_t* p) const {
  if (!p) return;
  const size_t size = mappedSize(bytes);
  Recycler& r = recycler();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.freeBytes + size <= kRecycleLimit) {
      r.free[size].push_back(p);
      r.freeBytes += size;
      return;
    }
  }
  munmap(p, size);
}

FrameBuffer acquireFrameBuffer(size_t bytes) {
  const size_t size = mappedSize(bytes);
  Recycler& r = recycler();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.free.find(size);
    if (it != r.free.end() && !it->second.empty()) {
      uint8_t* p = it->second.back();
      it->second.pop_back();
      r.freeBytes -= size;
      return FrameBuffer(p, FrameBufferDeleter{bytes});
    }
  }
  // Plain private mappings: measured faster here than huge pages, whose allocation may stall
  // on memory compaction (seconds of system time for a batch of 1080p frames).
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return FrameBuffer(static_cast<uint8_t*>(p), FrameBufferDeleter{bytes});
}

}  // namespace vg
