// The packet index of one video stream: what ingest records and every decode reads.
//
// Packets are kept in decode (demux) order. Rows are frames in presentation order:
// rowToPacket[r] is the packet whose picture is row r. The frame count is the
// number of rows, which comes from the scan, never from the container header.
#pragma once

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

class VideoIndex {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  CodecInfo codec;
  AVRational timeBase{1, 1};
  AVRational frameRate{0, 1};  // container's average rate; 0/1 when unknown
  int64_t headerFrames = 0;    // what the container header claims (informational only)
  std::string container;       // demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  bool inplace = false;        // offsets point into the original file
  bool ptsSynthesized = false; // the container had packets without pts: order came from a decode pass
  std::vector<PacketEntry> packets;  // decode order
  std::vector<int32_t> rowToPacket;  // presentation order

  // Derived by finalize(): inverse map and keyframe list.
  std::vector<int32_t> packetToRow;
  std::vector<int32_t> keyPackets;

  void finalize();
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
