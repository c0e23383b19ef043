#include "index.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

extern "C" {
#include <libavutil/display.h>
}

namespace vg {

bool keepsSideData(int type) {
  switch (type) {
    case AV_PKT_DATA_PALETTE:
    case AV_PKT_DATA_NEW_EXTRADATA:
    case AV_PKT_DATA_PARAM_CHANGE:
    case AV_PKT_DATA_DISPLAYMATRIX:
      return true;
    default:
      return false;
  }
}

bool stickySideData(int type) {
  return type == AV_PKT_DATA_PALETTE || type == AV_PKT_DATA_NEW_EXTRADATA || type == AV_PKT_DATA_PARAM_CHANGE;
}

double displayRotation(const int32_t* matrix) {
  // As the ffmpeg CLI's get_rotation() (fftools/cmdutils.c): counter-clockwise degrees from
  // the matrix, negated, rounded and brought into [0, 360) (359.5 counts as -0.5).
  double theta = 0;
  if (matrix) theta = -std::round(av_display_rotation_get(matrix));
  theta -= 360 * std::floor(theta / 360 + 0.9 / 360);
  return theta;
}

std::string orientationFilters(const int32_t* m) {
  // The CLI's autorotate (configure_input_video_filter in fftools/ffmpeg_filter.c), branch for
  // branch: a NaN angle (degenerate matrix) matches none of them.
  if (!m) return "";
  const double theta = displayRotation(m);
  if (std::fabs(theta - 90) < 1.0) return m[3] > 0 ? "transpose=cclock_flip" : "transpose=clock";
  if (std::fabs(theta - 180) < 1.0) {
    std::string chain;
    if (m[0] < 0) chain = "hflip";
    if (m[4] < 0) chain += chain.empty() ? "vflip" : ",vflip";
    return chain;
  }
  if (std::fabs(theta - 270) < 1.0) return m[3] < 0 ? "transpose=clock_flip" : "transpose=cclock";
  if (std::fabs(theta) > 1.0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "rotate=%f*PI/180", theta);
    return buf;
  }
  if (std::fabs(theta) < 1.0 && m[4] < 0) return "vflip";
  return "";
}

bool orientationSwapsSize(const int32_t* m) {
  if (!m) return false;
  const double theta = displayRotation(m);
  return std::fabs(theta - 90) < 1.0 || std::fabs(theta - 270) < 1.0;
}

void CodecInfo::fromParameters(const AVCodecParameters* p) {
  codecId = p->codec_id;
  codecTag = p->codec_tag;
  format = p->format;
  width = p->width;
  height = p->height;
  profile = p->profile;
  level = p->level;
  bitsPerCodedSample = p->bits_per_coded_sample;
  bitsPerRawSample = p->bits_per_raw_sample;
  fieldOrder = p->field_order;
  colorRange = p->color_range;
  colorPrimaries = p->color_primaries;
  colorTrc = p->color_trc;
  colorSpace = p->color_space;
  chromaLocation = p->chroma_location;
  sarNum = p->sample_aspect_ratio.num;
  sarDen = p->sample_aspect_ratio.den;
  videoDelay = p->video_delay;
  extradata.assign(reinterpret_cast<const char*>(p->extradata), p->extradata ? p->extradata_size : 0);
}

CodecParametersPtr CodecInfo::toParameters() const {
  CodecParametersPtr p(avcodec_parameters_alloc());
  if (!p) throw std::bad_alloc();
  p->codec_type = AVMEDIA_TYPE_VIDEO;
  p->codec_id = static_cast<AVCodecID>(codecId);
  p->codec_tag = codecTag;
  p->format = format;
  p->width = width;
  p->height = height;
  p->profile = profile;
  p->level = level;
  p->bits_per_coded_sample = bitsPerCodedSample;
  p->bits_per_raw_sample = bitsPerRawSample;
  p->field_order = static_cast<AVFieldOrder>(fieldOrder);
  p->color_range = static_cast<AVColorRange>(colorRange);
  p->color_primaries = static_cast<AVColorPrimaries>(colorPrimaries);
  p->color_trc = static_cast<AVColorTransferCharacteristic>(colorTrc);
  p->color_space = static_cast<AVColorSpace>(colorSpace);
  p->chroma_location = static_cast<AVChromaLocation>(chromaLocation);
  p->sample_aspect_ratio = AVRational{sarNum, sarDen};
  p->video_delay = videoDelay;
  if (!extradata.empty()) {
    p->extradata = static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!p->extradata) throw std::bad_alloc();
    std::memcpy(p->extradata, extradata.data(), extradata.size());
    p->extradata_size = static_cast<int>(extradata.size());
  }
  return p;
}

