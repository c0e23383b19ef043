// Encodes RGB frames to H.264 (libx264 through libavcodec) into a packet file, and builds
// the same packet index ingest builds, so an encoded output stream reads back exactly like
// an ingested video.
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
  int crf = 23;        // quality (lower is better); ignored when bitrate > 0
  int64_t bitrate = 0; // bits per second
  int gop = 0;         // keyframe distance; 0: the encoder's default
  int threads = 0;
  std::string preset = "veryfast";
};

class VideoEncoder {
 public:
  VideoEncoder(const std::string& packetsPath, const EncoderOptions& options);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  void encode(const FrameData& rgb);
  // Drains the encoder, syncs the packet file and returns the index.
  std::shared_ptr<VideoIndex> finish();

 private:
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
  std::shared_ptr<VideoIndex> index_;
};

// Writes the packets of an index (H.264/HEVC and other MP4-compatible codecs) into an MP4 file
// without re-encoding.
void remuxToMp4(const VideoIndex& index, const std::string& dataPath, const std::string& outPath);

}  // namespace vg
