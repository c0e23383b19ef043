#include "encoder.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

extern "C" {
#include <libavutil/cpu.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include "limits.h"
#include "packet_file.h"
#include "reference.h"

namespace vg {

namespace {
constexpr int kX264Threads = 4;

void check(int ret, const std::string& what) {
  if (ret < 0) throw VgError("ERR_BAD_ARGUMENT", what + ": " + avErrorString(ret));
}

// Does this encoder have a private option `name` (x264's crf, OpenH264's rc_mode, ...)?
// Options are set only where they exist: avcodec_open2 would silently ignore the others.
bool hasPrivateOption(const AVCodec* codec, const char* name) {
  return codec->priv_class && av_opt_find(const_cast<const AVClass**>(&codec->priv_class), name, nullptr, 0, AV_OPT_SEARCH_FAKE_OBJ) != nullptr;
}

void setPrivateOption(AVDictionary** opts, const AVCodec* codec, const char* name, const std::string& value) {
  if (hasPrivateOption(codec, name)) av_dict_set(opts, name, value.c_str(), 0);
}

// OpenH264 has no CRF: its rate control always steers towards a target bitrate. For a quality
// level q (x264's CRF scale) the target is 0.1 bit per pixel at q = 23, doubling every 6 steps
// down (as x264's bitrate roughly does), and the frame QP is held within [q - 4, q + 6] so the
// picture quality stays near q whatever the content.
int64_t qualityBitrate(int width, int height, AVRational fps, int q) {
  const double pixelsPerSecond = static_cast<double>(width) * height * av_q2d(fps);
  const double bits = pixelsPerSecond * 0.1 * std::pow(2.0, (23 - q) / 6.0);
  return static_cast<int64_t>(std::clamp(bits, 100e3, 100e6));
}
// x264's instruction sets, named as its `asm` option takes them: every one this CPU has (as
// FFmpeg detects them) but AVX-512. x264 r3095's AVX-512 code encodes the same frames to
// different bytes from run to run (seen on this project's CI machines: the same 24 frames, six
// encodes in one process, three different streams; without AVX-512, six identical ones), and a
// stored stream must be the same bytes however often and wherever (a distributed run's tasks)
// it is encoded. x264's functions for every other set are bit-exact with its C code.
std::string x264InstructionSets() {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
  const int f = av_get_cpu_flags();
  static const std::pair<int, const char*> sets[] = {
      {AV_CPU_FLAG_MMXEXT, "MMX2"}, {AV_CPU_FLAG_SSE, "SSE"},     {AV_CPU_FLAG_SSE2, "SSE2"},   {AV_CPU_FLAG_SSE3, "SSE3"},
      {AV_CPU_FLAG_SSSE3, "SSSE3"}, {AV_CPU_FLAG_SSE4, "SSE4.1"}, {AV_CPU_FLAG_SSE42, "SSE4.2"}, {AV_CPU_FLAG_AVX, "AVX"},
      {AV_CPU_FLAG_XOP, "XOP"},     {AV_CPU_FLAG_FMA4, "FMA4"},   {AV_CPU_FLAG_FMA3, "FMA3"},   {AV_CPU_FLAG_BMI1, "BMI1"},
      {AV_CPU_FLAG_BMI2, "BMI2"},   {AV_CPU_FLAG_AVX2, "AVX2"}};
  std::string names;
  for (const auto& [flag, name] : sets)
    if (f & flag) names += std::string(names.empty() ? "" : ",") + name;
  if ((f & AV_CPU_FLAG_SSE2) && !(f & AV_CPU_FLAG_SSE2SLOW)) names += ",SSE2Fast";
  return names;
#else
  return "";
#endif
}
}  // namespace

const AVCodec* findH264Encoder(std::string* missing) {
  const char* asked = std::getenv("VIDGRAPH_H264_ENCODER");
  if (asked && *asked) {
    const AVCodec* c = avcodec_find_encoder_by_name(asked);
    if (c && c->id == AV_CODEC_ID_H264) return c;
    if (missing)
      *missing = std::string("VIDGRAPH_H264_ENCODER asks for '") + asked + "', which this FFmpeg build (" + av_version_info() +
                 ") does not have as an H.264 encoder";
    return nullptr;
  }
  for (const char* name : {"libx264", "libopenh264"})
    if (const AVCodec* c = avcodec_find_encoder_by_name(name)) return c;
  if (missing)
    *missing = std::string("this FFmpeg build (") + av_version_info() +
               ") has no H.264 encoder vidgraph can use: it needs libx264 or libopenh264 (FFmpeg configured with "
               "--enable-libx264 or --enable-libopenh264); store frames with lossless() instead";
  return nullptr;
}

// A fresh encoder for the next segment (see gopFrames in encoder.h).
void VideoEncoder::openCodec() {
  const EncoderOptions& options = options_;
  std::string missing;
  const AVCodec* codec = findH264Encoder(&missing);
  if (!codec) throw VgError("ERR_UNSUPPORTED_CODEC", "cannot encode H.264: " + missing);
  codec_.reset(avcodec_alloc_context3(codec));
  if (!codec_) throw std::bad_alloc();
  codec_->width = options.width;
  codec_->height = options.height;
  codec_->pix_fmt = AV_PIX_FMT_YUV420P;
  codec_->time_base = av_inv_q(options.frameRate);
  codec_->framerate = options.frameRate;
  codec_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;  // extradata (avcC) for the index and MP4
  codec_->thread_count = boundedThreads(options.threads);
  codec_->color_range = AVCOL_RANGE_MPEG;
  codec_->colorspace = AVCOL_SPC_BT470BG;  // matches the BT.601 coefficients used to convert
  codec_->gop_size = options.gop > 0 ? options.gop : kDefaultGop;
  AVDictionary* opts = nullptr;
  const std::string name = codec->name;
  if (name == "libx264") {
    // A fixed number of x264 threads, whatever the machine or the Client's threads: x264's output
    // depends on its thread count, and a stream must be the same bytes wherever it is encoded
    // (a distributed run's workers may have other core counts than the client).
    codec_->thread_count = kX264Threads;
    setPrivateOption(&opts, codec, "preset", options.preset);
    if (options.bitrate > 0) codec_->bit_rate = options.bitrate;
    else setPrivateOption(&opts, codec, "crf", std::to_string(options.crf));
    std::string params;
    // An asked keyframe distance is exact (no extra keyframes at scene cuts).
    if (options.gop > 0) params = "keyint=" + std::to_string(options.gop) + ":scenecut=0";
    static const std::string sets = x264InstructionSets();  // the CPU does not change: once per process
    if (!sets.empty()) params += (params.empty() ? "asm=" : ":asm=") + sets;
    if (!params.empty()) setPrivateOption(&opts, codec, "x264-params", params);
  } else if (name == "libopenh264") {
    // One thread: with several, OpenH264 balances its slices by measured encoding time, so the
    // same frames encode to different bytes from run to run (stored streams must not).
    codec_->thread_count = 1;
    // FFmpeg 5.1's libopenh264enc: rc_mode, bitrate (b), qmin/qmax, gop (g → uiIntraPeriod; without
    // it OpenH264 writes a single keyframe), framerate; frame skipping stays off (allow_skip_frames).
    if (options.bitrate > 0) {
      setPrivateOption(&opts, codec, "rc_mode", "bitrate");
      codec_->bit_rate = options.bitrate;
    } else {
      const int q = std::clamp(options.crf, 1, 51);
      setPrivateOption(&opts, codec, "rc_mode", "quality");
      codec_->bit_rate = qualityBitrate(options.width, options.height, options.frameRate, q);
      codec_->qmin = std::clamp(q - 4, 1, 51);
      codec_->qmax = std::clamp(q + 6, 1, 51);
    }
  } else {
    // Another H.264 encoder named by VIDGRAPH_H264_ENCODER: only the generic settings.
    if (options.bitrate > 0) codec_->bit_rate = options.bitrate;
  }
  const int ret = avcodec_open2(codec_.get(), codec, &opts);
  const AVDictionaryEntry* ignored = av_dict_get(opts, "", nullptr, AV_DICT_IGNORE_SUFFIX);
  const std::string ignoredName = ignored ? ignored->key : "";
  av_dict_free(&opts);
  check(ret, std::string("cannot open the H.264 encoder ") + codec->name);
  if (!ignoredName.empty())
    throw VgError("ERR_INTERNAL", std::string("the H.264 encoder ") + codec->name + " did not take the option '" + ignoredName + "'");

}

VideoEncoder::VideoEncoder(const std::string& packetsPath, const EncoderOptions& options)
    : options_(options), yuv_(allocFrame()), packet_(allocPacket()), path_(packetsPath) {
  if (options.width <= 0 || options.height <= 0 || options.width % 2 || options.height % 2)
    throw VgError("ERR_BAD_ARGUMENT", "H.264 output needs even frame sizes, got " + std::to_string(options.width) + "x" +
                                          std::to_string(options.height) + " (use lossless() or Resize to an even size)");
  openCodec();
  sws_ = sws_getContext(options.width, options.height, AV_PIX_FMT_RGB24, options.width, options.height, AV_PIX_FMT_YUV420P,
                        SWS_BICUBIC, nullptr, nullptr, nullptr);
  if (!sws_) throw VgError("ERR_BAD_ARGUMENT", "cannot set up RGB to YUV conversion");
  yuv_->format = AV_PIX_FMT_YUV420P;
  yuv_->width = options.width;
  yuv_->height = options.height;

  file_ = std::fopen(packetsPath.c_str(), "wb");
  if (!file_) throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + packetsPath + "': " + std::strerror(errno));

  index_ = std::make_shared<VideoIndex>();
  index_->timeBase = codec_->time_base;
  index_->frameRate = options.frameRate;
  index_->container = "vidgraph-h264";
}

const char* VideoEncoder::encoderName() const { return codec_->codec->name; }

VideoEncoder::~VideoEncoder() {
  sws_freeContext(sws_);
  if (file_) std::fclose(file_);
}

void VideoEncoder::encode(const FrameData& rgb) {
  if (rgb.width != options_.width || rgb.height != options_.height || rgb.channels != 3 || rgb.dtype != DType::U8)
    throw VgError("ERR_BAD_ARGUMENT", "every frame of an encoded video stream must be uint8 RGB " + std::to_string(options_.width) + "x" +
                                          std::to_string(options_.height) + ", got " + std::to_string(rgb.width) + "x" +
                                          std::to_string(rgb.height) + "x" + std::to_string(rgb.channels));
  check(av_frame_get_buffer(yuv_.get(), 0), "frame buffer");
  const uint8_t* src[1] = {rgb.data};
  const int srcStride[1] = {rgb.width * 3};
  sws_scale(sws_, src, srcStride, 0, rgb.height, yuv_->data, yuv_->linesize);
  if (nextPts_ > 0 && nextPts_ % gopFrames() == 0) {
    // Every keyframe interval is its own closed segment from a fresh encoder, so that rows
    // [a, b) with a a multiple of the interval encode to the same bytes alone (a distributed
    // run's task) as within the whole stream.
    drain(true);
    openCodec();
    segmentStart_ = nextPts_;
  }
  yuv_->pts = nextPts_++ - segmentStart_;
  check(avcodec_send_frame(codec_.get(), yuv_.get()), "H.264 encoding");
  av_frame_unref(yuv_.get());
  yuv_->format = AV_PIX_FMT_YUV420P;
  yuv_->width = options_.width;
  yuv_->height = options_.height;
  drain(false);
}

void VideoEncoder::drain(bool flush) {
  if (flush) avcodec_send_frame(codec_.get(), nullptr);
  for (;;) {
    const int ret = avcodec_receive_packet(codec_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    check(ret, "H.264 encoding");
    PacketEntry e{};
    e.pts = packet_->pts + segmentStart_;
    e.dts = packet_->dts + segmentStart_;
    e.duration = packet_->duration > 0 ? packet_->duration : 1;
    e.offset = offset_;
    e.size = packet_->size;
    e.flags = (packet_->flags & AV_PKT_FLAG_KEY) ? static_cast<uint32_t>(kPacketKey) : 0u;
    if (std::fwrite(packet_->data, 1, static_cast<size_t>(packet_->size), file_) != static_cast<size_t>(packet_->size))
      throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + path_ + "': " + std::strerror(errno));
    offset_ += packet_->size;
    index_->packets.push_back(e);
    av_packet_unref(packet_.get());
  }
}

std::shared_ptr<VideoIndex> VideoEncoder::finish() {
  drain(true);
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0)
    throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + path_ + "': " + std::strerror(errno));
  std::fclose(file_);
  file_ = nullptr;
  AVCodecParameters* par = avcodec_parameters_alloc();
  if (!par) throw std::bad_alloc();
  avcodec_parameters_from_context(par, codec_.get());
  index_->codec.fromParameters(par);
  avcodec_parameters_free(&par);
  // An encoder that skips frames to meet a bitrate (OpenH264 can) would leave rows without packets.
  if (static_cast<int64_t>(index_->packets.size()) != nextPts_)
    throw VgError("ERR_INTERNAL", std::string("the H.264 encoder ") + encoderName() + " returned " + std::to_string(index_->packets.size()) +
                                      " packets for " + std::to_string(nextPts_) + " frames");
  index_->headerFrames = nextPts_;
  for (size_t i = 0; i < index_->packets.size(); i++) index_->rowToPacket.push_back(static_cast<int32_t>(i));
  std::stable_sort(index_->rowToPacket.begin(), index_->rowToPacket.end(),
                   [&](int32_t a, int32_t b) { return index_->packets[a].pts < index_->packets[b].pts; });
  index_->finalize();
  classifyPackets(*index_, PacketFile(path_));  // with the extradata now known; the bytes were just written
  return index_;
}