void VideoIndex::finalize() {
  packetToRow.assign(packets.size(), -1);
  for (size_t r = 0; r < rowToPacket.size(); r++) packetToRow[rowToPacket[r]] = static_cast<int32_t>(r);
  keyPackets.clear();
  for (size_t i = 0; i < packets.size(); i++)
    if (packets[i].flags & kPacketKey) keyPackets.push_back(static_cast<int32_t>(i));
}

std::vector<SideData>::const_iterator VideoIndex::sideDataFrom(int packet) const {
  return std::lower_bound(sideData.begin(), sideData.end(), packet, [](const SideData& sd, int p) { return sd.packet < p; });
}

bool VideoIndex::hasSideData(int packet) const {
  const auto it = sideDataFrom(packet);
  return it != sideData.end() && it->packet == packet;
}

void VideoIndex::attachSideData(int packet, bool startOfRun, AVPacket* pkt) const {
  if (sideData.empty()) return;
  auto add = [pkt](const SideData& sd) {
    uint8_t* dst = av_packet_new_side_data(pkt, static_cast<AVPacketSideDataType>(sd.type), sd.data.size());
    if (!dst) throw std::bad_alloc();
    if (!sd.data.empty()) std::memcpy(dst, sd.data.data(), sd.data.size());
  };
  const auto first = sideDataFrom(packet);
  std::vector<int> own;
  for (auto it = first; it != sideData.end() && it->packet == packet; ++it) {
    add(*it);
    own.push_back(it->type);
  }
  if (!startOfRun) return;
  // A decode starting here has not seen the palette (or extradata) earlier packets set: send
  // the latest of each sticky type along, unless this packet brings its own.
  std::vector<int> done = own;
  for (auto it = first; it != sideData.begin();) {
    --it;
    if (!stickySideData(it->type) || std::find(done.begin(), done.end(), it->type) != done.end()) continue;
    add(*it);
    done.push_back(it->type);
  }
}

bool VideoIndex::stickyStateMissingAt(int packet, const std::vector<int>& sentTypes) const {
  for (int type : sentTypes) {
    const bool found = std::any_of(sideData.begin(), sideData.end(),
                                   [&](const SideData& sd) { return sd.type == type && sd.packet <= packet; });
    if (!found) return true;
  }
  return false;
}

int VideoIndex::startPacketFor(int row) const {
  const int p = rowToPacket.at(row);
  // The last keyframe at or before p in decode order.
  auto it = std::upper_bound(keyPackets.begin(), keyPackets.end(), p);
  if (it == keyPackets.begin()) return 0;  // stream does not start on a keyframe: decode from the top
  --it;
  // A leading picture of an open GOP (shown before its keyframe) references the previous
  // GOP: start one keyframe earlier so that its references exist.
  if (packets[p].pts < packets[*it].pts) {
    if (it == keyPackets.begin()) return 0;
    --it;
  }
  return *it;
}

int64_t VideoIndex::dataEnd() const {
  int64_t end = 0;
  for (const PacketEntry& e : packets) end = std::max(end, e.offset + e.size);
  return end;
}

double VideoIndex::fps() const {
  if (frameRate.num > 0 && frameRate.den > 0) return av_q2d(frameRate);
  const double d = durationSeconds();
  return d > 0 ? rows() / d : 0.0;
}

double VideoIndex::rowSeconds(int row) const {
  if (rowToPacket.empty()) return 0;
  const int64_t first = packets[rowToPacket[0]].pts;
  return (packets[rowToPacket.at(row)].pts - first) * av_q2d(timeBase);
}

