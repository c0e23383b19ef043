#include "decoder.h"
#include "nvdec.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <cstdarg>
#include <mutex>
#include <sys/mman.h>

namespace vg {

namespace {
// How many packets past a requested row's own packet we feed before concluding that the
// codec will not return that row (reorder delays are at most 16 frames in H.264/HEVC).
constexpr int kReorderSlack = 48;
// How many keyframes before its own a row's decode may start: a decode from an intra-refresh
// recovery point completes its pictures one refresh period later.
constexpr int kMaxEarlierKeys = 3;

// Codec contexts of ours (by their PixelGuard, in AVCodecContext::opaque, which frame threads
// copy): the log hook counts their errors and passes every line on to FFmpeg's own printer.
std::mutex& guardsMutex() {
  static std::mutex m;
  return m;
}
std::unordered_set<const VideoDecoder::PixelGuard*>& guards() {
  static std::unordered_set<const VideoDecoder::PixelGuard*> set;
  return set;
}

void logHook(void* avcl, int level, const char* fmt, va_list vl) {
  if (level <= AV_LOG_ERROR && avcl) {
    const AVClass* cls = *static_cast<const AVClass* const*>(avcl);
    if (cls == avcodec_get_class()) {
      const auto* ctx = static_cast<const AVCodecContext*>(avcl);
      auto* guard = static_cast<VideoDecoder::PixelGuard*>(ctx->opaque);
      std::lock_guard<std::mutex> lock(guardsMutex());
      if (guard && guards().count(guard)) {
        {
          std::lock_guard<std::mutex> errorLock(guard->errorMutex);
#if LIBAVCODEC_VERSION_MAJOR < 60
          guard->errorPackets.push_back(ctx->reordered_opaque);
#else
          guard->errorPackets.push_back(-1);
#endif
        }
        guard->errorLogs.fetch_add(1);
      }
    }
  }
  av_log_default_callback(avcl, level, fmt, vl);
}

void installLogHook() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(logHook); });
}

// The first time the codec's pool hands out a buffer, its pages are fresh: zeroing it would
// take a page fault per 4 KiB. One MADV_POPULATE_WRITE maps them all for about half that
// (measured on a 3 MiB 1080p picture here: 8 ms of faults, 4 ms populated; each fault is a
// trip to the hypervisor on a virtual machine). The pool recycles buffers, so each is done
// once; the contents are not changed. Kernels before 5.14 refuse the advice: then the memset
// faults the pages in as before.
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
void populateOnce(VideoDecoder::PixelGuard& guard, uint8_t* data, size_t size) {
  constexpr size_t kPage = 4096;
  constexpr size_t kMinBytes = 256 * 1024;  // smaller buffers come from warm heap memory
  constexpr size_t kMaxSeen = 4096;         // a pool holds tens of buffers; bounded all the same
  if (size < kMinBytes) return;
  {
    std::lock_guard<std::mutex> lock(guard.seenMutex);  // frame threads ask concurrently
    if (guard.seenBuffers.size() >= kMaxSeen) guard.seenBuffers.clear();
    if (!guard.seenBuffers.insert(data).second) return;
  }
  const uintptr_t start = (reinterpret_cast<uintptr_t>(data) + kPage - 1) & ~(kPage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(kPage - 1);
  if (end > start) madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
}

// get_buffer2: the codec asks for every picture's memory here, after parsing its headers and
// before allocating it. Under a pixel limit an oversized picture is refused (and its size
// recorded for the error) without ever being allocated. Every picture starts zeroed: a damaged
// picture the codec leaves partly unwritten without a word (HEVC drops a broken slice silently)
// would otherwise show whatever an earlier picture left in the recycled buffer, which depends
// on the order rows were read in.
int decoderGetBuffer(AVCodecContext* ctx, AVFrame* frame, int flags) {
  auto* guard = static_cast<VideoDecoder::PixelGuard*>(ctx->opaque);
  if (guard && guard->limit > 0 && pixelCount(frame->width, frame->height) > guard->limit) {
    guard->refuse(frame->width, frame->height);
    return AVERROR(EINVAL);
  }
  const int ret = avcodec_default_get_buffer2(ctx, frame, flags);
  if (ret < 0) return ret;
  if (frame->hw_frames_ctx) return 0;  // NVDEC: the buffers are device memory
  for (AVBufferRef* buf : frame->buf) {
    if (!buf) continue;
    if (guard) populateOnce(*guard, buf->data, buf->size);
    std::memset(buf->data, 0, buf->size);
  }
  return 0;
}

// gpu >= 0: decode on that CUDA device through NVDEC when the codec has it (nvdec.h).
CodecContextPtr openContext(const VideoIndex& index, int threads, VideoDecoder::PixelGuard* guard, int gpu = -1) {
  const AVCodec* codec = avcodec_find_decoder(static_cast<AVCodecID>(index.codec.codecId));
  if (!codec)
    throw VgError("ERR_UNSUPPORTED_CODEC",
                  std::string("no decoder for codec '") + avcodec_get_name(static_cast<AVCodecID>(index.codec.codecId)) +
                      "' in this FFmpeg build");
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) throw std::bad_alloc();
  CodecParametersPtr par = index.codec.toParameters();
  int ret = avcodec_parameters_to_context(ctx.get(), par.get());
  if (ret < 0) throw VgError("ERR_DECODE", "cannot configure the decoder: " + avErrorString(ret));
  ctx->pkt_timebase = index.timeBase;
  ctx->thread_count = boundedThreads(threads);
  if (guard) {
    installLogHook();
    ctx->opaque = guard;
    ctx->get_buffer2 = decoderGetBuffer;
  }
  // FFmpeg's VP3/Theora decoder races under frame threading (its output, the CLI's included,
  // changes from run to run); slice threading keeps it exact.
  if (ctx->codec_id == AV_CODEC_ID_THEORA || ctx->codec_id == AV_CODEC_ID_VP3) ctx->thread_type = FF_THREAD_SLICE;
  if (gpu >= 0) nvdec::attach(ctx.get(), codec, gpu);
  ret = avcodec_open2(ctx.get(), codec, nullptr);
  if (ret == AVERROR(ENOMEM) || ret == AVERROR(EAGAIN))
    throw VgError("ERR_RESOURCE", std::string("cannot open the ") + codec->name + " decoder with " +
                                      std::to_string(ctx->thread_count) + " thread(s): " + avErrorString(ret));
  if (ret < 0)
    throw VgError("ERR_UNSUPPORTED_CODEC", std::string("cannot open the ") + codec->name + " decoder: " + avErrorString(ret));
  return ctx;
}