std::shared_ptr<VideoIndex> concatEncoded(const std::vector<std::pair<std::shared_ptr<VideoIndex>, std::string>>& parts,
                                          const std::string& outPath) {
  if (parts.empty()) throw VgError("ERR_BAD_ARGUMENT", "concat: no parts");
  const VideoIndex& first = *parts.front().first;
  auto merged = std::make_shared<VideoIndex>();
  merged->codec = first.codec;
  merged->timeBase = first.timeBase;
  merged->frameRate = first.frameRate;
  merged->container = first.container;
  std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(outPath.c_str(), "wb"), std::fclose);
  if (!out) throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + outPath + "': " + std::strerror(errno));
  std::vector<uint8_t> buffer(size_t{1} << 20);
  int64_t rowBase = 0, offsetBase = 0;
  for (size_t k = 0; k < parts.size(); k++) {
    const VideoIndex& part = *parts[k].first;
    const std::string where = "concat: part " + std::to_string(k) + " ('" + parts[k].second + "')";
    // Parts of one stream: one encoder's settings, frames numbered from 0 (one pts per row).
    if (part.container != first.container || part.inplace || part.codec.codecId != first.codec.codecId ||
        part.codec.width != first.codec.width || part.codec.height != first.codec.height || part.codec.extradata != first.codec.extradata ||
        av_cmp_q(part.timeBase, first.timeBase) != 0 || av_cmp_q(part.frameRate, first.frameRate) != 0)
      throw VgError("ERR_CORRUPT", where + " was not encoded with the same settings as part 0");
    const int64_t rows = static_cast<int64_t>(part.packets.size());
    if (part.rows() != rows) throw VgError("ERR_CORRUPT", where + ": " + std::to_string(rows) + " packets for " + std::to_string(part.rows()) + " rows");
    for (int r = 0; r < part.rows(); r++)
      if (part.packets[part.rowToPacket[r]].pts != r) throw VgError("ERR_CORRUPT", where + ": row " + std::to_string(r) + " is not frame " + std::to_string(r));
    // Its bytes, appended.
    const int64_t size = part.dataEnd();
    PacketFile in(parts[k].second);
    for (int64_t at = 0; at < size;) {
      const size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buffer.size()), size - at));
      const size_t got = in.readAt(at, buffer.data(), want);
      if (got != want) throw VgError("ERR_CORRUPT", where + ": its packet file is shorter than its index (" + std::to_string(at + static_cast<int64_t>(got)) + " of " + std::to_string(size) + " bytes)");
      if (std::fwrite(buffer.data(), 1, got, out.get()) != got) throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + outPath + "': " + std::strerror(errno));
      at += static_cast<int64_t>(got);
    }
    // Its packets, after the ones before: rows, timestamps and offsets shifted.
    const int32_t packetBase = static_cast<int32_t>(merged->packets.size());
    for (PacketEntry e : part.packets) {
      e.pts += rowBase;
      e.dts += rowBase;
      e.offset += offsetBase;
      e.flags &= ~static_cast<uint32_t>(kPacketDisposable);  // classified again below, over the whole stream
      merged->packets.push_back(e);
    }
    for (int32_t p : part.rowToPacket) merged->rowToPacket.push_back(packetBase + p);
    merged->headerFrames += part.headerFrames;
    rowBase += rows;
    offsetBase += size;
  }
  if (std::fflush(out.get()) != 0 || ::fsync(fileno(out.get())) != 0)
    throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + outPath + "': " + std::strerror(errno));
  out.reset();
  merged->finalize();
  classifyPackets(*merged, PacketFile(outPath));
  return merged;
}

