// One decoder owns one stream's decode state (codec contexts, colour converter, position).
//
// Packets are fed with pts = their decode-order index in the VideoIndex, so every frame
// the codec returns names the packet it came from, whatever reordering the codec does.
// decode() takes sorted, distinct rows and decodes, for each keyframe interval holding a
// requested row, from that keyframe through the last requested row, and no other GOP.
// A request that continues where the previous one stopped (sequential reading) does not
// seek at all.
//
// The rule for damaged input (the same answer on every path: in order, shuffled, one by one):
// a row's *canonical decode* is a fresh single-threaded codec fed from the row's entry packet
// (its keyframe, one earlier for an open GOP's leading pictures; earlier still while a decode
// from there does not reach the row, as for intra refresh). The row is its pixels when, in
// that decode, its frame comes out and no packet from the entry through the row's own packet
// (decode order) reported damage: a damaged or rejected packet, a frame flagged corrupt or
// concealed, or a frame that should have come out and did not. Disposable packets (no frame
// references them) count only for their own row, and are left out when their row is not
// asked for. Otherwise it is ERR_DECODE.
// The fast path (frame threads, continuing across requests) answers a row itself only when
// its whole run, from its start through the row, was free of damage; anything else is
// answered by the canonical decode. Frames are handed out only once *settled*: every frame
// decoded before the row (decode order) has come out or is known missing, so damage in a
// reference that comes out after the row (B-frames) is seen first.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ffmpeg.h"
#include "index.h"
#include "limits.h"
#include "packet_file.h"
#include "rgb_converter.h"
#include "../kernels/cuda/gpu_device.h"

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
  // Packets no other frame references (kPacketDisposable) are not sent to the codec when their
  // row is not asked for; the rows asked for decode byte for byte the same.
  bool skipDisposable = true;
  // >= 0: decode on this CUDA device through NVDEC (nvdec.h) where the codec has it; the
  // canonical decode of damaged rows stays on the CPU.
  int gpu = -1;
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
  int64_t framesOnGpu = 0;         // of them, decoded by NVDEC
  int64_t packetsSent = 0;
  int64_t packetsSkipped = 0;      // disposable packets left out (their rows were not asked for)
  int seeks = 0;
  int conversion = 0;  // RgbConverter::path(): 1 direct swscale (verified), 2 reference graph
};

class VideoDecoder {
 public:
  VideoDecoder(std::shared_ptr<const VideoIndex> index, std::shared_ptr<const PacketFile> file,
               DecoderOptions options);
  DecodeResult decode(const std::vector<int>& sortedRows, const std::atomic<bool>* cancel = nullptr);
  // A decode schedule: the rows a job will ask for, in the order it will ask (one entry per
  // request that asks; repeats allowed). A request then also decodes the planned rows that share
  // a keyframe interval with its own, and frames of planned rows are kept (in the codec's pixel
  // format) until asked for, within `budgetBytes`: each interval is decoded once per plan however
  // the rows are ordered or split into requests. When the budget is full, the rows asked for
  // latest are dropped first (decoded again when asked). An empty plan ends the schedule.
  void plan(const std::vector<int>& rows, int64_t budgetBytes);
  int64_t stashedBytes() const { return stashBytes_; }
  const VideoIndex& index() const { return *index_; }

  // Both decode from the top of the stream, single-threaded without converting: on damaged
  // input, which frames a frame-threaded decode puts out varies from run to run, and rows must not.
  // The packets whose frames came out, in output order (presentation order for containers
  // without pts).
  static std::vector<int32_t> outputOrder(const VideoIndex& index, const PacketFile& file, int64_t maxPixels);
  // The first packet whose frame comes out (the ffmpeg CLI's decode): a stream cut mid-GOP
  // starts with packets that yield no frame. Feeds at most `maxPackets` packets; -1 when none
  // came out by then.
  static int firstOutputPacket(const VideoIndex& index, const PacketFile& file, int maxPackets, int64_t maxPixels);

