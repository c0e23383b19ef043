#include "scanner.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "decoder.h"
#include "packet_file.h"
#include "reference.h"

namespace vg {

namespace {

// Containers whose packets are stored as contiguous byte ranges at pkt->pos (or a few
// bytes after it, behind a block header): these can be read in place.
bool containerAllowsInplace(const char* name) {
  const std::string n(name ? name : "");
  return n.find("mp4") != std::string::npos || n.find("mov") != std::string::npos ||
         n.find("matroska") != std::string::npos || n.find("webm") != std::string::npos;
}

// Finds where the packet's bytes start in the original file: at pkt->pos for MP4, a few
// bytes later (behind the block header) for Matroska. -1 when the bytes are not there.
int64_t locateInFile(const PacketFile& file, const AVPacket* pkt) {
  if (pkt->pos < 0 || pkt->size <= 0) return -1;
  constexpr int kWindow = 64;
  const size_t head = std::min<size_t>(static_cast<size_t>(pkt->size), 32);
  const size_t tail = std::min<size_t>(static_cast<size_t>(pkt->size), 16);
  uint8_t buf[kWindow + 32];
  const size_t got = file.readAt(pkt->pos, buf, kWindow + head);
  for (size_t k = 0; k + head <= got && k <= kWindow; k++) {
    if (std::memcmp(buf + k, pkt->data, head) != 0) continue;
    const int64_t start = pkt->pos + static_cast<int64_t>(k);
    uint8_t end[16];
    if (file.readAt(start + pkt->size - static_cast<int64_t>(tail), end, tail) == tail &&
        std::memcmp(end, pkt->data + pkt->size - tail, tail) == 0)
      return start;
  }
  return -1;
}

class CopyFile {
 public:
  explicit CopyFile(const std::string& path) : path_(path) {
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + path + "': " + std::strerror(errno));
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  }
  ~CopyFile() {
    if (f_) std::fclose(f_);
  }
  int64_t append(const uint8_t* data, size_t size) {
    const int64_t at = offset_;
    if (std::fwrite(data, 1, size, f_) != size)
      throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + path_ + "': " + std::strerror(errno));
    offset_ += static_cast<int64_t>(size);
    return at;
  }
  // Flushed and on disk: a committed stream never points at bytes still in a cache.
  void finish() {
    if (std::fflush(f_) != 0 || ::fsync(fileno(f_)) != 0)
      throw VgError("ERR_BAD_ARGUMENT", "cannot write '" + path_ + "': " + std::strerror(errno));
    std::fclose(f_);
    f_ = nullptr;
  }

 private:
  std::string path_;
  FILE* f_ = nullptr;
  int64_t offset_ = 0;
};

struct InplaceRefused {};

// The stream's own side data (display matrix, and what the CLI adds to the first packet).
struct StreamSideData {
  int type;
  const uint8_t* data;
  size_t size;
};

std::string sideDataName(int type) {
  const char* name = av_packet_side_data_name(static_cast<AVPacketSideDataType>(type));
  return name ? name : "side data";
}

std::vector<StreamSideData> streamSideData(const AVStream* stream) {
  std::vector<StreamSideData> out;
#if LIBAVFORMAT_VERSION_MAJOR >= 61
  const AVCodecParameters* par = stream->codecpar;
  for (int i = 0; i < par->nb_coded_side_data; i++)
    out.push_back({par->coded_side_data[i].type, par->coded_side_data[i].data, par->coded_side_data[i].size});
#else
  for (int i = 0; i < stream->nb_side_data; i++)
    out.push_back({stream->side_data[i].type, stream->side_data[i].data, stream->side_data[i].size});
#endif
  return out;
}

const AVStream* firstVideoStream(const AVFormatContext* fmt) {
  // Like the CLI's `-map 0:v:0`: the first video stream (cover art is not a video).
  for (unsigned i = 0; i < fmt->nb_streams; i++) {
    const AVStream* s = fmt->streams[i];
    if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) return s;
  }
  return nullptr;
}

