// One decoder owns one stream's decode state (codec context, colour converter, position).
//
// Packets are fed with pts = their decode-order index in the VideoIndex, so every frame
// the codec returns names the packet it came from, whatever reordering the codec does.
// decode() takes sorted, distinct rows and decodes, for each keyframe interval holding a
// requested row, from that keyframe through the last requested row, and no other GOP.
// A request that continues where the previous one stopped (sequential reading) does not
// seek at all.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ffmpeg.h"
#include "index.h"
#include "limits.h"
#include "packet_file.h"
#include "rgb_converter.h"

namespace vg {


struct DecoderOptions {
  int threads = 0;  // 0: FFmpeg picks (all cores); clamped to threadCap()
  int maxWidth = 0, maxHeight = 0;
  // Pictures with more pixels are refused (ERR_INVALID_VIDEO) before the codec allocates
  // them: limitInputPixels. 0: no limit of ours (FFmpeg's own still applies).
  int64_t maxPixels = kDefaultMaxPixels;
  bool keepRecent = true;  // keep the last decoded pictures to answer repeat/nearby requests
  // Turn pictures by their display matrix as the ffmpeg CLI does by default (autorotate);
  // false: the stored orientation (the CLI's -noautorotate).
  bool rotate = true;
};

struct DecodedRow {
  int row;
  std::unique_ptr<RgbImage> image;
};

struct DecodeResult {
  std::vector<DecodedRow> frames;  // in row order
  std::vector<int> failedRows;     // damaged or undecodable rows
  std::string failure;             // why, for the first failed row
  int64_t framesDecoded = 0;       // frames the codec produced for this request
  int64_t packetsSent = 0;
  int seeks = 0;
  int conversion = 0;  // RgbConverter::path(): 1 direct swscale (verified), 2 reference graph
};

class VideoDecoder {
 public:
  VideoDecoder(std::shared_ptr<const VideoIndex> index, std::shared_ptr<const PacketFile> file,
               DecoderOptions options);
  DecodeResult decode(const std::vector<int>& sortedRows, const std::atomic<bool>* cancel = nullptr);
  const VideoIndex& index() const { return *index_; }

  // Decodes every packet in order without converting and returns the packets whose frames
  // came out, in output order: presentation order for containers without pts.
  static std::vector<int32_t> outputOrder(const VideoIndex& index, const PacketFile& file, int threads,
                                          int64_t maxPixels);

  // Throws ERR_INVALID_VIDEO when the stream's declared size exceeds maxPixels (0: no limit).
  static void checkPixels(const VideoIndex& index, int64_t maxPixels);

  // Shared with the codec (AVCodecContext::opaque, copied to its frame threads): the limit
  // and the size of the first picture refused under it.
  struct PixelGuard {
    int64_t limit = 0;
    std::atomic<int> refusedWidth{0}, refusedHeight{0};
    // Records the first refused picture's size (for the error).
    void refuse(int width, int height) {
      int none = 0;
      if (refusedWidth.compare_exchange_strong(none, width)) refusedHeight.store(height);
    }
  };

 private:
  struct Request;
  void openCodec();
  void resetTo(int packet);
  void sendNext(Request& req);
  void drain(Request& req);
  void receive(Request& req);
  bool canContinue(int startPacket, int row) const;
  void remember(int row, const AVFrame* frame, bool damaged);
  void deliver(Request& req, int row, const AVFrame* frame, bool damaged, const char* why);
  void checkRefused(int packet);

  std::shared_ptr<const VideoIndex> index_;
  std::shared_ptr<const PacketFile> file_;
  DecoderOptions options_;
  std::unique_ptr<PixelGuard> guard_;  // outlives codec_ (declared before it)
  CodecContextPtr codec_;
  RgbConverter converter_;
  PacketPtr packet_;
  FramePtr frame_;
  std::set<int> badPackets_;  // packets the codec rejected
  int seekStart_ = -1;        // packet the current run started at
  int nextPacket_ = -1;       // next packet to send; -1: needs a reset
  int lastOutputRow_ = -1;    // highest row the codec returned since the reset
  bool drained_ = false;      // end of stream signalled: the codec needs a flush
  std::vector<int> stickySent_;  // sticky side data types (palette, extradata) the codec has been given

  // The most recent frames the codec returned (still in its pixel format, shared with the
  // codec by reference): a request for a frame just decoded, e.g. the next one after a
  // B-frame burst or a slightly earlier one, is answered without decoding again.
  struct Recent {
    FramePtr frame;
    bool damaged;
  };
  std::map<int, Recent> recent_;
  std::deque<int> recentOrder_;
  size_t recentLimit_ = 0;
};

}  // namespace vg
