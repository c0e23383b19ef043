// Ingest: demux a video once and build its packet index.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "index.h"
#include "limits.h"

namespace vg {

struct ScanOptions {
  std::string path;
  // Where to copy the packets. Empty: in-place only (fails for containers whose packets
  // are not contiguous byte ranges of the file).
  std::string copyTo;
  // Try to index in place (offsets into the original file); falls back to copying into
  // `copyTo` with a warning when the container does not allow it.
  bool inplace = false;
  // Count and time the frames only: packets are neither copied nor located in the file (their
  // offsets are -1), so the index cannot be decoded from. Frame order comes from the packets'
  // timestamps; without them, rows are the shown packets in decode order (no decode pass).
  bool indexOnly = false;
  // Streams whose pictures have more pixels are refused with ERR_INVALID_VIDEO
  // (limitInputPixels); 0: no limit of ours.
  int64_t maxPixels = kDefaultMaxPixels;
  // Where the scan reports how far it got, for a progress bar: [0] packets indexed, [1] bytes
  // of the file read. Stored atomically after every packet (JS reads them with Atomics.load);
  // null: not reported.
  int64_t* progress = nullptr;
};

struct ScanResult {
  std::shared_ptr<VideoIndex> index;
  std::vector<std::string> warnings;
  double seconds = 0;
};

ScanResult scanVideo(const ScanOptions& options);

}  // namespace vg
