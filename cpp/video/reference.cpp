#include "reference.h"

#include <algorithm>

#include "ffmpeg.h"
#include "index.h"
#include "packet_file.h"

namespace vg {

namespace {

// MSB-first bit reader that never reads past its buffer: a read beyond it returns 0 and sets bad().
class Bits {
 public:
  Bits(const uint8_t* d, size_t n) : d_(d), bits_(n * 8) {}
  uint32_t u(int count) {
    uint32_t v = 0;
    for (int i = 0; i < count; i++) {
      if (pos_ >= bits_) {
        bad_ = true;
        return 0;
      }
      v = (v << 1) | ((d_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u);
      pos_++;
    }
    return v;
  }
  bool bad() const { return bad_; }

 private:
  const uint8_t* d_;
  size_t bits_;
  size_t pos_ = 0;
  bool bad_ = false;
};

struct Span {
  const uint8_t* p;
  size_t n;
};

// Most NAL units one packet may hold before it counts as damage (a frame has a few slices).
constexpr size_t kMaxNals = 4096;

// Length-prefixed NAL units (avcC/hvcC): the lengths must tile the packet exactly.
bool splitLengthPrefixed(const uint8_t* d, size_t n, int lengthSize, std::vector<Span>& out) {
  size_t pos = 0;
  while (pos < n) {
    if (n - pos < static_cast<size_t>(lengthSize)) return false;
    size_t len = 0;
    for (int k = 0; k < lengthSize; k++) len = (len << 8) | d[pos + static_cast<size_t>(k)];
    pos += static_cast<size_t>(lengthSize);
    if (len > n - pos) return false;
    if (len > 0) out.push_back({d + pos, len});
    if (out.size() > kMaxNals) return false;
    pos += len;
  }
  return true;
}

// Annex-B start codes (00 00 01): only zero bytes may precede the first.
bool splitAnnexB(const uint8_t* d, size_t n, std::vector<Span>& out) {
  std::vector<size_t> starts;
  for (size_t i = 0; i + 3 <= n;) {
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
      starts.push_back(i + 3);
      if (starts.size() > kMaxNals) return false;
      i += 3;
    } else {
      i++;
    }
  }
  if (starts.empty()) return false;
  for (size_t k = 0; k + 3 < starts[0]; k++)
    if (d[k] != 0) return false;
  for (size_t s = 0; s < starts.size(); s++) {
    size_t end = s + 1 < starts.size() ? starts[s + 1] - 3 : n;
    while (end > starts[s] && d[end - 1] == 0) end--;  // trailing zeros belong to the next start code
    if (end > starts[s]) out.push_back({d + starts[s], end - starts[s]});
  }
  return true;
}

// The length-prefix size from avcC (H.264) or hvcC (HEVC) extradata; 0 when the stream is Annex-B.
int nalLengthSize(int codecId, const std::string& extradata) {
  const auto* e = reinterpret_cast<const uint8_t*>(extradata.data());
  const size_t n = extradata.size();
  if (codecId == AV_CODEC_ID_H264) {
    if (n >= 7 && e[0] == 1) return (e[4] & 3) + 1;
    return 0;
  }
  // As libavcodec's HEVC decoder tells hvcC from Annex-B extradata.
  if (n > 3 && (e[0] || e[1] || e[2] > 1)) return n >= 23 ? (e[21] & 3) + 1 : -1;
  return 0;
}

bool splitNals(int lengthSize, const uint8_t* d, size_t n, std::vector<Span>& out) {
  if (lengthSize < 0) return false;
  return lengthSize > 0 ? splitLengthPrefixed(d, n, lengthSize, out) : splitAnnexB(d, n, out);
}

// Whether an SEI NAL unit carries only messages that set nothing beyond their own picture.
// Others (user data, which libavcodec reads the encoder's build from; recovery points; active
// parameter sets; anything unknown) make the packet a reference.
bool seiOnlyPerPicture(const Span& nal, size_t headerBytes, bool hevc) {
  // The RBSP: emulation prevention bytes (00 00 03) removed.
  std::vector<uint8_t> rbsp;
  rbsp.reserve(nal.n);
  int zeros = 0;
  for (size_t i = headerBytes; i < nal.n; i++) {
    const uint8_t b = nal.p[i];
    if (zeros >= 2 && b == 3) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    rbsp.push_back(b);
  }
  size_t pos = 0;
  const size_t n = rbsp.size();
  while (pos < n && !(pos == n - 1 && rbsp[pos] == 0x80)) {
    uint32_t type = 0, size = 0;
    while (pos < n && rbsp[pos] == 0xFF) {
      type += 255;
      pos++;
      if (type > 1u << 16) return false;
    }
    if (pos >= n) return false;
    type += rbsp[pos++];
    while (pos < n && rbsp[pos] == 0xFF) {
      size += 255;
      pos++;
      if (size > n) return false;
    }
    if (pos >= n) return false;
    size += rbsp[pos++];
    if (size > n - pos) return false;
    pos += size;
    // 0 buffering period, 1 picture timing, 3 filler, 4 registered user data (captions), and
    // for HEVC 132 decoded picture hash: about this picture (or its timing) only.
    const bool perPicture = type == 0 || type == 1 || type == 3 || type == 4 || (hevc && type == 132);
    if (!perPicture) return false;
  }
  return true;
}

PacketReference readH264(int lengthSize, const uint8_t* d, size_t n) {
  PacketReference r;
  std::vector<Span> nals;
  if (!splitNals(lengthSize, d, n, nals)) return r;
  bool slice = false;
  for (const Span& nal : nals) {
    const uint8_t h = nal.p[0];
    if (h & 0x80) return r;  // forbidden_zero_bit: damage
    const int type = h & 31;
    const int refIdc = (h >> 5) & 3;
    switch (type) {
      case 1: case 2: case 3: case 4:  // slices (and data partitions) of a non-IDR picture
      case 20: case 21:                // slices of other views / depth
        if (refIdc != 0) return r;
        slice = slice || type <= 4;
        break;
      case 5:  // IDR: always a reference
        return r;
      case 6:
        if (!seiOnlyPerPicture(nal, 1, false)) return r;
        break;
      case 9: case 12:  // access unit delimiter, filler
        break;
      case 14:  // prefix NAL unit: as the slice it precedes
        if (refIdc != 0) return r;
        break;
      default:  // parameter sets, end of sequence/stream, unknown types: state for what follows
        return r;
    }
  }
  r.candidate = slice;
  return r;
}

PacketReference readHevc(int lengthSize, const uint8_t* d, size_t n) {
  PacketReference r;
  std::vector<Span> nals;
  if (!splitNals(lengthSize, d, n, nals)) {
    r.maxTid = 6;  // unknown: could hold a picture of any sub-layer
    return r;
  }
  bool candidate = true, slice = false;
  int tid = -1;
  for (const Span& nal : nals) {
    if (nal.n < 2 || (nal.p[0] & 0x80)) {
      r.maxTid = 6;
      return r;
    }
    const int type = (nal.p[0] >> 1) & 63;
    const int layer = ((nal.p[0] & 1) << 5) | (nal.p[1] >> 3);
    const int tidPlus1 = nal.p[1] & 7;
    if (tidPlus1 == 0) {
      r.maxTid = 6;
      return r;
    }
    const int t = tidPlus1 - 1;
    if (type <= 31) {
      r.maxTid = std::max(r.maxTid, t);
      slice = true;
      // TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and the reserved RSV_VCL_N10/12/14.
      const bool subLayerNonRef = type <= 14 && type % 2 == 0;
      if (!subLayerNonRef || layer != 0 || (tid >= 0 && t != tid)) candidate = false;
      tid = t;
    } else if (type == 35 || type == 38) {  // access unit delimiter, filler
    } else if (type == 39 || type == 40) {
      if (!seiOnlyPerPicture(nal, 2, true)) candidate = false;
    } else {
      candidate = false;  // parameter sets, end of sequence/bitstream, unknown types
    }
  }
  if (candidate && slice) {
    r.candidate = true;
    r.subLayerTid = tid;
  }
  return r;
}

// MPEG-4 Part 2 Visual Object Layer header: the width of vop_time_increment (-1: unknown).
int mpeg4TimeIncrementBits(const uint8_t* d, size_t n) {
  Bits b(d, n);
  b.u(1);  // random_accessible_vol
  b.u(8);  // video_object_type_indication
  int verid = 1;
  if (b.u(1)) {  // is_object_layer_identifier
    verid = static_cast<int>(b.u(4));
    b.u(3);
  }
  if (b.u(4) == 15) b.u(16);  // extended PAR
  if (b.u(1)) {               // vol_control_parameters
    b.u(3);                   // chroma_format, low_delay
    if (b.u(1)) {             // vbv_parameters: 79 bits
      b.u(32);
      b.u(32);
      b.u(15);
    }
  }
  const uint32_t shape = b.u(2);
  if (shape == 3 && verid != 1) b.u(4);
  b.u(1);  // marker
  const uint32_t resolution = b.u(16);
  if (b.bad() || shape != 0 || resolution == 0) return -1;  // only rectangular VOLs are decoded
  int bits = 0;
  for (uint32_t v = resolution - 1; v > 0; v >>= 1) bits++;
  return std::max(bits, 1);
}

// Start codes 00 00 01 xx in an MPEG-4 Part 2 buffer: calls f(code, payload after it) for each.
template <typename F>
bool forEachStartCode(const uint8_t* d, size_t n, F&& f) {
  std::vector<size_t> starts;
  for (size_t i = 0; i + 4 <= n; i++)
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
      starts.push_back(i);
      i += 3;
    }
  if (starts.empty()) return false;
  for (size_t k = 0; k < starts[0]; k++)
    if (d[k] != 0) return false;  // bytes before the first start code: not a plain bitstream
  for (size_t s = 0; s < starts.size(); s++) {
    const size_t at = starts[s] + 4;
    const size_t end = s + 1 < starts.size() ? starts[s + 1] : n;
    if (!f(d[starts[s] + 3], Span{d + at, end - at})) return false;
  }
  return true;
}

void readMpeg4Headers(ClassifierState& state, const uint8_t* d, size_t n) {
  forEachStartCode(d, n, [&](uint8_t code, Span s) {
    if (code >= 0x20 && code <= 0x2F) state.vopTimeIncrementBits = mpeg4TimeIncrementBits(s.p, s.n);
    return true;
  });
}

PacketReference readMpeg4(ClassifierState& state, const uint8_t* d, size_t n) {
  PacketReference r;
  bool allB = true, vop = false;
  const bool plain = forEachStartCode(d, n, [&](uint8_t code, Span s) {
    if (code >= 0x20 && code <= 0x2F) {
      state.vopTimeIncrementBits = mpeg4TimeIncrementBits(s.p, s.n);
      allB = false;
      return true;
    }
    if (code != 0xB6) {  // user data, GOV, VOS/VO headers, anything else: state for what follows
      allB = false;
      return true;
    }
    vop = true;
    Bits b(s.p, s.n);
    if (b.u(2) != 2) {  // vop_coding_type: 0 I, 1 P, 2 B, 3 S(GMC)
      allB = false;
      return true;
    }
    // An N-VOP (vop_coded 0) stands in for a frame (packed bitstreams): kept.
    const int bits = state.vopTimeIncrementBits;
    if (bits < 0) {
      allB = false;
      return true;
    }
    for (int k = 0; b.u(1) == 1; k++)  // modulo_time_base
      if (k > 64 || b.bad()) {
        allB = false;
        return true;
      }
    b.u(1);  // marker
    b.u(bits);
    b.u(1);  // marker
    if (b.u(1) != 1 || b.bad()) allB = false;  // vop_coded
    return true;
  });
  r.candidate = plain && vop && allB;
  return r;
}

// VP9 uncompressed header, as far as refresh_frame_flags.
struct Vp9Frame {
  bool ok = false;
  bool keyOrErrorResilient = false;
  bool refreshesNothing = false;
};

Vp9Frame readVp9Frame(const uint8_t* d, size_t n) {
  Vp9Frame f;
  Bits b(d, n);
  if (b.u(2) != 2) return f;  // frame_marker
  const uint32_t low = b.u(1);
  const uint32_t profile = (b.u(1) << 1) | low;
  if (profile == 3) b.u(1);
  if (b.u(1)) {  // show_existing_frame: shows a stored frame; kept
    f.ok = !b.bad();
    return f;
  }
  const uint32_t frameType = b.u(1);
  const uint32_t showFrame = b.u(1);
  const uint32_t errorResilient = b.u(1);
  if (b.bad()) return f;
  f.ok = true;
  if (frameType == 0) {  // key frame: refreshes every slot
    f.keyOrErrorResilient = true;
    return f;
  }
  f.keyOrErrorResilient = errorResilient != 0;
  const uint32_t intraOnly = showFrame ? 0 : b.u(1);
  if (!errorResilient) b.u(2);  // reset_frame_context
  if (intraOnly) {
    if (b.u(24) != 0x498342) {  // frame_sync_code
      f.ok = false;
      return f;
    }
    if (profile > 0) {  // color_config
      if (profile >= 2) b.u(1);
      const uint32_t colorSpace = b.u(3);
      if (colorSpace != 7) {
        b.u(1);
        if (profile == 1 || profile == 3) b.u(3);
      } else if (profile == 1 || profile == 3) {
        b.u(1);
      }
    }
  }
  const uint32_t refresh = b.u(8);
  if (b.bad()) {
    f.ok = false;
    return f;
  }
  f.refreshesNothing = refresh == 0;
  return f;
}

// VP8's boolean entropy decoder (RFC 6386, 7.3), bounded: past its bytes it reads zeros and
// sets bad().
class BoolDecoder {
 public:
  BoolDecoder(const uint8_t* d, size_t n) : d_(d), n_(n) {
    value_ = (next() << 8) | next();
  }
  uint32_t bit(uint32_t prob) {
    const uint32_t split = 1 + (((range_ - 1) * prob) >> 8);
    const uint32_t bigSplit = split << 8;
    uint32_t b;
    if (value_ >= bigSplit) {
      b = 1;
      range_ -= split;
      value_ -= bigSplit;
    } else {
      b = 0;
      range_ = split;
    }
    while (range_ < 128) {
      value_ <<= 1;
      range_ <<= 1;
      if (++bitCount_ == 8) {
        bitCount_ = 0;
        value_ |= next();
      }
    }
    return b;
  }
  uint32_t literal(int bits) {
    uint32_t v = 0;
    for (int i = 0; i < bits; i++) v = (v << 1) | bit(128);
    return v;
  }
  // A flag, then (when set) a value of `bits` bits and a sign: the header's optional fields.
  bool optional(int bits) {
    if (!bit(128)) return false;
    literal(bits + 1);
    return true;
  }
  bool bad() const { return bad_; }