// A stream cut mid-GOP (a TS cut at any byte, a live capture) starts with packets whose frames
// the decoder never puts out: no keyframe before them, or an open GOP's leading pictures whose
// references were cut off. The ffmpeg CLI shows none of them, so they are not rows: rows start
// at the first frame a decode from the top puts out.
void dropLeadingRows(const ScanOptions& opt, bool inplace, VideoIndex& index, ScanResult& result) {
  const PacketEntry& first = index.packets[0];
  const bool cleanStart = (first.flags & kPacketKey) && index.packets[static_cast<size_t>(index.rowToPacket[0])].pts >= first.pts;
  if (cleanStart) return;
  int64_t firstPts;
  if (opt.indexOnly) {
    // No packets to decode (a count only): the frames before the first keyframe, and those shown
    // before it, are what H.264/HEVC decoders leave out.
    if (index.keyPackets.empty()) return;
    firstPts = index.packets[static_cast<size_t>(index.keyPackets[0])].pts;
  } else {
    // Decoding up to the third keyframe (an intra refresh completes within a period) and a
    // reorder window beyond it is enough to see the first frame come out.
    const size_t keys = index.keyPackets.size();
    const int limit = keys >= 3 ? index.keyPackets[2] + 48 : static_cast<int>(index.packets.size());
    PacketFile data(inplace ? opt.path : opt.copyTo);
    const int firstOut = VideoDecoder::firstOutputPacket(index, data, limit, opt.maxPixels);
    if (firstOut < 0) return;  // nothing comes out early on: those rows will fail to load, as damaged
    firstPts = index.packets[static_cast<size_t>(firstOut)].pts;
  }
  const size_t before = index.rowToPacket.size();
  index.rowToPacket.erase(std::remove_if(index.rowToPacket.begin(), index.rowToPacket.end(),
                                         [&](int32_t p) { return index.packets[static_cast<size_t>(p)].pts < firstPts; }),
                          index.rowToPacket.end());
  const size_t dropped = before - index.rowToPacket.size();
  if (dropped == 0) return;
  index.finalize();
  result.warnings.push_back("'" + opt.path + "' starts mid-GOP: its first " + std::to_string(dropped) +
                            " packet(s) yield no frame (as in the ffmpeg CLI) and are not rows");
}