int64_t frameKey(const AVFrame* f) {
  return f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
}

bool frameDamaged(const AVFrame* f) {
  return (f->flags & AV_FRAME_FLAG_CORRUPT) || f->decode_error_flags != 0;
}

const char* const kWhyPacket = "the packet holding the frame is damaged or cut short";
const char* const kWhyFrame = "the frame decoded with errors (damaged data)";
const char* const kWhyReference = "a frame decoded before it, which it may reference, is damaged";
const char* const kWhyMissing = "the decoder returned no frame for it";
}  // namespace

VideoDecoder::PixelGuard::PixelGuard() {
  std::lock_guard<std::mutex> lock(guardsMutex());
  guards().insert(this);
}

VideoDecoder::PixelGuard::~PixelGuard() {
  std::lock_guard<std::mutex> lock(guardsMutex());
  guards().erase(this);
}

VideoDecoder::VideoDecoder(std::shared_ptr<const VideoIndex> index, std::shared_ptr<const PacketFile> file,
                           DecoderOptions options)
    : index_(std::move(index)),
      file_(std::move(file)),
      options_(options),
      converter_(options.maxWidth, options.maxHeight, options.rotate ? index_->displayMatrixOrNull() : nullptr,
                 options.rotate),
      packet_(allocPacket()),
      frame_(allocFrame()) {
  fast_.guard->limit = check_.guard->limit = options_.maxPixels;
  checkPixels(*index_, options_.maxPixels);
  check_.canonical = true;
  openRun(fast_);  // fails here, at open, for a stream no decoder can take
  // Every packet a keyframe and no frame threads (MJPEG, raw video): each row is decoded from a
  // fresh codec. Such decoders keep state between frames (MJPEG reuses the last Huffman tables
  // when a damaged frame lost its own), so continuing would answer a damaged row otherwise
  // than reading it alone; a fresh codec costs next to nothing here.
  independentFrames_ = index_->keyPackets.size() == index_->packets.size() &&
                       fast_.ctx->active_thread_type != FF_THREAD_FRAME;
}

void VideoDecoder::checkPixels(const VideoIndex& index, int64_t maxPixels) {
  if (maxPixels > 0 && pixelCount(index.codec.width, index.codec.height) > maxPixels)
    throw VgError("ERR_INVALID_VIDEO", pixelLimitMessage("the video", index.codec.width, index.codec.height, maxPixels));
}

// ---- runs ----

void VideoDecoder::openRun(Run& run) {
  run.ctx.reset();
  // The canonical decode (damaged input) stays on the CPU: one answer for a damaged row.
  run.ctx = openContext(*index_, run.canonical ? 1 : options_.threads, run.guard.get(), run.canonical ? -1 : options_.gpu);
  run.stickySent.clear();
  run.next = -1;
  run.drained = false;
}

