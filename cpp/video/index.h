// The packet index of one video stream: what ingest records and every decode reads.
//
// Packets are kept in decode (demux) order. Rows are frames in presentation order:
// rowToPacket[r] is the packet whose picture is row r. The frame count is the
// number of rows, which comes from the scan, never from the container header.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ffmpeg.h"

namespace vg {

enum PacketFlag : uint32_t {
  kPacketKey = 1,      // a keyframe: decoding may start here
  kPacketDiscard = 2,  // the demuxer asked the decoder to drop its frame (edit lists)
  kPacketCorrupt = 4,  // the demuxer reported the packet damaged or short (truncated files)
  // No other frame can reference the packet's picture (reference.h): a decode that does not
  // want its row may leave it out. Set only in indexes of format 3 (or once classified).
  kPacketDisposable = 8,
};

struct PacketEntry {
  int64_t pts;       // container pts (or synthesized when the container has none)
  int64_t dts;
  int64_t duration;
  int64_t offset;    // byte offset of the packet data in the data file
  int32_t size;      // bytes
  uint32_t flags;    // PacketFlag bits
};

// Everything needed to rebuild AVCodecParameters without the container.
struct CodecInfo {
  int32_t codecId = 0;
  uint32_t codecTag = 0;
  int32_t format = -1;
  int32_t width = 0, height = 0;
  int32_t profile = 0, level = 0;
  int32_t bitsPerCodedSample = 0, bitsPerRawSample = 0;
  int32_t fieldOrder = 0, colorRange = 0, colorPrimaries = 0, colorTrc = 0, colorSpace = 0,
          chromaLocation = 0;
  int32_t sarNum = 0, sarDen = 1;
  int32_t videoDelay = 0;
  std::string extradata;

  void fromParameters(const AVCodecParameters* p);
  CodecParametersPtr toParameters() const;
};

// One packet's side data, kept for the decoder (the demuxer attaches it to the packet, the
// packet file holds only the packet's bytes). Only types that change decoded pixels or their
// orientation are kept (see keepsSideData).
struct SideData {
  int32_t packet;  // decode-order packet index
  int32_t type;    // AVPacketSideDataType
  std::string data;
};

// Bounds on stored side data: one item (a palette is 1 KiB, new extradata a few KiB) and all
// of one stream. A file asking for more is refused at ingest; an index claiming more is corrupt.
constexpr size_t kMaxSideDataItemBytes = size_t{1} << 20;
constexpr size_t kMaxSideDataTotalBytes = size_t{64} << 20;

// Whether side data of this type is stored and replayed: palettes (pal8 video), in-band
// parameter changes and new extradata, and per-packet display matrices.
bool keepsSideData(int type);
// State-setting side data: a decode that starts at a later packet needs the latest one sent
// before it (a palette stays in force until the next one).
bool stickySideData(int type);

// The ffmpeg CLI's reading of a display matrix (get_rotation): clockwise degrees in [0, 360).
double displayRotation(const int32_t* matrix);
// The filters the CLI inserts to apply it (autorotate), e.g. "transpose=clock"; "" for none.
std::string orientationFilters(const int32_t* matrix);
// Whether those filters swap width and height.
bool orientationSwapsSize(const int32_t* matrix);

class VideoIndex {
 public:
  // 2: display matrix and packet side data after the row table (version 1 indexes, which have
  // neither, are still read).
  // 3: packets are classified (kPacketDisposable); same layout as 2. Indexes of versions 1 and 2
  // load unclassified (classifyPackets in reference.h fills the flag in from the packets).
  static constexpr uint32_t kFormatVersion = 3;

  CodecInfo codec;
  AVRational timeBase{1, 1};
  AVRational frameRate{0, 1};  // container's average rate; 0/1 when unknown
  int64_t headerFrames = 0;    // what the container header claims (informational only)
  std::string container;       // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  bool inplace = false;        // offsets point into the original file
  bool ptsSynthesized = false; // the container had packets without pts: order came from a decode pass
  std::vector<PacketEntry> packets;  // decode order
  std::vector<int32_t> rowToPacket;  // presentation order
  bool hasDisplayMatrix = false;     // the stream's display matrix (rotation), if any
  std::array<int32_t, 9> displayMatrix{};
  std::vector<SideData> sideData;    // ordered by packet
  // Whether kPacketDisposable has been set from the packets (scans, format 3 indexes): an index
  // that is not serializes as format 2.
  bool classified = false;

  // Derived by finalize(): inverse map and keyframe list.
  std::vector<int32_t> packetToRow;
  std::vector<int32_t> keyPackets;

  void finalize();
  // Attaches packet `packet`'s side data to `pkt`; when `startOfRun`, also the latest sticky
  // side data of earlier packets (of each type the packet does not carry itself).
  void attachSideData(int packet, bool startOfRun, AVPacket* pkt) const;
  // The first side data item of `packet` or of a later one (sideData is ordered by packet).
  std::vector<SideData>::const_iterator sideDataFrom(int packet) const;
  bool hasSideData(int packet) const;
  // Sticky side data types sent before `packet` for which no item exists at or before it.
  bool stickyStateMissingAt(int packet, const std::vector<int>& sentTypes) const;
  const int32_t* displayMatrixOrNull() const { return hasDisplayMatrix ? displayMatrix.data() : nullptr; }
  // Clockwise rotation the CLI applies, in degrees [0, 360); 0 without a display matrix.
  double rotation() const { return displayRotation(displayMatrixOrNull()); }
  int rows() const { return static_cast<int>(rowToPacket.size()); }
  // One past the last byte any packet occupies in the data file.
  int64_t dataEnd() const;
  // The packet to start decoding from so that `row` decodes exactly as in a full decode.
  int startPacketFor(int row) const;
  double fps() const;
  double rowSeconds(int row) const;  // seconds since the first row
  double durationSeconds() const;
  std::vector<uint8_t> serialize() const;
  static std::shared_ptr<VideoIndex> deserialize(const uint8_t* data, size_t size);
};

}  // namespace vg