double VideoIndex::durationSeconds() const {
  if (rowToPacket.empty()) return 0;
  const PacketEntry& last = packets[rowToPacket.back()];
  int64_t lastDuration = last.duration;
  if (lastDuration <= 0 && rowToPacket.size() > 1) {
    lastDuration = last.pts - packets[rowToPacket[rowToPacket.size() - 2]].pts;
  }
  const int64_t first = packets[rowToPacket[0]].pts;
  return (last.pts + std::max<int64_t>(lastDuration, 0) - first) * av_q2d(timeBase);
}

// ---- serialization: little-endian, fixed layout, versioned ----

namespace {

class Writer {
 public:
  template <typename T>
  void put(T v) {
    const auto* b = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), b, b + sizeof(T));
  }
  void putBytes(const std::string& s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  template <typename T>
  void putArray(const std::vector<T>& v) {
    put<uint64_t>(v.size());
    const auto* b = reinterpret_cast<const uint8_t*>(v.data());
    out.insert(out.end(), b, b + v.size() * sizeof(T));
  }
  std::vector<uint8_t> out;
};

class Reader {
 public:
  Reader(const uint8_t* d, size_t n) : data(d), size(n) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, data + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  size_t remaining() const { return size - pos; }
  std::string getBytes() {
    const uint32_t n = get<uint32_t>();
    need(n);
    std::string s(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    return s;
  }
  template <typename T>
  std::vector<T> getArray() {
    const uint64_t n = get<uint64_t>();
    if (n > (size - pos) / sizeof(T)) fail();
    std::vector<T> v(n);
    std::memcpy(v.data(), data + pos, n * sizeof(T));
    pos += n * sizeof(T);
    return v;
  }

 private:
  void need(size_t n) {
    if (n > size - pos) fail();
  }
  [[noreturn]] void fail() { throw VgError("ERR_INVALID_VIDEO", "the packet index is truncated or corrupt"); }
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
};

constexpr uint32_t kMagic = 0x58494756;  // "VGIX"
static_assert(sizeof(PacketEntry) == 40, "PacketEntry layout is part of the index format");

}  // namespace

std::vector<uint8_t> VideoIndex::serialize() const {
  Writer w;
  w.put<uint32_t>(kMagic);
  w.put<uint32_t>(classified ? kFormatVersion : 2);
  const CodecInfo& c = codec;
  for (int32_t v : {c.codecId, static_cast<int32_t>(c.codecTag), c.format, c.width, c.height, c.profile,
                    c.level, c.bitsPerCodedSample, c.bitsPerRawSample, c.fieldOrder, c.colorRange,
                    c.colorPrimaries, c.colorTrc, c.colorSpace, c.chromaLocation, c.sarNum, c.sarDen,
                    c.videoDelay})
    w.put<int32_t>(v);
  w.putBytes(c.extradata);
  w.put<int32_t>(timeBase.num);
  w.put<int32_t>(timeBase.den);
  w.put<int32_t>(frameRate.num);
  w.put<int32_t>(frameRate.den);
  w.put<int64_t>(headerFrames);
  w.putBytes(container);
  w.put<uint8_t>(inplace ? 1 : 0);
  w.put<uint8_t>(ptsSynthesized ? 1 : 0);
  w.putArray(packets);
  w.putArray(rowToPacket);
  // Version 2 from here on.
  w.put<uint8_t>(hasDisplayMatrix ? 1 : 0);
  for (int32_t v : displayMatrix) w.put<int32_t>(v);
  w.put<uint64_t>(sideData.size());
  for (const SideData& sd : sideData) {
    w.put<int32_t>(sd.packet);
    w.put<int32_t>(sd.type);
    w.putBytes(sd.data);
  }
  return std::move(w.out);
}