void VideoDecoder::resetRun(Run& run, int packet) {
  // Settled good frames still held (settling brought them out ahead of a request) are kept
  // when the plan asks for them later: the run that decoded them is about to be reset.
  if (!planNext_.empty())
    for (const auto& [row, frame] : run.held)
      if (verdict(run, row) == Verdict::Good) stash(row, frame.get());
  if (run.canonical || !run.ctx) {
    // The canonical decode is a fresh codec: nothing carried over (parameter sets included).
    openRun(run);
  } else if (!run.stickySent.empty() && index_->stickyStateMissingAt(packet, run.stickySent)) {
    // The codec holds a palette (or extradata) from later packets, which a flush keeps, and
    // none was set before `packet`: only a fresh codec decodes as the CLI does from the top.
    openRun(run);
  } else {
    avcodec_flush_buffers(run.ctx.get());
  }
  run.start = packet;
  run.next = packet;
  run.lastSent = -1;
  run.skipped.clear();
  run.drained = false;
  run.unattributed = false;
  run.firstRow = -1;
  run.maxRow = -1;
  run.settledTo = packet;
  run.damage.clear();
  run.produced.clear();
  run.held.clear();
}

// Errors from a frame-threaded codec come back with a later packet than the one that caused
// them; a single-threaded or slice-threaded codec reports them with their own packet.
static bool attributable(const AVCodecContext* ctx) { return ctx->active_thread_type != FF_THREAD_FRAME; }

bool VideoDecoder::skippable(int packet) const {
  if (!options_.skipDisposable || !(index_->packets[static_cast<size_t>(packet)].flags & kPacketDisposable)) return false;
  const int row = index_->packetToRow[static_cast<size_t>(packet)];
  if (row < 0 || needed_.count(row)) return false;
  if (!planNext_.empty() ? planned(row) : row > lastNeeded_) return false;
  return !index_->hasSideData(packet);
}

void VideoDecoder::sendNext(Run& run, DecodeResult& result) {
  const int idx = run.next++;
  // The canonical decode sends every packet. Leading pictures shown before the run's keyframe
  // are always sent: an open GOP's keyframe decoded without the previous GOP makes the codec log
  // errors (a memory management operation naming a picture it never saw), which a frame thread
  // reports with the next packet it decodes; sent, that is a leading picture, which the run
  // does not cover, rather than a row's.
  const bool leading = index_->packets[static_cast<size_t>(idx)].pts < index_->packets[static_cast<size_t>(run.start)].pts;
  if (!run.canonical && idx != run.start && !leading && skippable(idx)) {
    // Nothing references it and nobody asked for it: its frame never comes out, as if cut.
    run.skipped.insert(idx);
    result.packetsSkipped++;
    settle(run);
    return;
  }
  run.lastSent = idx;
  const PacketEntry& entry = index_->packets[static_cast<size_t>(idx)];
  file_->read(entry, idx, packet_.get());
  // The packet's side data, and at the start of a run the palette/extradata in force there.
  index_->attachSideData(idx, idx == run.start, packet_.get());
  for (int i = 0; i < packet_->side_data_elems; i++) {
    const int type = packet_->side_data[i].type;
    if (stickySideData(type) && std::find(run.stickySent.begin(), run.stickySent.end(), type) == run.stickySent.end())
      run.stickySent.push_back(type);
  }
  result.packetsSent++;
  if (entry.flags & kPacketCorrupt) run.damage.insert(idx);
#if LIBAVCODEC_VERSION_MAJOR < 60
  run.ctx->reordered_opaque = idx;  // handed to the frame thread that decodes this packet
#endif
  for (;;) {
    const int ret = avcodec_send_packet(run.ctx.get(), packet_.get());
    noteErrorLogs(run, idx);
    if (ret == AVERROR(EAGAIN)) {
      receive(run, result);
      continue;
    }
    if (ret < 0) {
      if (attributable(run.ctx.get())) run.damage.insert(idx);
      else run.unattributed = true;
    }
    break;
  }
  av_packet_unref(packet_.get());
  checkRefused(run, idx);
  receive(run, result);
  checkRefused(run, idx);
}

