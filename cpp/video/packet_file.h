// Reads packet bytes by (offset, size) from a data file: the database's packet file in
// copy mode, or the original video in in-place mode. pread() only: no shared file position,
// so one PacketFile may serve several decoders.
#pragma once

#include <string>

#include "ffmpeg.h"
#include "index.h"

namespace vg {

class PacketFile {
 public:
  explicit PacketFile(const std::string& path);
  ~PacketFile();
  PacketFile(const PacketFile&) = delete;
  PacketFile& operator=(const PacketFile&) = delete;

  // Fills `pkt` with the packet's bytes and timing; pts carries `key` (see VideoDecoder).
  void read(const PacketEntry& entry, int64_t key, AVPacket* pkt) const;
  // Reads raw bytes; returns how many were read (short at end of file).
  size_t readAt(int64_t offset, uint8_t* out, size_t size) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace vg