  // Throws ERR_INVALID_VIDEO when the stream's declared size exceeds maxPixels (0: no limit).
  static void checkPixels(const VideoIndex& index, int64_t maxPixels);

  // Shared with the codec (AVCodecContext::opaque, copied to its frame threads): the limit
  // and the size of the first picture refused under it.
  // Also counts the errors the codec logs (from any of its frame threads): with frame threads,
  // FFmpeg's per-frame error flags can be lost (a picture is handed out before its decode ends),
  // but its log lines are not.
  struct PixelGuard {
    PixelGuard();
    ~PixelGuard();
    PixelGuard(const PixelGuard&) = delete;
    PixelGuard& operator=(const PixelGuard&) = delete;
    int64_t limit = 0;
    std::atomic<uint32_t> errorLogs{0};  // logged and not yet taken by noteErrorLogs
    // The packets (AVCodecContext::reordered_opaque, which each frame thread is handed with its
    // packet) being decoded when an error was logged; -1: not known.
    std::mutex errorMutex;
    std::vector<int64_t> errorPackets;
    std::atomic<int> refusedWidth{0}, refusedHeight{0};
    // Picture buffers already given to the codec once (their pages are mapped): a buffer not
    // seen before has its pages populated in one call before it is zeroed (decoder.cpp).
    std::mutex seenMutex;
    std::unordered_set<const uint8_t*> seenBuffers;
    // Records the first refused picture's size (for the error).
    void refuse(int width, int height) {
      int none = 0;
      if (refusedWidth.compare_exchange_strong(none, width)) refusedHeight.store(height);
    }
  };

 private:
  // One decode run: a codec context fed packets in order from `start` since its last reset.
  struct Run {
    bool canonical = false;           // single-threaded, fresh from the row's entry packet
    std::unique_ptr<PixelGuard> guard = std::make_unique<PixelGuard>();  // outlives ctx (declared before it)
    CodecContextPtr ctx;
    std::vector<int> stickySent;      // sticky side data types (palette, extradata) given to ctx
    int start = -1;                   // packet the run started at
    int next = -1;                    // next packet to send; -1: needs a reset
    int lastSent = -1;                // the last packet given to the codec (not skipped)
    std::unordered_set<int> skipped;  // disposable packets left out: their rows never come out
    bool drained = false;             // end of stream signalled: the codec needs a flush
    bool unattributed = false;        // an error the run cannot pin to a packet (frame threads)
    int firstRow = -1;                // row of the first frame out (-1: none yet); earlier rows are not covered
    bool anyOutput() const { return firstRow >= 0; }
    int maxRow = -1;                  // highest row out
    int settledTo = -1;               // packets [start, settledTo) are settled
    std::set<int> damage;             // packets that reported damage (decode order)
    std::unordered_set<int> produced; // rows that came out
    std::map<int, FramePtr> held;     // frames out but not yet settled, by row
    const std::set<int>* wanted = nullptr;  // rows the current request still waits for (held until answered)
  };
  enum class Verdict { Good, Bad, NotCovered, Pending };