// NV12 that the CPU would convert with swscale's unscaled converter: converted on the device by
// its CUDA twin, and only the RGB picture comes back. When the device cannot (no kernel image for
// this GPU, no memory), the picture is left as it was and this decoder stops trying: its
// pictures are downloaded and converted on the CPU.
bool VideoDecoder::convertOnDevice(const px::YuvToRgbCoeffs& k) {
  try {
    void* context = nvdec::cudaContext(frame_.get());
    if (!nv12_ || nv12Context_ != context) {
      nv12_.reset();
      nv12_ = gpu::makeNv12Converter(context);
      nv12Context_ = context;
    }
    nvdec::convertOnDevice(frame_.get(), *nv12_, k);
    return true;
  } catch (const VgError& e) {
    nv12_.reset();
    nv12Failed_ = true;
    av_log(nullptr, AV_LOG_WARNING, "vidgraph: NVDEC pictures are converted on the CPU from now on: %s\n", e.what());
    return false;
  }
}

void VideoDecoder::receive(Run& run, DecodeResult& result) {
  int errors = 0;
  for (;;) {
    const int ret = avcodec_receive_frame(run.ctx.get(), frame_.get());
    noteErrorLogs(run, run.lastSent);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
    if (ret < 0) {
      // A broken frame inside the codec: damage at the packet just sent when the codec says
      // so at once, somewhere in the run otherwise. Later frames may still come out.
      if (attributable(run.ctx.get()) && run.lastSent >= run.start) run.damage.insert(run.lastSent);
      else run.unattributed = true;
      if (++errors > kReorderSlack) break;
      continue;
    }
    px::YuvToRgbCoeffs k;
    if (!nv12Failed_ && converter_.unscaled420(frame_.get(), nvdec::deviceFormat(frame_.get()), run.ctx->sw_pix_fmt, k) && convertOnDevice(k)) {
      result.framesOnGpu++;
    } else if (nvdec::download(frame_.get())) {
      result.framesOnGpu++;
    }
    const int64_t key = frameKey(frame_.get());
    if (run.guard->limit > 0 && pixelCount(frame_->width, frame_->height) > run.guard->limit) {
      // A decoder that allocated the picture without asking get_buffer2: refused all the same.
      run.guard->refuse(frame_->width, frame_->height);
      av_frame_unref(frame_.get());
      checkRefused(run, static_cast<int>(std::clamp<int64_t>(key, -1, INT32_MAX)));
    }
    result.framesDecoded++;
    const bool known = key >= run.start && key < static_cast<int64_t>(index_->packets.size());
    const int row = known ? index_->packetToRow[static_cast<size_t>(key)] : -1;
    if (row >= 0) {
      // The run covers the rows from its first frame on: earlier ones (an open GOP's leading
      // pictures, pictures before an intra refresh completes) need an earlier start.
      if (!run.anyOutput()) run.firstRow = row;
      if (covered(run, row) && run.produced.insert(row).second) {
        run.maxRow = std::max(run.maxRow, row);
        const bool bad = frameDamaged(frame_.get());
        if (bad) run.damage.insert(static_cast<int>(key));
        FramePtr ref = allocFrame();
        if (av_frame_ref(ref.get(), frame_.get()) < 0) throw std::bad_alloc();
        run.held.emplace(row, std::move(ref));
      }
    }
    av_frame_unref(frame_.get());
  }
  settle(run);
}

void VideoDecoder::drain(Run& run, DecodeResult& result) {
  avcodec_send_packet(run.ctx.get(), nullptr);
  run.drained = true;
  receive(run, result);
  checkRefused(run, run.lastSent);
}

int64_t VideoDecoder::rowPts(int row) const {
  return index_->packets[static_cast<size_t>(index_->rowToPacket[static_cast<size_t>(row)])].pts;
}

bool VideoDecoder::covered(const Run& run, int row) const {
  return run.anyOutput() && rowPts(row) >= rowPts(run.firstRow);
}

// Advances run.settledTo past every packet whose frame has come out or is known never to:
// a row's packet is missing once a later row has come out (frames come out in row order).
void VideoDecoder::settle(Run& run) {
  if (run.next < 0) return;
  while (run.settledTo < run.next) {
    const int q = run.settledTo;
    const int rq = index_->packetToRow[static_cast<size_t>(q)];
    if (rq >= 0 && !run.skipped.count(q)) {
      if (!run.anyOutput() && !run.drained) break;  // which rows the run covers is not known yet
      if (covered(run, rq) && !run.produced.count(rq)) {
        if (run.maxRow > rq || run.drained) run.damage.insert(q);
        else break;
      }
    }
    run.settledTo++;
  }
  // Settled frames the request has passed are let go (the good ones kept as recent). Frames
  // beyond its rows stay: settling a row can bring out the next ones (a B-frame's forward
  // reference), which the next request of a sequential read asks for.
  const int lowestWanted = run.wanted && !run.wanted->empty() ? *run.wanted->begin() : INT_MAX;
  for (auto it = run.held.begin(); it != run.held.end();) {
    const int row = it->first;
    if (row > lowestWanted || (run.wanted && run.wanted->count(row))) {
      ++it;
      continue;
    }
    const Verdict v = verdict(run, row);
    if (v == Verdict::Pending) {
      ++it;
      continue;
    }
    if (v == Verdict::Good) {
      remember(row, it->second.get());
      stash(row, it->second.get());  // a planned row passed on the way: kept for its request
    }
    it = run.held.erase(it);
  }
}

