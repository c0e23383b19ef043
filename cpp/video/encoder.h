// Encodes RGB frames to H.264 (libx264, else OpenH264, through libavcodec) into a packet file,
// and builds the same packet index ingest builds, so an encoded output stream reads back
// exactly like an ingested video.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../kernels/element.h"
#include "ffmpeg.h"
#include "index.h"

struct SwsContext;

namespace vg {

struct EncoderOptions {
  int width = 0, height = 0;
  AVRational frameRate{30, 1};
  int crf = 23;        // quality (lower is better; x264's CRF scale); ignored when bitrate > 0
  int64_t bitrate = 0; // bits per second
  int gop = 0;         // keyframe distance; 0: kDefaultGop
  int threads = 0;
  std::string preset = "veryfast";  // libx264 only
};

// The keyframe distance when none is asked: libx264's own default, used for every encoder so
// that a stream's random-access cost does not depend on which encoder the build has.
constexpr int kDefaultGop = 250;

// The H.264 encoder vidgraph uses: libx264 if this FFmpeg build has it, else libopenh264 (the
// LGPL prebuilt's). $VIDGRAPH_H264_ENCODER=<name> asks for one encoder by name (tests).
// Returns nullptr and says why in `missing` when there is none.
const AVCodec* findH264Encoder(std::string* missing);

class VideoEncoder {
 public:
  VideoEncoder(const std::string& packetsPath, const EncoderOptions& options);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  void encode(const FrameData& rgb);
  // Drains the encoder, syncs the packet file and returns the index.
  std::shared_ptr<VideoIndex> finish();
  // The FFmpeg name of the encoder in use (libx264, libopenh264, ...).
  const char* encoderName() const;
  // Frames per closed segment: the keyframe distance. Each segment comes from a fresh encoder.
  int gopFrames() const { return options_.gop > 0 ? options_.gop : kDefaultGop; }

 private:
  void openCodec();
  void drain(bool flush);
  EncoderOptions options_;
  CodecContextPtr codec_;
  SwsContext* sws_ = nullptr;
  FramePtr yuv_;
  PacketPtr packet_;
  FILE* file_ = nullptr;
  std::string path_;
  int64_t offset_ = 0;
  int64_t nextPts_ = 0;
  int64_t segmentStart_ = 0;  // the first row of the current segment
  std::shared_ptr<VideoIndex> index_;
};

// Writes the packets of an index (H.264/HEVC and other MP4-compatible codecs) into an MP4 file
// without re-encoding.
// Joins encoded parts (each one VideoEncoder's output, rows [a_k, a_k + n_k) of one stream, in
// order, every part but the last a whole number of segments) into one packet file at outPath;
// returns its index, the same as one encoder's over all the rows.
std::shared_ptr<VideoIndex> concatEncoded(const std::vector<std::pair<std::shared_ptr<VideoIndex>, std::string>>& parts,
                                          const std::string& outPath);

void remuxToMp4(const VideoIndex& index, const std::string& dataPath, const std::string& outPath);

}  // namespace vg