 private:
  uint32_t next() {
    if (pos_ < n_) return d_[pos_++];
    // The decoder reads up to two bytes ahead of the bits it uses: only reads further past
    // the end are damage.
    if (++over_ > 2) bad_ = true;
    return 0;
  }
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
  int over_ = 0;
  uint32_t value_ = 0, range_ = 255;
  int bitCount_ = 0;
  bool bad_ = false;
};

// VP8 frame header (RFC 6386, 9.2-9.7 and 19.2), as far as refresh_last.
PacketReference readVp8(const uint8_t* d, size_t n) {
  PacketReference r;
  if (n < 3) return r;
  const uint32_t tag = d[0] | (d[1] << 8) | (d[2] << 16);
  const bool key = !(tag & 1);
  const size_t firstPartition = tag >> 5;
  const size_t start = key ? 10 : 3;  // a key frame's start code and dimensions come first
  if (n < start || firstPartition == 0 || firstPartition > n - start) return r;
  BoolDecoder b(d + start, firstPartition);
  if (key) b.literal(2);  // color_space, clamping_type
  bool changesSegmentation = false;
  const bool segmentation = b.bit(128);
  bool updateMap = false;
  if (segmentation) {
    updateMap = b.bit(128);
    const bool updateData = b.bit(128);
    if (updateData) {  // segment quantizers and filter levels: kept for later frames
      changesSegmentation = true;
      b.bit(128);
      for (int i = 0; i < 4; i++) b.optional(7);
      for (int i = 0; i < 4; i++) b.optional(6);
    }
    if (updateMap) {  // the map itself is kept for later frames
      changesSegmentation = true;
      for (int i = 0; i < 3; i++)
        if (b.bit(128)) b.literal(8);
    }
  }
  b.literal(1 + 6 + 3);  // filter_type, loop_filter_level, sharpness_level
  int deltasSet = 0;
  bool deltaUpdate = false;
  if (b.bit(128) && b.bit(128)) {  // loop filter deltas updated: kept for later frames
    deltaUpdate = true;
    for (int i = 0; i < 8; i++) deltasSet += b.optional(6) ? 1 : 0;
  }
  b.literal(2);  // log2_nbr_of_dct_partitions
  b.literal(7);  // y_ac_qi
  for (int i = 0; i < 5; i++) b.optional(4);
  if (b.bad()) return r;
  r.readsPreviousMap = segmentation && !updateMap;
  // A key frame resets the deltas; a frame setting all eight leaves nothing of earlier ones.
  r.resetsState = key || deltasSet == 8;
  if (key) return r;  // refreshes every slot
  const uint32_t refreshGolden = b.bit(128);
  const uint32_t refreshAltref = b.bit(128);
  const uint32_t copyToGolden = refreshGolden ? 0 : b.literal(2);
  const uint32_t copyToAltref = refreshAltref ? 0 : b.literal(2);
  b.literal(2);  // sign_bias_golden, sign_bias_alternate
  const uint32_t refreshEntropy = b.bit(128);
  const uint32_t refreshLast = b.bit(128);
  if (b.bad()) return r;
  r.candidate = !changesSegmentation && !refreshGolden && !refreshAltref && !copyToGolden && !copyToAltref &&
                !refreshEntropy && !refreshLast;
  r.updatesLoopFilterDeltas = deltaUpdate && deltasSet > 0;
  return r;
}

PacketReference readVp9(const uint8_t* d, size_t n) {
  PacketReference r;
  if (n == 0) return r;
  std::vector<Span> frames;
  const uint8_t last = d[n - 1];
  if ((last & 0xE0) == 0xC0) {  // superframe index
    const size_t count = (last & 7) + 1;
    const size_t mag = ((last >> 3) & 3) + 1;
    const size_t indexSize = 2 + mag * count;
    if (n >= indexSize && d[n - indexSize] == last) {
      const uint8_t* p = d + n - indexSize + 1;
      size_t at = 0;
      for (size_t i = 0; i < count; i++) {
        size_t size = 0;
        for (size_t k = 0; k < mag; k++) size |= static_cast<size_t>(p[i * mag + k]) << (8 * k);
        if (size == 0 || size > n - indexSize - at) return r;
        frames.push_back({d + at, size});
        at += size;
      }
    }
  }
  if (frames.empty()) frames.push_back({d, n});
  bool all = true;
  for (size_t i = 0; i < frames.size(); i++) {
    const Vp9Frame f = readVp9Frame(frames[i].p, frames[i].n);
    if (i == 0) r.resetsState = f.ok && f.keyOrErrorResilient;
    if (!f.ok || !f.refreshesNothing) all = false;
  }
  r.candidate = all;
  return r;
}

// ---- AV1: OBUs, the sequence header and the uncompressed frame header up to refresh_frame_flags ----

uint32_t uvlc(Bits& b) {
  int zeros = 0;
  while (!b.bad() && b.u(1) == 0)
    if (++zeros >= 32) return 0;  // damage: bad() may not be set, the caller checks the header
  return zeros ? b.u(zeros) : 0;
}

// The sequence header fields the frame header needs (AV1 spec 5.5). Returns false when damaged.
bool readAv1SequenceHeader(const uint8_t* d, size_t n, ClassifierState::Av1Sequence& q) {
  Bits b(d, n);
  ClassifierState::Av1Sequence s;
  b.u(3);  // seq_profile
  b.u(1);  // still_picture
  s.reducedStillPictureHeader = b.u(1);
  int bufferDelayLength = 0;
  if (s.reducedStillPictureHeader) {
    b.u(5);  // seq_level_idx[0]
  } else {
    bool timingInfo = b.u(1);
    if (timingInfo) {
      b.u(32);
      b.u(32);
      s.equalPictureInterval = b.u(1);
      if (s.equalPictureInterval) uvlc(b);
      s.decoderModelInfoPresent = b.u(1);
      if (s.decoderModelInfoPresent) {
        bufferDelayLength = static_cast<int>(b.u(5)) + 1;
        b.u(32);
        s.bufferRemovalTimeLength = static_cast<int>(b.u(5)) + 1;
        s.framePresentationTimeLength = static_cast<int>(b.u(5)) + 1;
      }
    }
    const bool initialDisplayDelay = b.u(1);
    s.operatingPoints = static_cast<int>(b.u(5)) + 1;
    for (int i = 0; i < s.operatingPoints; i++) {
      s.operatingPointIdc[i] = static_cast<int>(b.u(12));
      if (b.u(5) > 7) b.u(1);  // seq_level_idx, seq_tier
      if (s.decoderModelInfoPresent) {
        s.decoderModelPresentForOp[i] = b.u(1);
        if (s.decoderModelPresentForOp[i]) {
          b.u(bufferDelayLength);
          b.u(bufferDelayLength);
          b.u(1);
        }
      }
      if (initialDisplayDelay && b.u(1)) b.u(4);
    }
  }
  const int widthBits = static_cast<int>(b.u(4)) + 1;
  const int heightBits = static_cast<int>(b.u(4)) + 1;
  b.u(widthBits);
  b.u(heightBits);
  if (!s.reducedStillPictureHeader) s.frameIdNumbersPresent = b.u(1);
  if (s.frameIdNumbersPresent) {
    const int delta = static_cast<int>(b.u(4)) + 2;
    const int additional = static_cast<int>(b.u(3)) + 1;
    s.frameIdLength = delta + additional;
  }
  b.u(3);  // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  s.forceScreenContentTools = 2;
  s.forceIntegerMv = 2;
  if (!s.reducedStillPictureHeader) {
    b.u(4);  // interintra, masked compound, warped motion, dual filter
    const bool orderHint = b.u(1);
    if (orderHint) b.u(2);  // jnt_comp, ref_frame_mvs
    if (!b.u(1)) s.forceScreenContentTools = static_cast<int>(b.u(1));  // seq_choose_screen_content_tools
    if (s.forceScreenContentTools > 0) {
      if (!b.u(1)) s.forceIntegerMv = static_cast<int>(b.u(1));  // seq_choose_integer_mv
    }
    if (orderHint) s.orderHintBits = static_cast<int>(b.u(3)) + 1;
  }
  if (b.bad()) return false;
  s.valid = true;
  q = s;
  return true;
}

// One frame header (AV1 spec 5.9.2): true and `refresh` set when it could be read as far as
// refresh_frame_flags; shows an existing frame: `refresh` 0x100 (kept).
bool readAv1FrameHeader(const uint8_t* d, size_t n, const ClassifierState::Av1Sequence& s, int temporalId, int spatialId,
                        uint32_t& refresh) {
  if (!s.valid) return false;
  if (s.reducedStillPictureHeader) {
    refresh = 0xFF;  // a key frame
    return true;
  }
  Bits b(d, n);
  if (b.u(1)) {  // show_existing_frame
    refresh = 0x100;
    return !b.bad();
  }
  const uint32_t frameType = b.u(2);  // 0 KEY, 1 INTER, 2 INTRA_ONLY, 3 SWITCH
  const bool intra = frameType == 0 || frameType == 2;
  const uint32_t showFrame = b.u(1);
  if (showFrame && s.decoderModelInfoPresent && !s.equalPictureInterval) b.u(s.framePresentationTimeLength);
  if (!showFrame) b.u(1);  // showable_frame
  const bool errorResilient = (frameType == 3 || (frameType == 0 && showFrame)) ? true : b.u(1) != 0;
  if (frameType == 3 || (frameType == 0 && showFrame)) {
    refresh = 0xFF;
    return !b.bad();
  }
  b.u(1);  // disable_cdf_update
  uint32_t screenContent = s.forceScreenContentTools == 2 ? b.u(1) : static_cast<uint32_t>(s.forceScreenContentTools);
  if (screenContent && s.forceIntegerMv == 2) b.u(1);  // force_integer_mv
  if (s.frameIdNumbersPresent) b.u(s.frameIdLength);
  b.u(1);  // frame_size_override_flag (SWITCH frames returned above)
  b.u(s.orderHintBits);
  if (!intra && !errorResilient) b.u(3);  // primary_ref_frame
  if (s.decoderModelInfoPresent && b.u(1)) {  // buffer_removal_time_present_flag
    for (int op = 0; op < s.operatingPoints; op++) {
      if (!s.decoderModelPresentForOp[op]) continue;
      const int idc = s.operatingPointIdc[op];
      const bool inTemporal = (idc >> temporalId) & 1;
      const bool inSpatial = (idc >> (spatialId + 8)) & 1;
      if (idc == 0 || (inTemporal && inSpatial)) b.u(s.bufferRemovalTimeLength);
    }
  }
  refresh = b.u(8);
  return !b.bad();
}

bool readLeb128(const uint8_t* d, size_t n, size_t& pos, uint64_t& value) {
  value = 0;
  for (int i = 0; i < 8; i++) {
    if (pos >= n) return false;
    const uint8_t byte = d[pos++];
    value |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
    if (!(byte & 0x80)) return true;
  }
  return false;
}

// Calls f(type, temporalId, spatialId, payload) for each OBU; false when they do not tile the buffer.
template <typename F>
bool forEachObu(const uint8_t* d, size_t n, F&& f) {
  size_t pos = 0;
  size_t count = 0;
  while (pos < n) {
    if (++count > kMaxNals) return false;
    const uint8_t h = d[pos++];
    if (h & 0x80) return false;  // obu_forbidden_bit
    const int type = (h >> 3) & 15;
    int temporalId = 0, spatialId = 0;
    if (h & 4) {  // obu_extension_flag
      if (pos >= n) return false;
      temporalId = d[pos] >> 5;
      spatialId = (d[pos] >> 3) & 3;
      pos++;
    }
    uint64_t size = n - pos;
    if ((h & 2) && !readLeb128(d, n, pos, size)) return false;  // obu_has_size_field
    if (size > n - pos) return false;
    if (!f(type, temporalId, spatialId, Span{d + pos, static_cast<size_t>(size)})) return false;
    pos += static_cast<size_t>(size);
  }
  return true;
}

void readAv1Headers(ClassifierState& state, const uint8_t* d, size_t n) {
  forEachObu(d, n, [&](int type, int, int, Span s) {
    if (type == 1) readAv1SequenceHeader(s.p, s.n, state.av1);
    return true;
  });
}

PacketReference readAv1(ClassifierState& state, const uint8_t* d, size_t n) {
  PacketReference r;
  bool all = true, frame = false;
  const bool ok = forEachObu(d, n, [&](int type, int temporalId, int spatialId, Span s) {
    switch (type) {
      case 1:  // sequence header: state for what follows
        if (!readAv1SequenceHeader(s.p, s.n, state.av1)) state.av1.valid = false;
        all = false;
        return true;
      case 2: case 4: case 7: case 15:  // temporal delimiter, tile group, redundant frame header, padding
        return true;
      case 3: case 6: {  // frame header, frame
        uint32_t refresh = 0x100;
        if (!readAv1FrameHeader(s.p, s.n, state.av1, temporalId, spatialId, refresh) || refresh != 0) all = false;
        frame = true;
        return true;
      }
      default:  // metadata, tile lists, reserved types
        all = false;
        return true;
    }
  });
  r.candidate = ok && frame && all;
  return r;
}

}  // namespace