  void openRun(Run& run);
  void resetRun(Run& run, int packet);
  void sendNext(Run& run, DecodeResult& result);
  // Whether packet `packet` may be left out: disposable, carrying no side data, and its row
  // neither asked for by this request nor planned (nor, without a plan, past the request's rows,
  // which a sequential read asks for next).
  bool skippable(int packet) const;
  void receive(Run& run, DecodeResult& result);
  bool convertOnDevice(const px::YuvToRgbCoeffs& k);  // the picture in frame_, NVDEC's NV12
  void drain(Run& run, DecodeResult& result);
  void settle(Run& run);
  bool covered(const Run& run, int row) const;
  int64_t rowPts(int row) const;
  Verdict verdict(const Run& run, int row) const;
  bool countsDamage(const Run& run, int upTo) const;
  // Feeds `run` until `row` is settled (or the run ends); returns the row's verdict.
  Verdict feedUntilSettled(Run& run, int row, DecodeResult& result, const std::atomic<bool>* cancel);
  bool canContinue(const Run& run, int entry, int row) const;
  int previousKey(int packet) const;  // the keyframe before `packet`'s own entry; -1: none
  // The fast path's answer for `row`: Good (delivered), or anything else (ask canonical).
  // `keep`: a planned row decoded ahead of its request, stashed instead of delivered.
  Verdict fast(int row, DecodeResult& result, const std::atomic<bool>* cancel, bool keep = false);
  // The canonical answer: delivers the row or records it failed.
  void canonical(int row, DecodeResult& result, const std::atomic<bool>* cancel);
  void deliverGood(Run& run, int row, DecodeResult& result);
  void fail(int row, DecodeResult& result, const char* why);
  void remember(int row, const AVFrame* frame);
  // Keeps a good frame of a planned row (uses left) for its request, within the budget.
  void stash(int row, const AVFrame* frame);
  // One use of a planned row's frame by a request; the frame is let go after its last use.
  void consumePlanned(int row);
  void checkRefused(Run& run, int packet);
  // Records the codec's error logs not yet seen as damage at the packets they came from
  // (`packet`: the one just sent, for a codec that decodes inline).
  void noteErrorLogs(Run& run, int packet);

  std::shared_ptr<const VideoIndex> index_;
  std::shared_ptr<const PacketFile> file_;
  DecoderOptions options_;
  Run fast_;                           // the frame-threaded run that sequential reading continues
  Run check_;                          // the canonical run (single-threaded), opened when needed
  RgbConverter converter_;
  std::unique_ptr<gpu::Nv12Converter> nv12_;  // NVDEC's NV12 → RGB on the device, made at the first such picture
  void* nv12Context_ = nullptr;                // the CUDA context nv12_ was made for
  bool nv12Failed_ = false;                    // the device conversion failed once: the CPU converts
  PacketPtr packet_;
  FramePtr frame_;
  // A fresh fast run from a keyframe puts out its first frame at this row (intra refresh:
  // pictures are complete only some frames after the recovery point): rows before it start
  // at an earlier keyframe. Learned per keyframe; only where the fast path starts depends on it.
  std::unordered_map<int, int> firstRowFrom_;
  bool independentFrames_ = false;  // all-intra, no frame threads: every row from a fresh codec
  // The rows the current request decodes (asked for, and planned rows kept ahead), and its last.
  std::set<int> needed_;
  int lastNeeded_ = -1;

  // The most recent frames answered (still in the codec's pixel format, shared with it by
  // reference): a request for a frame just decoded, e.g. the next one after a B-frame burst or
  // a slightly earlier one, is answered without decoding again. Only rows that were good.
  // The decode schedule (plan()): the positions in the plan where each row is asked for,
  // grouped by row (row r's uses not yet made: planPos_[planNext_[r] .. planOffset_[r + 1])),
  // and the frames kept for planned rows until asked for, with their sizes.
  std::vector<int64_t> planPos_;
  std::vector<int32_t> planOffset_, planNext_;
  bool planned(int row) const {
    return !planNext_.empty() && planNext_[static_cast<size_t>(row)] < planOffset_[static_cast<size_t>(row) + 1];
  }
  int64_t nextUse(int row) const { return planPos_[static_cast<size_t>(planNext_[static_cast<size_t>(row)])]; }
  struct Stashed {
    FramePtr frame;
    int64_t bytes;
  };
  std::map<int, Stashed> stash_;
  std::map<int64_t, int> stashByUse_;  // next use → row: the row asked for latest is dropped first
  int64_t stashBytes_ = 0, stashBudget_ = 0;
  void unstash(int row);

  std::map<int, FramePtr> recent_;
  std::deque<int> recentOrder_;
  size_t recentLimit_ = 0;
};

}  // namespace vg