std::shared_ptr<VideoIndex> VideoIndex::deserialize(const uint8_t* data, size_t size) {
  Reader r(data, size);
  if (r.get<uint32_t>() != kMagic) throw VgError("ERR_INVALID_VIDEO", "not a vidgraph packet index");
  const uint32_t version = r.get<uint32_t>();
  if (version < 1 || version > kFormatVersion)
    throw VgError("ERR_INVALID_VIDEO", "packet index format version " + std::to_string(version) +
                                           " is not supported (expected 1 to " + std::to_string(kFormatVersion) + ")");
  auto idx = std::make_shared<VideoIndex>();
  CodecInfo& c = idx->codec;
  int32_t* fields[] = {&c.codecId, nullptr, &c.format, &c.width, &c.height, &c.profile, &c.level,
                       &c.bitsPerCodedSample, &c.bitsPerRawSample, &c.fieldOrder, &c.colorRange,
                       &c.colorPrimaries, &c.colorTrc, &c.colorSpace, &c.chromaLocation, &c.sarNum,
                       &c.sarDen, &c.videoDelay};
  for (int32_t* f : fields) {
    const int32_t v = r.get<int32_t>();
    if (f) *f = v; else c.codecTag = static_cast<uint32_t>(v);
  }
  c.extradata = r.getBytes();
  idx->timeBase.num = r.get<int32_t>();
  idx->timeBase.den = r.get<int32_t>();
  idx->frameRate.num = r.get<int32_t>();
  idx->frameRate.den = r.get<int32_t>();
  idx->headerFrames = r.get<int64_t>();
  idx->container = r.getBytes();
  idx->inplace = r.get<uint8_t>() != 0;
  idx->ptsSynthesized = r.get<uint8_t>() != 0;
  idx->packets = r.getArray<PacketEntry>();
  idx->rowToPacket = r.getArray<int32_t>();
  idx->classified = version >= 3;
  // An older index's flag bits beyond the ones it knew are not a classification.
  if (!idx->classified)
    for (PacketEntry& e : idx->packets) e.flags &= ~static_cast<uint32_t>(kPacketDisposable);
  if (version >= 2) {
    idx->hasDisplayMatrix = r.get<uint8_t>() != 0;
    for (int32_t& v : idx->displayMatrix) v = r.get<int32_t>();
    const uint64_t count = r.get<uint64_t>();
    // Each item takes at least 12 bytes: a count larger than the rest of the file is damage.
    if (count > r.remaining() / 12) throw VgError("ERR_INVALID_VIDEO", "the packet index is corrupt (side data count " + std::to_string(count) + ")");
    size_t total = 0;
    idx->sideData.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; i++) {
      SideData sd;
      sd.packet = r.get<int32_t>();
      sd.type = r.get<int32_t>();
      sd.data = r.getBytes();
      total += sd.data.size();
      const auto bad = [&](const std::string& what) {
        return VgError("ERR_INVALID_VIDEO", "the packet index is corrupt (side data item " + std::to_string(i) + " " + what + ")");
      };
      if (sd.packet < 0 || static_cast<size_t>(sd.packet) >= idx->packets.size() ||
          (!idx->sideData.empty() && sd.packet < idx->sideData.back().packet))
        throw bad("names packet " + std::to_string(sd.packet));
      if (!keepsSideData(sd.type)) throw bad("has unknown type " + std::to_string(sd.type));
      if (sd.data.size() > kMaxSideDataItemBytes || total > kMaxSideDataTotalBytes)
        throw bad("is " + std::to_string(sd.data.size()) + " bytes, over the side data limit");
      idx->sideData.push_back(std::move(sd));
    }
  }
  for (size_t i = 0; i < idx->packets.size(); i++) {
    const PacketEntry& e = idx->packets[i];
    if (e.size <= 0 || e.offset < 0 || e.offset > INT64_MAX - e.size)
      throw VgError("ERR_INVALID_VIDEO", "the packet index is corrupt (packet " + std::to_string(i) + " has offset " +
                                             std::to_string(e.offset) + " and size " + std::to_string(e.size) + ")");
  }
  for (int32_t p : idx->rowToPacket)
    if (p < 0 || static_cast<size_t>(p) >= idx->packets.size())
      throw VgError("ERR_INVALID_VIDEO", "the packet index is corrupt (row points past the packets)");
  idx->finalize();
  return idx;
}

}  // namespace vg