bool classifiesCodec(int codecId) {
  return codecId == AV_CODEC_ID_H264 || codecId == AV_CODEC_ID_HEVC || codecId == AV_CODEC_ID_MPEG4 ||
         codecId == AV_CODEC_ID_VP9 || codecId == AV_CODEC_ID_VP8 || codecId == AV_CODEC_ID_AV1;
}

PacketReference readPacketReference(int codecId, const std::string& extradata, ClassifierState& state,
                                    const uint8_t* data, size_t size) {
  if (!data || size == 0) return {};
  switch (codecId) {
    case AV_CODEC_ID_H264:
      return readH264(nalLengthSize(codecId, extradata), data, size);
    case AV_CODEC_ID_HEVC:
      return readHevc(nalLengthSize(codecId, extradata), data, size);
    case AV_CODEC_ID_MPEG4:
      return readMpeg4(state, data, size);
    case AV_CODEC_ID_VP9:
      return readVp9(data, size);
    case AV_CODEC_ID_VP8:
      return readVp8(data, size);
    case AV_CODEC_ID_AV1:
      return readAv1(state, data, size);
    default:
      return {};
  }
}

ReferenceClassifier::ReferenceClassifier(int codecId, std::string extradata)
    : codecId_(codecId), extradata_(std::move(extradata)) {
  const auto* e = reinterpret_cast<const uint8_t*>(extradata_.data());
  if (codecId_ == AV_CODEC_ID_MPEG4) readMpeg4Headers(state_, e, extradata_.size());
  // av1C: four bytes, then the configuration OBUs (the sequence header); or OBUs alone.
  if (codecId_ == AV_CODEC_ID_AV1 && !extradata_.empty()) {
    const bool av1c = e[0] == 0x81;
    if (!av1c || extradata_.size() > 4) readAv1Headers(state_, e + (av1c ? 4 : 0), extradata_.size() - (av1c ? 4 : 0));
  }
}