VideoDecoder::Verdict VideoDecoder::verdict(const Run& run, int row) const {
  const int p = index_->rowToPacket[static_cast<size_t>(row)];
  if (run.next < 0 || p < run.start || run.skipped.count(p)) return Verdict::NotCovered;
  if (!run.anyOutput()) return run.drained ? Verdict::NotCovered : Verdict::Pending;
  if (!covered(run, row)) return Verdict::NotCovered;
  if (p >= run.settledTo) return Verdict::Pending;
  if (run.unattributed) return Verdict::Bad;
  if (countsDamage(run, p)) return Verdict::Bad;
  return run.produced.count(row) ? Verdict::Good : Verdict::Bad;
}

// Damage anywhere from the run's start through `upTo`, but in packets the run does not cover
// (an open GOP's leading pictures decoded without their references) and in disposable packets
// before `upTo` (nothing references them, and a decode may leave them out).
bool VideoDecoder::countsDamage(const Run& run, int upTo) const {
  for (auto it = run.damage.lower_bound(run.start); it != run.damage.end() && *it <= upTo; ++it) {
    if (*it != upTo && (index_->packets[static_cast<size_t>(*it)].flags & kPacketDisposable)) continue;
    if (!run.anyOutput() || index_->packets[static_cast<size_t>(*it)].pts >= rowPts(run.firstRow)) return true;
  }
  return false;
}

VideoDecoder::Verdict VideoDecoder::feedUntilSettled(Run& run, int row, DecodeResult& result,
                                                     const std::atomic<bool>* cancel) {
  const int packetCount = static_cast<int>(index_->packets.size());
  const int limit = index_->rowToPacket[static_cast<size_t>(row)] + kReorderSlack;
  for (;;) {
    const Verdict v = verdict(run, row);
    if (v != Verdict::Pending) return v;
    // Checked per packet, so close() waits for one packet's decode at most.
    if (cancel && cancel->load()) throw VgError("ERR_CLOSED", "the decoder was closed");
    if (run.next < packetCount && run.next <= limit) sendNext(run, result);
    else if (!run.drained) drain(run, result);
    else return Verdict::Bad;  // not reached: a drained run settles every packet
  }
}

bool VideoDecoder::canContinue(const Run& run, int entry, int row) const {
  // Continue only where the row's entry is already behind us: a keyframe ahead is a seek.
  if (run.next < 0 || run.start > entry || entry > run.next) return false;
  if (run.drained && !run.held.count(row)) return false;  // the end of the stream was signalled: only what came out
  if (index_->rowToPacket[static_cast<size_t>(row)] < run.start) return false;
  if (run.skipped.count(index_->rowToPacket[static_cast<size_t>(row)])) return false;  // left out: decode again
  if (run.anyOutput() && !covered(run, row)) return false;
  if (run.produced.count(row) && !run.held.count(row)) return false;  // passed and let go
  if (!run.canonical && (run.unattributed || countsDamage(run, INT_MAX))) return false;  // spent: start afresh
  return true;
}

int VideoDecoder::previousKey(int packet) const {
  const std::vector<int32_t>& keys = index_->keyPackets;
  const auto it = std::lower_bound(keys.begin(), keys.end(), packet);
  return it == keys.begin() ? -1 : *(it - 1);
}

void VideoDecoder::noteErrorLogs(Run& run, int packet) {
  if (run.guard->errorLogs.exchange(0) == 0) return;
  std::vector<int64_t> from;
  {
    std::lock_guard<std::mutex> lock(run.guard->errorMutex);
    from.swap(run.guard->errorPackets);
  }
  const bool inline_ = attributable(run.ctx.get());
  for (int64_t q : from) {
    // A frame thread names its own packet; a codec decoding inline, the one just sent.
    if (q >= run.start && q < run.next) run.damage.insert(static_cast<int>(q));
    else if (inline_ && packet >= run.start) run.damage.insert(packet);
    else run.unattributed = true;
  }
}

