#include "frame_memory.h"

#include <sys/mman.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace vg {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPage = 4096;
// Released buffers are kept for reuse up to this many bytes, and for at most kIdle: enough to
// carry a sequential read or one large batch into the next without new page faults or munmap
// storms, without holding memory for long once reading stops.
constexpr size_t kRecycleLimit = 1024u << 20;
constexpr auto kIdle = std::chrono::seconds(3);

size_t mappedSize(size_t bytes) { return (bytes + kPage - 1) / kPage * kPage; }

struct Freed {
  uint8_t* p;
  size_t size;
  Clock::time_point at;
};

struct Recycler {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<uint8_t*>> bySize;
  std::deque<Freed> order;  // oldest first, for trimming
  size_t freeBytes = 0;

  // Unmaps buffers idle for longer than kIdle (a few per call). Caller holds the mutex;
  // returns what to unmap outside it.
  std::vector<Freed> expired(Clock::time_point now) {
    std::vector<Freed> out;
    while (!order.empty() && out.size() < 4 && now - order.front().at > kIdle) {
      Freed f = order.front();
      order.pop_front();
      auto& list = bySize[f.size];
      for (auto it = list.begin(); it != list.end(); ++it) {
        if (*it == f.p) {
          list.erase(it);
          freeBytes -= f.size;
          out.push_back(f);
          break;
        }
      }
    }
    return out;
  }
};

Recycler& recycler() {
  static Recycler* r = new Recycler();  // never destroyed: frames may be released at exit
  return *r;
}

void unmapAll(const std::vector<Freed>& list) {
  for (const Freed& f : list) munmap(f.p, f.size);
}

}  // namespace

void FrameBufferDeleter::operator()(uint8_t* p) const {
  if (!p) return;
  const size_t size = mappedSize(bytes);
  Recycler& r = recycler();
  std::vector<Freed> stale;
  bool kept = false;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto now = Clock::now();
    stale = r.expired(now);
    if (r.freeBytes + size <= kRecycleLimit) {
      r.bySize[size].push_back(p);
      r.order.push_back(Freed{p, size, now});
      r.freeBytes += size;
      kept = true;
    }
  }
  unmapAll(stale);
  if (!kept) munmap(p, size);
}

FrameBuffer acquireFrameBuffer(size_t bytes) {
  const size_t size = mappedSize(bytes);
  Recycler& r = recycler();
  std::vector<Freed> stale;
  uint8_t* reused = nullptr;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    stale = r.expired(Clock::now());
    auto it = r.bySize.find(size);
    if (it != r.bySize.end() && !it->second.empty()) {
      reused = it->second.back();
      it->second.pop_back();
      r.freeBytes -= size;
      for (auto o = r.order.begin(); o != r.order.end(); ++o) {
        if (o->p == reused) {
          r.order.erase(o);
          break;
        }
      }
    }
  }
  unmapAll(stale);
  if (reused) return FrameBuffer(reused, FrameBufferDeleter{bytes});
  // Plain private mappings: measured faster here than huge pages, whose allocation may stall
  // on memory compaction (seconds of system time for a batch of 1080p frames).
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return FrameBuffer(static_cast<uint8_t*>(p), FrameBufferDeleter{bytes});
}

}  // namespace vg