void ReferenceClassifier::add(const uint8_t* data, size_t size) {
  if (!classifiesCodec(codecId_)) {
    packets_.emplace_back();
    return;
  }
  packets_.push_back(readPacketReference(codecId_, extradata_, state_, data, size));
}

std::vector<bool> ReferenceClassifier::finish() const {
  std::vector<bool> out(packets_.size(), false);
  if (codecId_ == AV_CODEC_ID_HEVC) {
    // A sub-layer non-reference picture may still be referenced from a higher sub-layer: only
    // those of the highest sub-layer the stream has are disposable.
    int top = -1;
    for (const PacketReference& p : packets_) top = std::max(top, p.maxTid);
    for (size_t i = 0; i < packets_.size(); i++)
      out[i] = packets_[i].candidate && packets_[i].subLayerTid == top;
  } else if (codecId_ == AV_CODEC_ID_VP9) {
    // A frame that refreshes no slot still leaves its motion vectors (the next frame predicts
    // from them), probability contexts, loop filter deltas and segmentation behind: disposable
    // only when the next packet starts from a reset (or nothing follows).
    for (size_t i = 0; i < packets_.size(); i++)
      out[i] = packets_[i].candidate && (i + 1 == packets_.size() || packets_[i + 1].resetsState);
  } else if (codecId_ == AV_CODEC_ID_VP8) {
    // A frame with segmentation on and no map update takes the previous frame's map: left
    // out, the one before it would stand in, unless this one took its map the same way. Loop
    // filter deltas it sets stay in force unless the next frame sets them all (or is a key frame).
    for (size_t i = 0; i < packets_.size(); i++) {
      const PacketReference& p = packets_[i];
      const PacketReference* next = i + 1 < packets_.size() ? &packets_[i + 1] : nullptr;
      out[i] = p.candidate && (!next || ((!next->readsPreviousMap || p.readsPreviousMap) &&
                                         (!p.updatesLoopFilterDeltas || next->resetsState)));
    }
  } else {
    for (size_t i = 0; i < packets_.size(); i++) out[i] = packets_[i].candidate;
  }
  return out;
}