ScanResult scanOnce(const ScanOptions& opt, bool inplace) {
  ScanResult result;
  AVFormatContext* raw = nullptr;
  int ret = avformat_open_input(&raw, opt.path.c_str(), nullptr, nullptr);
  if (ret < 0)
    throw VgError("ERR_INVALID_VIDEO", "'" + opt.path + "' is not a readable video container (" + avErrorString(ret) + ")");
  FormatContextPtr fmt(raw);
  {
    // The probe decodes a frame or two: under the pixel limit, so that a stream claiming a
    // huge picture is not allocated here either (its declared size is still reported).
    std::vector<AVDictionary*> probeOptions(fmt->nb_streams, nullptr);
    if (opt.maxPixels > 0)
      for (AVDictionary*& d : probeOptions) av_dict_set_int(&d, "max_pixels", opt.maxPixels, 0);
    ret = avformat_find_stream_info(fmt.get(), probeOptions.empty() ? nullptr : probeOptions.data());
    for (AVDictionary*& d : probeOptions) av_dict_free(&d);
  }
  if (ret < 0)
    throw VgError("ERR_INVALID_VIDEO", "cannot read the streams of '" + opt.path + "' (" + avErrorString(ret) + ")");
  const AVStream* stream = firstVideoStream(fmt.get());
  if (!stream) throw VgError("ERR_INVALID_VIDEO", "'" + opt.path + "' has no video stream");
  const AVCodecParameters* par = stream->codecpar;
  if (!avcodec_find_decoder(par->codec_id))
    throw VgError("ERR_UNSUPPORTED_CODEC", "'" + opt.path + "': no decoder for codec '" +
                                               avcodec_get_name(par->codec_id) + "' in this FFmpeg build");
  if (opt.maxPixels > 0 && pixelCount(par->width, par->height) > opt.maxPixels)
    throw VgError("ERR_INVALID_VIDEO", "'" + opt.path + "': " + pixelLimitMessage("the video", par->width, par->height, opt.maxPixels));
  for (unsigned i = 0; i < fmt->nb_streams; i++)
    if (fmt->streams[i] != stream) fmt->streams[i]->discard = AVDISCARD_ALL;

  auto index = std::make_shared<VideoIndex>();
  index->codec.fromParameters(par);
  index->timeBase = stream->time_base;
  index->frameRate = stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
  index->headerFrames = stream->nb_frames;
  index->container = fmt->iformat->name;
  index->inplace = inplace;
  const std::vector<StreamSideData> streamSide = streamSideData(stream);
  for (const StreamSideData& sd : streamSide) {
    if (sd.type == AV_PKT_DATA_DISPLAYMATRIX && sd.size >= 9 * sizeof(int32_t) && !index->hasDisplayMatrix) {
      index->hasDisplayMatrix = true;
      std::memcpy(index->displayMatrix.data(), sd.data, 9 * sizeof(int32_t));
    }
  }
  size_t sideBytes = 0;
  // Keeps one packet's side data for the decoder, within bounds: a file asking for more is
  // refused (decoding without it would give other pixels than the CLI).
  auto keepSide = [&](int packet, int type, const uint8_t* data, size_t size) {
    if (!keepsSideData(type)) return;
    if (size > kMaxSideDataItemBytes || sideBytes + size > kMaxSideDataTotalBytes)
      throw VgError("ERR_INVALID_VIDEO", "'" + opt.path + "': packet " + std::to_string(packet) + " carries " +
                                             std::to_string(size) + " bytes of " + sideDataName(type) +
                                             ", more than vidgraph stores (" + std::to_string(kMaxSideDataItemBytes) + " per packet, " +
                                             std::to_string(kMaxSideDataTotalBytes) + " per video)");
    sideBytes += size;
    index->sideData.push_back(SideData{packet, type, std::string(reinterpret_cast<const char*>(data), size)});
  };

  std::unique_ptr<PacketFile> source;
  std::unique_ptr<CopyFile> copy;
  if (inplace) source = std::make_unique<PacketFile>(opt.path);
  else if (!opt.indexOnly) copy = std::make_unique<CopyFile>(opt.copyTo);

  // Which packets nothing references, read from their bytes as they pass.
  ReferenceClassifier classifier(index->codec.codecId, index->codec.extradata);
  PacketPtr pkt = allocPacket();
  for (;;) {
    ret = av_read_frame(fmt.get(), pkt.get());
    if (ret == AVERROR(EAGAIN)) continue;
    if (ret == AVERROR_EOF) break;
    if (ret < 0) {
      result.warnings.push_back("'" + opt.path + "': reading stopped after " + std::to_string(index->packets.size()) +
                                " packets (" + avErrorString(ret) + "); the file looks truncated or corrupt");
      break;
    }
    if (pkt->stream_index != stream->index || pkt->size <= 0) {
      av_packet_unref(pkt.get());
      continue;
    }
    const int packetNo = static_cast<int>(index->packets.size());
    for (int i = 0; i < pkt->side_data_elems; i++)
      keepSide(packetNo, pkt->side_data[i].type, pkt->side_data[i].data, pkt->side_data[i].size);
    if (packetNo == 0) {
      // The CLI hands the stream's side data (but its display matrix) to the decoder with the
      // first packet, where the packet has none of that type (fftools/ffmpeg.c, process_input).
      for (const StreamSideData& sd : streamSide)
        if (sd.type != AV_PKT_DATA_DISPLAYMATRIX && !av_packet_get_side_data(pkt.get(), static_cast<AVPacketSideDataType>(sd.type), nullptr))
          keepSide(0, sd.type, sd.data, sd.size);
    }
    PacketEntry e{};
    e.pts = pkt->pts;
    e.dts = pkt->dts;
    e.duration = pkt->duration;
    e.size = pkt->size;
    if (pkt->flags & AV_PKT_FLAG_KEY) e.flags |= kPacketKey;
    if (pkt->flags & AV_PKT_FLAG_DISCARD) e.flags |= kPacketDiscard;
    if (pkt->flags & AV_PKT_FLAG_CORRUPT) e.flags |= kPacketCorrupt;
    if (inplace) {
      e.offset = locateInFile(*source, pkt.get());
      if (e.offset < 0) throw InplaceRefused{};
    } else if (copy) {
      e.offset = copy->append(pkt->data, static_cast<size_t>(pkt->size));
    } else {
      e.offset = -1;  // index only
    }
    index->packets.push_back(e);
    classifier.add(pkt->data, static_cast<size_t>(pkt->size));
    av_packet_unref(pkt.get());
    if (opt.progress) {
      __atomic_store_n(&opt.progress[0], static_cast<int64_t>(index->packets.size()), __ATOMIC_RELAXED);
      if (fmt->pb) __atomic_store_n(&opt.progress[1], static_cast<int64_t>(avio_tell(fmt->pb)), __ATOMIC_RELAXED);
    }
  }
  if (copy) copy->finish();
  const std::vector<bool> disposable = classifier.finish();
  if (index->packets.empty()) throw VgError("ERR_INVALID_VIDEO", "'" + opt.path + "' has a video stream with no frames");

  size_t corrupt = 0;
  for (const PacketEntry& e : index->packets) corrupt += (e.flags & kPacketCorrupt) ? 1 : 0;
  if (corrupt > 0)
    result.warnings.push_back("'" + opt.path + "': " + std::to_string(corrupt) +
                              " damaged packet(s); their frames will fail to load with ERR_DECODE");

  // Presentation order: by pts when every shown packet has one; otherwise ask the codec.
  const bool allPts = std::all_of(index->packets.begin(), index->packets.end(), [](const PacketEntry& e) {
    return (e.flags & kPacketDiscard) || e.pts != AV_NOPTS_VALUE;
  });
  if (allPts || opt.indexOnly) {
    if (!allPts)
      result.warnings.push_back("'" + opt.path + "': the container has packets without timestamps; frames were counted from its packets");
    for (size_t i = 0; i < index->packets.size(); i++)
      if (!(index->packets[i].flags & kPacketDiscard)) index->rowToPacket.push_back(static_cast<int32_t>(i));
    std::stable_sort(index->rowToPacket.begin(), index->rowToPacket.end(),
                     [&](int32_t a, int32_t b) { return index->packets[a].pts < index->packets[b].pts; });
  } else {
    index->ptsSynthesized = true;
    PacketFile data(inplace ? opt.path : opt.copyTo);
    index->rowToPacket = VideoDecoder::outputOrder(*index, data, opt.maxPixels);
    // Timestamps for rows, from the frame rate (or 25 fps when even that is unknown).
    const AVRational rate = index->frameRate.num > 0 ? index->frameRate : AVRational{25, 1};
    const AVRational tb = av_inv_q(rate);
    index->timeBase = tb;
    for (size_t r = 0; r < index->rowToPacket.size(); r++) {
      PacketEntry& e = index->packets[static_cast<size_t>(index->rowToPacket[r])];
      e.pts = static_cast<int64_t>(r);
      e.duration = 1;
    }
    result.warnings.push_back("'" + opt.path + "': the container has packets without timestamps; frame order comes from a decode pass");
  }
  index->finalize();
  if (!index->ptsSynthesized) dropLeadingRows(opt, inplace, *index, result);
  applyDisposable(*index, disposable);  // with the rows final: packets that are no row stay references
  if (index->rows() == 0) throw VgError("ERR_INVALID_VIDEO", "'" + opt.path + "' has a video stream with no frames");
  result.index = std::move(index);
  return result;
}

}  // namespace