void VideoDecoder::checkRefused(Run& run, int packet) {
  PixelGuard& guard = *run.guard;
  const int width = guard.refusedWidth.load();
  if (width == 0) return;
  const int height = guard.refusedHeight.load();
  guard.refusedWidth.store(0);
  // A picture refused by limitedGetBuffer fails the whole request: the stream is not one this
  // decoder will read. The run ends so that a later request starts cleanly.
  run.next = -1;
  run.drained = true;
  const int row = packet >= 0 && packet < static_cast<int>(index_->packetToRow.size())
                      ? index_->packetToRow[static_cast<size_t>(packet)] : -1;
  throw VgError("ERR_INVALID_VIDEO",
                pixelLimitMessage(row >= 0 ? "the picture near row " + std::to_string(row) : std::string("a picture"),
                                  width, height, guard.limit));
}

// ---- answers ----

void VideoDecoder::deliverGood(Run& run, int row, DecodeResult& result) {
  auto it = run.held.find(row);
  if (it == run.held.end()) throw VgError("ERR_INTERNAL", "decoder: a settled row lost its frame");
  result.frames.push_back(DecodedRow{row, converter_.convert(it->second.get())});
  remember(row, it->second.get());
  consumePlanned(row);
  stash(row, it->second.get());  // asked for again later in the plan
  run.held.erase(it);
}

void VideoDecoder::fail(int row, DecodeResult& result, const char* why) {
  if (result.failedRows.empty()) result.failure = why;
  result.failedRows.push_back(row);
  consumePlanned(row);
}

VideoDecoder::Verdict VideoDecoder::fast(int row, DecodeResult& result, const std::atomic<bool>* cancel, bool keep) {
  int entry = index_->startPacketFor(row);
  // Where fresh decodes from this row's keyframe were seen to begin only after it, start earlier.
  for (int back = 0; back < kMaxEarlierKeys; back++) {
    const auto it = firstRowFrom_.find(entry);
    const int earlier = previousKey(entry);
    if (it == firstRowFrom_.end() || row >= it->second || earlier < 0) break;
    entry = earlier;
  }
  for (int attempt = 0; attempt <= kMaxEarlierKeys; attempt++) {
    bool fresh = false;
    if (independentFrames_ || !canContinue(fast_, entry, row)) {
      if (independentFrames_) fast_.ctx.reset();  // a fresh codec, exactly as the canonical decode
      resetRun(fast_, entry);
      result.seeks++;
      fresh = true;
    }
    const Verdict v = feedUntilSettled(fast_, row, result, cancel);
    if (fresh && fast_.anyOutput()) firstRowFrom_[entry] = fast_.firstRow;
    if (v == Verdict::Good) {
      if (!keep) {
        deliverGood(fast_, row, result);
      } else {
        const auto it = fast_.held.find(row);
        if (it != fast_.held.end()) {
          stash(row, it->second.get());
          fast_.held.erase(it);
        }
      }
      return v;
    }
    if (v == Verdict::NotCovered && fresh) {
      entry = previousKey(entry);
      if (entry < 0) return v;
      continue;
    }
    fast_.held.erase(row);
    return v;
  }
  return Verdict::NotCovered;
}

void VideoDecoder::canonical(int row, DecodeResult& result, const std::atomic<bool>* cancel) {
  int entry = index_->startPacketFor(row);
  for (int attempt = 0; attempt <= kMaxEarlierKeys; attempt++) {
    if (check_.start != entry || !canContinue(check_, entry, row)) {
      resetRun(check_, entry);
      result.seeks++;
    }
    const Verdict v = feedUntilSettled(check_, row, result, cancel);
    if (v == Verdict::Good) return deliverGood(check_, row, result);
    if (v == Verdict::NotCovered) {
      entry = previousKey(entry);
      if (entry < 0) break;
      continue;
    }
    // Damaged: say what, for the first failed row.
    const int p = index_->rowToPacket[static_cast<size_t>(row)];
    const char* why = !check_.produced.count(row)                                    ? kWhyMissing
                      : (index_->packets[static_cast<size_t>(p)].flags & kPacketCorrupt) ? kWhyPacket
                      : check_.damage.count(p)                                         ? kWhyFrame
                                                                                       : kWhyReference;
    check_.held.erase(row);
    return fail(row, result, why);
  }
  fail(row, result, kWhyMissing);
}

void VideoDecoder::remember(int row, const AVFrame* frame) {
  if (!options_.keepRecent) return;
  if (recentLimit_ == 0) {
    // About 12 MiB of decoded pictures, at least 4 and at most 16: a few frames back (frames
    // past a request are held by the run, not here). Each pins a codec buffer: at 1080p the
    // former 32 MiB were 10 pictures, a third of a sequential read's decoder memory.
    const size_t bytes = static_cast<size_t>(std::max(1, av_image_get_buffer_size(
                                                             static_cast<AVPixelFormat>(frame->format), frame->width,
                                                             frame->height, 1)));
    recentLimit_ = std::clamp<size_t>((12u << 20) / bytes, 4, 16);
  }
  if (recent_.count(row)) return;
  FramePtr ref = allocFrame();
  if (av_frame_ref(ref.get(), frame) < 0) return;
  recent_.emplace(row, std::move(ref));
  recentOrder_.push_back(row);
  while (recentOrder_.size() > recentLimit_) {
    recent_.erase(recentOrder_.front());
    recentOrder_.pop_front();
  }
}

