#include "decoder.h"

#include <algorithm>
#include <unordered_set>

namespace vg {

namespace {
// How many packets past a requested row's own packet we feed before concluding that the
// codec will not return that row (reorder delays are at most 16 frames in H.264/HEVC).
constexpr int kReorderSlack = 48;

// get_buffer2 under a pixel limit: the codec asks for every picture's memory here, after
// parsing its headers and before allocating it, so an oversized picture is refused (and its
// size recorded for the error) without ever being allocated.
int limitedGetBuffer(AVCodecContext* ctx, AVFrame* frame, int flags) {
  auto* guard = static_cast<VideoDecoder::PixelGuard*>(ctx->opaque);
  if (guard && pixelCount(frame->width, frame->height) > guard->limit) {
    guard->refuse(frame->width, frame->height);
    return AVERROR(EINVAL);
  }
  return avcodec_default_get_buffer2(ctx, frame, flags);
}

CodecContextPtr openContext(const VideoIndex& index, int threads, VideoDecoder::PixelGuard* guard) {
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
  if (guard && guard->limit > 0) {
    ctx->opaque = guard;
    ctx->get_buffer2 = limitedGetBuffer;
  }
  // FFmpeg's VP3/Theora decoder races under frame threading (its output, the CLI's included,
  // changes from run to run); slice threading keeps it exact.
  if (ctx->codec_id == AV_CODEC_ID_THEORA || ctx->codec_id == AV_CODEC_ID_VP3) ctx->thread_type = FF_THREAD_SLICE;
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
}  // namespace

struct VideoDecoder::Request {
  std::set<int> pending;  // rows still wanted
  DecodeResult result;
  const std::atomic<bool>* cancel = nullptr;
};

VideoDecoder::VideoDecoder(std::shared_ptr<const VideoIndex> index, std::shared_ptr<const PacketFile> file,
                           DecoderOptions options)
    : index_(std::move(index)),
      file_(std::move(file)),
      options_(options),
      guard_(std::make_unique<PixelGuard>()),
      converter_(options.maxWidth, options.maxHeight, options.rotate ? index_->displayMatrixOrNull() : nullptr,
                 options.rotate),
      packet_(allocPacket()),
      frame_(allocFrame()) {
  guard_->limit = options_.maxPixels;
  checkPixels(*index_, options_.maxPixels);
  openCodec();
}

void VideoDecoder::openCodec() { codec_ = openContext(*index_, options_.threads, guard_.get()); }

void VideoDecoder::checkPixels(const VideoIndex& index, int64_t maxPixels) {
  if (maxPixels > 0 && pixelCount(index.codec.width, index.codec.height) > maxPixels)
    throw VgError("ERR_INVALID_VIDEO", pixelLimitMessage("the video", index.codec.width, index.codec.height, maxPixels));
}

// A picture refused by limitedGetBuffer fails the whole request: the stream is not one this
// decoder will read. The codec is reset so that a later request starts cleanly.
void VideoDecoder::checkRefused(int packet) {
  const int width = guard_->refusedWidth.load();
  if (width == 0) return;
  const int height = guard_->refusedHeight.load();
  guard_->refusedWidth.store(0);
  nextPacket_ = -1;
  drained_ = true;
  const int row = packet >= 0 && packet < static_cast<int>(index_->packetToRow.size())
                      ? index_->packetToRow[static_cast<size_t>(packet)] : -1;
  throw VgError("ERR_INVALID_VIDEO",
                pixelLimitMessage(row >= 0 ? "the picture near row " + std::to_string(row) : std::string("a picture"),
                                  width, height, guard_->limit));
}

void VideoDecoder::resetTo(int packet) {
  if (!stickySent_.empty() && index_->stickyStateMissingAt(packet, stickySent_)) {
    // The codec holds a palette (or extradata) from later packets, which a flush keeps, and
    // none was set before `packet`: only a fresh codec decodes as the CLI does from the top.
    openCodec();
    stickySent_.clear();
  } else if (nextPacket_ != -1 || drained_) {
    avcodec_flush_buffers(codec_.get());
  }
  drained_ = false;
  seekStart_ = packet;
  nextPacket_ = packet;
  lastOutputRow_ = -1;
}

bool VideoDecoder::canContinue(int startPacket, int row) const {
  return nextPacket_ >= 0 && !drained_ && seekStart_ <= startPacket && startPacket <= nextPacket_ &&
         row > lastOutputRow_;
}

void VideoDecoder::receive(Request& req) {
  int errors = 0;
  for (;;) {
    const int ret = avcodec_receive_frame(codec_.get(), frame_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) {
      // A broken frame inside the codec (its rows never come out and are reported as
      // failed); later frames may still be intact, so keep receiving.
      if (++errors > kReorderSlack) return;
      continue;
    }
    const int64_t key = frameKey(frame_.get());
    if (guard_->limit > 0 && pixelCount(frame_->width, frame_->height) > guard_->limit) {
      // A decoder that allocated the picture without asking get_buffer2: refused all the same.
      guard_->refuse(frame_->width, frame_->height);
      av_frame_unref(frame_.get());
      checkRefused(static_cast<int>(std::clamp<int64_t>(key, -1, INT32_MAX)));
    }
    req.result.framesDecoded++;
    const bool known = key >= 0 && key < static_cast<int64_t>(index_->packets.size());
    const int row = known ? index_->packetToRow[static_cast<size_t>(key)] : -1;
    if (row >= 0) {
      lastOutputRow_ = std::max(lastOutputRow_, row);
      const PacketEntry& entry = index_->packets[static_cast<size_t>(key)];
      const bool packetDamaged = (entry.flags & kPacketCorrupt) || badPackets_.count(static_cast<int>(key));
      const bool damaged = packetDamaged || frameDamaged(frame_.get());
      if (req.pending.count(row))
        deliver(req, row, frame_.get(), damaged,
                packetDamaged ? "the packet holding the frame is damaged or cut short"
                              : "the frame decoded with errors (damaged data)");
      remember(row, frame_.get(), damaged);
    }
    av_frame_unref(frame_.get());
  }
}

void VideoDecoder::deliver(Request& req, int row, const AVFrame* frame, bool damaged, const char* why) {
  req.pending.erase(row);
  if (damaged) {
    if (req.result.failedRows.empty()) req.result.failure = why;
    req.result.failedRows.push_back(row);
  } else {
    req.result.frames.push_back(DecodedRow{row, converter_.convert(frame)});
  }
}

void VideoDecoder::remember(int row, const AVFrame* frame, bool damaged) {
  if (!options_.keepRecent) return;
  if (recentLimit_ == 0) {
    // About 32 MiB of decoded pictures, at least 4 and at most 16: enough for a B-frame
    // reorder burst and a few frames back.
    const size_t bytes = static_cast<size_t>(std::max(1, av_image_get_buffer_size(
                                                             static_cast<AVPixelFormat>(frame->format), frame->width,
                                                             frame->height, 1)));
    recentLimit_ = std::clamp<size_t>((32u << 20) / bytes, 4, 16);
  }
  if (recent_.count(row)) return;
  FramePtr ref = allocFrame();
  if (av_frame_ref(ref.get(), frame) < 0) return;
  recent_.emplace(row, Recent{std::move(ref), damaged});
  recentOrder_.push_back(row);
  while (recentOrder_.size() > recentLimit_) {
    recent_.erase(recentOrder_.front());
    recentOrder_.pop_front();
  }
}

void VideoDecoder::sendNext(Request& req) {
  const int idx = nextPacket_++;
  file_->read(index_->packets[static_cast<size_t>(idx)], idx, packet_.get());
  // The packet's side data, and at the start of a run the palette/extradata in force there.
  index_->attachSideData(idx, idx == seekStart_, packet_.get());
  for (int i = 0; i < packet_->side_data_elems; i++) {
    const int type = packet_->side_data[i].type;
    if (stickySideData(type) && std::find(stickySent_.begin(), stickySent_.end(), type) == stickySent_.end())
      stickySent_.push_back(type);
  }
  req.result.packetsSent++;
  for (;;) {
    const int ret = avcodec_send_packet(codec_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN)) {
      receive(req);
      continue;
    }
    if (ret < 0) badPackets_.insert(idx);
    break;
  }
  av_packet_unref(packet_.get());
  checkRefused(idx);
  receive(req);
  checkRefused(idx);
}

void VideoDecoder::drain(Request& req) {
  avcodec_send_packet(codec_.get(), nullptr);
  drained_ = true;
  receive(req);
  checkRefused(nextPacket_ - 1);
}

DecodeResult VideoDecoder::decode(const std::vector<int>& sortedRows, const std::atomic<bool>* cancel) {
  Request req;
  req.cancel = cancel;
  const int rows = index_->rows();
  for (int r : sortedRows) {
    if (r < 0 || r >= rows) throw VgError("ERR_BAD_ARGUMENT", "row " + std::to_string(r) + " is out of range");
    req.pending.insert(r);
  }
  // Frames the codec returned recently need no decoding.
  for (int r : sortedRows) {
    auto it = recent_.find(r);
    if (it != recent_.end()) deliver(req, r, it->second.frame.get(), it->second.damaged, "the frame decoded with errors (damaged data)");
  }
  const int packetCount = static_cast<int>(index_->packets.size());
  for (int row : sortedRows) {
    if (!req.pending.count(row)) continue;  // already returned while decoding an earlier row
    const int start = index_->startPacketFor(row);
    if (!canContinue(start, row)) {
      resetTo(start);
      req.result.seeks++;
    }
    const int limit = index_->rowToPacket[static_cast<size_t>(row)] + kReorderSlack;
    while (req.pending.count(row)) {
      // Checked per packet, so close() waits for one packet's decode at most.
      if (cancel && cancel->load()) throw VgError("ERR_CLOSED", "the decoder was closed");
      if (nextPacket_ < packetCount && nextPacket_ <= limit) {
        sendNext(req);
      } else if (!drained_) {
        drain(req);
      } else {
        req.pending.erase(row);
        if (req.result.failedRows.empty()) req.result.failure = "the decoder returned no frame for it";
        req.result.failedRows.push_back(row);
      }
    }
  }
  std::sort(req.result.frames.begin(), req.result.frames.end(),
            [](const DecodedRow& a, const DecodedRow& b) { return a.row < b.row; });
  std::sort(req.result.failedRows.begin(), req.result.failedRows.end());
  req.result.conversion = converter_.path();
  return std::move(req.result);
}

std::vector<int32_t> VideoDecoder::outputOrder(const VideoIndex& index, const PacketFile& file, int threads,
                                               int64_t maxPixels) {
  checkPixels(index, maxPixels);
  PixelGuard guard;
  guard.limit = maxPixels;
  CodecContextPtr ctx = openContext(index, threads, &guard);
  PacketPtr pkt = allocPacket();
  FramePtr frame = allocFrame();
  std::vector<int32_t> order;
  std::unordered_set<int64_t> seen;
  auto receiveAll = [&]() {
    while (avcodec_receive_frame(ctx.get(), frame.get()) >= 0) {
      const int64_t key = frameKey(frame.get());
      if (key >= 0 && key < static_cast<int64_t>(index.packets.size()) && seen.insert(key).second)
        order.push_back(static_cast<int32_t>(key));
      av_frame_unref(frame.get());
    }
  };
  for (size_t i = 0; i < index.packets.size() && guard.refusedWidth.load() == 0; i++) {
    file.read(index.packets[i], static_cast<int64_t>(i), pkt.get());
    index.attachSideData(static_cast<int>(i), i == 0, pkt.get());
    while (avcodec_send_packet(ctx.get(), pkt.get()) == AVERROR(EAGAIN)) receiveAll();
    av_packet_unref(pkt.get());
    receiveAll();
  }
  avcodec_send_packet(ctx.get(), nullptr);
  receiveAll();
  if (guard.refusedWidth.load() != 0)
    throw VgError("ERR_INVALID_VIDEO", pixelLimitMessage("a picture", guard.refusedWidth.load(), guard.refusedHeight.load(), maxPixels));
  return order;
}

}  // namespace vg