ScanResult scanVideo(const ScanOptions& opt) {
  struct stat st;
  if (::stat(opt.path.c_str(), &st) != 0)
    throw VgError(errno == ENOENT ? "ERR_NOT_FOUND" : "ERR_INVALID_VIDEO",
                  "cannot open '" + opt.path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
    throw VgError("ERR_INVALID_VIDEO", "'" + opt.path + "' is not a file");
  const auto t0 = std::chrono::steady_clock::now();
  ScanResult result;
  bool inplace = opt.inplace && !opt.indexOnly;
  std::string refusal;
  if (inplace) {
    // Probe the container name first: only contiguous-packet containers are tried in place.
    AVFormatContext* raw = nullptr;
    if (avformat_open_input(&raw, opt.path.c_str(), nullptr, nullptr) >= 0) {
      FormatContextPtr fmt(raw);
      if (!containerAllowsInplace(fmt->iformat->name)) {
        inplace = false;
        refusal = std::string("the ") + fmt->iformat->name + " container";
      }
    }
  }
  if (inplace) {
    try {
      result = scanOnce(opt, true);
    } catch (const InplaceRefused&) {
      inplace = false;
      refusal = "its packets are not stored as plain byte ranges";
    }
  }
  if (!inplace) {
    if (opt.copyTo.empty() && !opt.indexOnly)
      throw VgError("ERR_BAD_ARGUMENT", "'" + opt.path + "' cannot be read in place (" + refusal + ") and no copy target was given");
    result = scanOnce(opt, false);
    if (opt.inplace && !opt.indexOnly)
      result.warnings.insert(result.warnings.begin(), "'" + opt.path + "' cannot be read in place (" + refusal +
                                                          "): its packets were copied into the database instead");
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace vg