void VideoDecoder::plan(const std::vector<int>& rows, int64_t budgetBytes) {
  stash_.clear();
  stashByUse_.clear();
  stashBytes_ = 0;
  planPos_.clear();
  planOffset_.clear();
  planNext_.clear();
  stashBudget_ = std::max<int64_t>(0, budgetBytes);
  if (rows.empty()) return;
  const int n = index_->rows();
  if (rows.size() >= static_cast<size_t>(INT32_MAX)) throw VgError("ERR_BAD_ARGUMENT", "decode plan: too many rows");
  std::vector<int32_t> offset(static_cast<size_t>(n) + 1, 0);
  for (int r : rows) {
    if (r < 0 || r >= n) throw VgError("ERR_BAD_ARGUMENT", "decode plan: row " + std::to_string(r) + " is out of range");
    offset[static_cast<size_t>(r) + 1]++;
  }
  for (size_t i = 0; i < static_cast<size_t>(n); i++) offset[i + 1] += offset[i];
  std::vector<int32_t> fill(offset.begin(), offset.end() - 1);
  planPos_.resize(rows.size());
  for (size_t i = 0; i < rows.size(); i++) planPos_[static_cast<size_t>(fill[static_cast<size_t>(rows[i])]++)] = static_cast<int64_t>(i);
  planNext_.assign(offset.begin(), offset.end() - 1);
  planOffset_ = std::move(offset);
}

void VideoDecoder::stash(int row, const AVFrame* frame) {
  if (!planned(row) || stash_.count(row)) return;
  int64_t bytes = 0;
  for (const AVBufferRef* buf : frame->buf)
    if (buf) bytes += static_cast<int64_t>(buf->size);
  const int64_t use = nextUse(row);
  // Room is made by dropping rows asked for later than this one, never sooner.
  while (stashBytes_ + bytes > stashBudget_ && !stashByUse_.empty() && stashByUse_.rbegin()->first > use)
    unstash(stashByUse_.rbegin()->second);
  if (stashBytes_ + bytes > stashBudget_) return;
  FramePtr ref = allocFrame();
  if (av_frame_ref(ref.get(), frame) < 0) return;
  stash_.emplace(row, Stashed{std::move(ref), bytes});
  stashByUse_.emplace(use, row);
  stashBytes_ += bytes;
}

void VideoDecoder::unstash(int row) {
  const auto it = stash_.find(row);
  if (it == stash_.end()) return;
  stashByUse_.erase(nextUse(row));
  stashBytes_ -= it->second.bytes;
  stash_.erase(it);
}

void VideoDecoder::consumePlanned(int row) {
  if (!planned(row)) return;
  const auto it = stash_.find(row);
  if (it != stash_.end()) stashByUse_.erase(nextUse(row));
  planNext_[static_cast<size_t>(row)]++;
  if (it == stash_.end()) return;
  if (planned(row)) {
    stashByUse_.emplace(nextUse(row), row);
  } else {
    stashBytes_ -= it->second.bytes;
    stash_.erase(it);
  }
}