void remuxToMp4(const VideoIndex& index, const std::string& dataPath, const std::string& outPath) {
  AVFormatContext* raw = nullptr;
  check(avformat_alloc_output_context2(&raw, nullptr, "mp4", outPath.c_str()), "cannot create '" + outPath + "'");
  std::unique_ptr<AVFormatContext, void (*)(AVFormatContext*)> out(raw, [](AVFormatContext* c) {
    if (c->pb) avio_closep(&c->pb);
    avformat_free_context(c);
  });
  AVStream* st = avformat_new_stream(out.get(), nullptr);
  if (!st) throw std::bad_alloc();
  CodecParametersPtr par = index.codec.toParameters();
  check(avcodec_parameters_copy(st->codecpar, par.get()), "codec parameters");
  st->codecpar->codec_tag = 0;  // let the MP4 muxer choose (avc1, hvc1, ...)
  st->time_base = index.timeBase;
  if (index.frameRate.num > 0) st->avg_frame_rate = index.frameRate;
  if (index.hasDisplayMatrix) {
    // The same video: players (and the CLI) turn it as they turned the source.
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    AVPacketSideData* sd = av_packet_side_data_new(&st->codecpar->coded_side_data, &st->codecpar->nb_coded_side_data,
                                                   AV_PKT_DATA_DISPLAYMATRIX, sizeof(int32_t) * 9, 0);
    uint8_t* matrix = sd ? sd->data : nullptr;
#else
    uint8_t* matrix = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, sizeof(int32_t) * 9);
#endif
    if (!matrix) throw std::bad_alloc();
    std::memcpy(matrix, index.displayMatrix.data(), sizeof(int32_t) * 9);
  }
  if (avformat_query_codec(out->oformat, st->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1)
    throw VgError("ERR_UNSUPPORTED_CODEC", std::string("codec '") + avcodec_get_name(st->codecpar->codec_id) + "' cannot be stored in MP4 without re-encoding");
  check(avio_open(&out->pb, outPath.c_str(), AVIO_FLAG_WRITE), "cannot write '" + outPath + "'");
  check(avformat_write_header(out.get(), nullptr), "MP4 header");
  if (index.ptsSynthesized)
    throw VgError("ERR_UNSUPPORTED_CODEC", "this stream's container had no timestamps: it cannot be remuxed, only re-encoded");
  PacketFile file(dataPath);
  PacketPtr pkt = allocPacket();
  // Timestamps from the first shown frame, as the MP4 muxer wants them non-negative.
  const int64_t first = index.rows() > 0 ? index.packets[static_cast<size_t>(index.rowToPacket[0])].pts : 0;
  int64_t lastDts = INT64_MIN;
  for (size_t i = 0; i < index.packets.size(); i++) {
    const PacketEntry& e = index.packets[i];
    file.read(e, 0, pkt.get());
    pkt->pts = e.pts - first;
    int64_t dts = e.dts != AV_NOPTS_VALUE ? e.dts - first : pkt->pts;
    if (dts <= lastDts) dts = lastDts + 1;
    lastDts = dts;
    pkt->dts = dts;
    pkt->stream_index = 0;
    av_packet_rescale_ts(pkt.get(), index.timeBase, st->time_base);
    check(av_interleaved_write_frame(out.get(), pkt.get()), "writing '" + outPath + "'");
  }
  check(av_write_trailer(out.get()), "MP4 trailer");
}

}  // namespace vg