void applyDisposable(VideoIndex& index, const std::vector<bool>& disposable) {
  const bool rowsKnown = index.packetToRow.size() == index.packets.size();
  for (size_t i = 0; i < index.packets.size(); i++) {
    PacketEntry& e = index.packets[i];
    e.flags &= ~static_cast<uint32_t>(kPacketDisposable);
    // A decode starts at key packets, and a damaged packet's bytes are not to be trusted. A
    // packet that is no row may hold part of another row's picture (the second field of an
    // interlaced frame in a packet of its own): a decode wanting that row needs it.
    const bool rowless = rowsKnown && index.packetToRow[i] < 0;
    if (i < disposable.size() && disposable[i] && !rowless && !(e.flags & (kPacketKey | kPacketCorrupt)))
      e.flags |= kPacketDisposable;
  }
  index.classified = true;
}

void classifyPackets(VideoIndex& index, const PacketFile& file) {
  ReferenceClassifier classifier(index.codec.codecId, index.codec.extradata);
  if (classifiesCodec(index.codec.codecId)) {
    std::vector<uint8_t> buf;
    for (const PacketEntry& e : index.packets) {
      if (e.offset < 0 || e.size <= 0) {
        classifier.add(nullptr, 0);
        continue;
      }
      buf.resize(static_cast<size_t>(e.size));
      const size_t got = file.readAt(e.offset, buf.data(), buf.size());
      classifier.add(got == buf.size() ? buf.data() : nullptr, got == buf.size() ? got : 0);
    }
  }
  applyDisposable(index, classifier.finish());
}

}  // namespace vg