DecodeResult VideoDecoder::decode(const std::vector<int>& sortedRows, const std::atomic<bool>* cancel) {
  DecodeResult result;
  const int rows = index_->rows();
  std::set<int> pending;
  for (int r : sortedRows) {
    if (r < 0 || r >= rows) throw VgError("ERR_BAD_ARGUMENT", "row " + std::to_string(r) + " is out of range");
    pending.insert(r);
  }
  // Frames kept for the plan, or answered recently, need no decoding.
  for (int r : sortedRows) {
    if (const auto s = stash_.find(r); s != stash_.end()) {
      result.frames.push_back(DecodedRow{r, converter_.convert(s->second.frame.get())});
      consumePlanned(r);
      pending.erase(r);
      continue;
    }
    auto it = recent_.find(r);
    if (it == recent_.end()) continue;
    result.frames.push_back(DecodedRow{r, converter_.convert(it->second.get())});
    consumePlanned(r);
    pending.erase(r);
  }
  // Planned rows in the keyframe intervals this request opens are decoded with it and kept,
  // so that no later request opens those intervals again.
  std::set<int> ahead;
  if (!planNext_.empty() && !independentFrames_) {
    std::set<int> entries;
    for (int r : pending) entries.insert(index_->startPacketFor(r));
    const std::vector<int32_t>& keys = index_->keyPackets;
    const int packetCount = static_cast<int>(index_->packets.size());
    for (int entry : entries) {
      const auto nextKey = std::upper_bound(keys.begin(), keys.end(), entry);
      const int end = std::min(packetCount, (nextKey == keys.end() ? packetCount : static_cast<int>(*nextKey)) + kReorderSlack);
      for (int p = entry; p < end; p++) {
        const int r = index_->packetToRow[static_cast<size_t>(p)];
        if (r >= 0 && planned(r) && !pending.count(r) && !stash_.count(r) && index_->startPacketFor(r) == entry) ahead.insert(r);
      }
    }
  }
  fast_.wanted = check_.wanted = &pending;
  needed_ = pending;
  needed_.insert(ahead.begin(), ahead.end());
  lastNeeded_ = sortedRows.empty() ? -1 : *std::max_element(sortedRows.begin(), sortedRows.end());
  struct Unwant {
    VideoDecoder& d;
    ~Unwant() {
      d.fast_.wanted = d.check_.wanted = nullptr;
      d.needed_.clear();
    }
  } unwant{*this};
  const std::set<int> work(needed_);
  for (int row : work) {
    if (ahead.count(row)) {
      // Kept if it decodes cleanly on the fast path; anything else is left to its own request.
      if (!stash_.count(row)) fast(row, result, cancel, /*keep=*/true);
      continue;
    }
    if (!pending.count(row)) continue;
    if (fast(row, result, cancel) != Verdict::Good) canonical(row, result, cancel);
    pending.erase(row);
  }
  std::sort(result.frames.begin(), result.frames.end(),
            [](const DecodedRow& a, const DecodedRow& b) { return a.row < b.row; });
  std::sort(result.failedRows.begin(), result.failedRows.end());
  result.conversion = converter_.path();
  return result;
}

// ---- whole-stream passes (ingest) ----

namespace {
// Feeds packets [0, maxPackets) from the top on a fresh single-threaded codec (then drains it)
// and hands each frame's packet to `onFrame` until it returns false. Returns the size of a
// picture refused under the pixel limit (0x0: none).
template <typename OnFrame>
std::pair<int, int> decodeFromTop(const VideoIndex& index, const PacketFile& file, int maxPackets, int64_t maxPixels,
                                  OnFrame onFrame) {
  VideoDecoder::PixelGuard guard;
  guard.limit = maxPixels;
  CodecContextPtr ctx = openContext(index, 1, &guard);
  PacketPtr pkt = allocPacket();
  FramePtr frame = allocFrame();
  bool more = true;
  auto receiveAll = [&]() {
    while (more && avcodec_receive_frame(ctx.get(), frame.get()) >= 0) {
      const int64_t key = frameKey(frame.get());
      if (key >= 0 && key < static_cast<int64_t>(index.packets.size())) more = onFrame(static_cast<int32_t>(key));
      av_frame_unref(frame.get());
    }
  };
  const int n = std::min<int>(maxPackets, static_cast<int>(index.packets.size()));
  for (int i = 0; i < n && more && guard.refusedWidth.load() == 0; i++) {
    file.read(index.packets[static_cast<size_t>(i)], i, pkt.get());
    index.attachSideData(i, i == 0, pkt.get());
    while (avcodec_send_packet(ctx.get(), pkt.get()) == AVERROR(EAGAIN)) receiveAll();
    av_packet_unref(pkt.get());
    receiveAll();
  }
  if (more && guard.refusedWidth.load() == 0) {
    avcodec_send_packet(ctx.get(), nullptr);
    receiveAll();
  }
  return {guard.refusedWidth.load(), guard.refusedHeight.load()};
}
}  // namespace

std::vector<int32_t> VideoDecoder::outputOrder(const VideoIndex& index, const PacketFile& file, int64_t maxPixels) {
  checkPixels(index, maxPixels);
  std::vector<int32_t> order;
  std::unordered_set<int32_t> seen;
  const auto [width, height] = decodeFromTop(index, file, INT_MAX, maxPixels, [&](int32_t packet) {
    if (seen.insert(packet).second) order.push_back(packet);
    return true;
  });
  if (width != 0) throw VgError("ERR_INVALID_VIDEO", pixelLimitMessage("a picture", width, height, maxPixels));
  return order;
}

int VideoDecoder::firstOutputPacket(const VideoIndex& index, const PacketFile& file, int maxPackets, int64_t maxPixels) {
  int first = -1;
  decodeFromTop(index, file, maxPackets, maxPixels, [&](int32_t packet) {
    first = packet;
    return false;
  });
  return first;
}

}  // namespace vg
