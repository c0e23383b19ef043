#include "frame_memory.h"

#include <cstring>
#include <sys/mman.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace vg {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPage = 4096;
// Released buffers are kept for reuse up to this many bytes, and for at most kIdle: enough to
// carry a sequential read or one large batch into the next without new page faults or munmap
// storms, without holding memory for long once reading stops. A background thread returns
// buffers idle for longer than kIdle even when nothing else is allocated or released.
constexpr size_t kRecycleLimit = 1024u << 20;
constexpr auto kIdle = std::chrono::seconds(3);

// SIMD code reads past the last pixel it uses: swscale's RGB24 -> YUV420P input read the page
// after a 1280x720 frame (2764800 bytes, a whole number of pages), which crashed the encoder
// when that page was unmapped. Every frame buffer has this much readable, zeroed slack after
// its bytes (FFmpeg's own buffers get AV_INPUT_BUFFER_PADDING_SIZE = 64 for the same reason),
// so such reads neither fault nor see another frame's leftovers.
constexpr size_t kReadPadding = 64;

size_t mappedSize(size_t bytes) { return (bytes + kReadPadding + kPage - 1) / kPage * kPage; }

struct Freed {
  uint8_t* p;
  size_t size;
  Clock::time_point at;
};

struct Recycler {
  std::mutex mutex;
  std::condition_variable wake;  // the trimmer waits for buffers to appear
  std::unordered_map<size_t, std::vector<uint8_t*>> bySize;
  std::deque<Freed> order;  // oldest first, for trimming
  size_t freeBytes = 0;
  // Set by trimFrameMemory(): buffers released before the next acquire are unmapped at once
  // (frames collected by the GC after a reader closed do not refill the pool).
  bool draining = false;
  bool trimmerStarted = false;

  // Takes buffers idle for longer than kIdle (at most `limit`) out of the pool. Caller holds
  // the mutex; returns what to unmap outside it.
  std::vector<Freed> expired(Clock::time_point now, size_t limit) {
    std::vector<Freed> out;
    if (order.empty() || now - order.front().at <= kIdle) return out;
    out.reserve(std::min(limit, order.size()));  // may throw, before the pool changes
    while (!order.empty() && out.size() < limit && now - order.front().at > kIdle) {
      out.push_back(order.front());
      order.pop_front();
      forget(out.back());
    }
    return out;
  }

  // Takes every buffer out of the pool. Caller holds the mutex.
  std::vector<Freed> all() {
    std::vector<Freed> out(order.begin(), order.end());
    order.clear();
    bySize.clear();
    freeBytes = 0;
    return out;
  }

 private:
  void forget(const Freed& f) {
    auto& list = bySize[f.size];
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (*it == f.p) {
        list.erase(it);
        freeBytes -= f.size;
        return;
      }
    }
  }
};

Recycler& recycler() {
  static Recycler* r = new Recycler();  // never destroyed: frames may be released at exit
  return *r;
}

void unmapAll(const std::vector<Freed>& list) {
  for (const Freed& f : list) munmap(f.p, f.size);
}

// The idle trimmer: sleeps while the pool is empty; otherwise wakes when its oldest buffer
// has been idle for kIdle and returns it (and every other expired one) to the system.
void trimLoop() {
  Recycler& r = recycler();
  std::unique_lock<std::mutex> lock(r.mutex);
  for (;;) {
    if (r.order.empty()) {
      r.wake.wait(lock);
      continue;
    }
    const auto due = r.order.front().at + kIdle + std::chrono::milliseconds(50);
    if (Clock::now() < due) {
      r.wake.wait_until(lock, due);
      continue;
    }
    std::vector<Freed> stale;
    try {
      stale = r.expired(Clock::now(), SIZE_MAX);
    } catch (const std::bad_alloc&) {
      // No memory for the list: try again in a moment (this thread must not throw).
      r.wake.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    lock.unlock();
    unmapAll(stale);
    lock.lock();
  }
}

// Starts the trimmer once (caller holds the mutex). Without a thread (the system refused
// one) buffers still expire on the next acquire or release, and on trimFrameMemory().
void startTrimmer(Recycler& r) {
  if (r.trimmerStarted) return;
  r.trimmerStarted = true;
  try {
    std::thread(trimLoop).detach();
  } catch (const std::system_error&) {
  } catch (const std::bad_alloc&) {
  }
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
    // A deleter must not throw: without memory for the pool's bookkeeping, the buffer is
    // simply unmapped (and expired buffers wait for the next release).
    try {
      stale = r.expired(now, 4);
    } catch (const std::bad_alloc&) {
    }
    if (!r.draining && r.freeBytes + size <= kRecycleLimit) {
      const bool wasEmpty = r.order.empty();
      try {
        r.order.push_back(Freed{p, size, now});
        try {
          r.bySize[size].push_back(p);
        } catch (const std::bad_alloc&) {
          r.order.pop_back();
          throw;
        }
        r.freeBytes += size;
        kept = true;
        startTrimmer(r);
        if (wasEmpty) r.wake.notify_one();
      } catch (const std::bad_alloc&) {
      }
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
    r.draining = false;
    stale = r.expired(Clock::now(), 4);
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
  if (reused) {
    std::memset(reused + bytes, 0, kReadPadding);  // a recycled buffer's slack holds the last frame's bytes
    return FrameBuffer(reused, FrameBufferDeleter{bytes});
  }
  // Plain private mappings: measured faster here than huge pages, whose allocation may stall
  // on memory compaction (seconds of system time for a batch of 1080p frames). Populated at
  // once: every byte is written right after (the conversion fills the frame), and the kernel
  // maps the pages in one pass for about half what as many page faults cost (measured 9 vs
  // 18 ms for a 1080p frame on a virtual machine, where each fault is a trip to the hypervisor).
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return FrameBuffer(static_cast<uint8_t*>(p), FrameBufferDeleter{bytes});
}

size_t trimFrameMemory() {
  Recycler& r = recycler();
  std::vector<Freed> pooled;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    pooled = r.all();
    r.draining = true;
  }
  size_t bytes = 0;
  for (const Freed& f : pooled) bytes += f.size;
  unmapAll(pooled);
#ifdef __GLIBC__
  malloc_trim(0);  // the codecs' own frame pools are heap memory, freed when a decoder closes
#endif
  return bytes;
}

}  // namespace vg
