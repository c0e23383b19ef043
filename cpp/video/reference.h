// Which packets nothing depends on: a picture no other frame can reference ("disposable") may
// be left out of a decode whose rows do not include it. Read from the packets' own bytes at
// ingest (kPacketDisposable in the index).
//
// Conservative throughout: a packet is disposable only when its bytes say so plainly; anything
// unparsed, unknown or damaged is a reference. Classified: H.264 (every slice has nal_ref_idc 0),
// HEVC (every slice a sub-layer non-reference picture at the stream's highest TemporalId),
// MPEG-4 Part 2 (every VOP a coded B-VOP), VP9 (every frame refreshes no reference slot and the
// next packet resets the state such a frame leaves behind), VP8 (refreshes and copies into no
// slot, keeps no probability or segmentation update, the next frame sets over any loop filter
// delta it set and does not take its segment map), AV1 (every frame header has
// refresh_frame_flags 0: AV1 keeps all state in the reference slots). Every other codec: reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vg {

class PacketFile;
class VideoIndex;

// What one packet's bytes say, before stream-wide facts are known.
struct PacketReference {
  // Disposable as far as this packet goes (HEVC: at the stream's highest TemporalId; VP9: if the
  // next packet resets the decoder state).
  bool candidate = false;
  // HEVC: the TemporalId of the packet's sub-layer non-reference pictures (-1: none or mixed);
  // the highest TemporalId of its slices (-1: no slice).
  int subLayerTid = -1;
  int maxTid = -1;
  // VP9: the packet's first frame is a key frame or error resilient, which resets what a
  // frame leaves in the decoder besides its reference slots (probability contexts, loop filter
  // deltas, segmentation, the previous frame's motion vectors).
  bool resetsState = false;
  // VP8: segmentation is on and the frame keeps the previous frame's segment map; the frame
  // changes loop filter deltas (resetsState: it is a key frame or sets all eight deltas).
  bool readsPreviousMap = false;
  bool updatesLoopFilterDeltas = false;
};

// Whether classification can ever call a packet of this codec disposable.
bool classifiesCodec(int codecId);

// Reads one packet (bounds-checked: hostile bytes give "reference", never a read past `size`).
// `state` carries what earlier packets set up (an MPEG-4 VOL header); pass the same object for
// a stream's packets in decode order.
struct ClassifierState {
  int vopTimeIncrementBits = -1;  // MPEG-4: from the VOL header (-1: not seen)
  // AV1: what the frame headers' layout depends on, from the latest sequence header.
  struct Av1Sequence {
    bool valid = false;
    bool reducedStillPictureHeader = false;
    bool equalPictureInterval = false;
    bool decoderModelInfoPresent = false;
    int bufferRemovalTimeLength = 0, framePresentationTimeLength = 0;
    int operatingPoints = 0;
    int operatingPointIdc[32] = {};
    bool decoderModelPresentForOp[32] = {};
    bool frameIdNumbersPresent = false;
    int frameIdLength = 0;
    int forceScreenContentTools = 2, forceIntegerMv = 2;  // 2: chosen per frame
    int orderHintBits = 0;
  } av1;
};
PacketReference readPacketReference(int codecId, const std::string& extradata, ClassifierState& state,
                                    const uint8_t* data, size_t size);

// Classifies a stream's packets, fed in decode order.
class ReferenceClassifier {
 public:
  ReferenceClassifier(int codecId, std::string extradata);
  void add(const uint8_t* data, size_t size);
  // One flag per packet added: disposable.
  std::vector<bool> finish() const;

 private:
  int codecId_;
  std::string extradata_;
  ClassifierState state_;
  std::vector<PacketReference> packets_;
};

// Sets kPacketDisposable from `disposable` (one per packet, from ReferenceClassifier::finish),
// never on key or damaged packets nor, once the index has rows (finalize), on packets that are
// no row; marks the index classified.
void applyDisposable(VideoIndex& index, const std::vector<bool>& disposable);

// Sets kPacketDisposable on the index's packets from their bytes in `file` (indexes written
// before format 3 lack it) and marks the index classified. Packets that cannot be read are
// left references.
void classifyPackets(VideoIndex& index, const PacketFile& file);

}  // namespace vg
