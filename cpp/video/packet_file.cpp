#include "packet_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vg {

PacketFile::PacketFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int e = errno;
    throw VgError(e == ENOENT ? "ERR_NOT_FOUND" : "ERR_INVALID_VIDEO",
                  "cannot open '" + path + "': " + std::strerror(e));
  }
}

PacketFile::~PacketFile() {
  if (fd_ >= 0) ::close(fd_);
}

size_t PacketFile::readAt(int64_t offset, uint8_t* out, size_t size) const {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd_, out + done, size - done, offset + static_cast<int64_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw VgError("ERR_DECODE", "cannot read '" + path_ + "': " + std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void PacketFile::read(const PacketEntry& entry, int64_t key, AVPacket* pkt) const {
  av_packet_unref(pkt);
  if (av_new_packet(pkt, entry.size) < 0) throw std::bad_alloc();
  const size_t got = readAt(entry.offset, pkt->data, static_cast<size_t>(entry.size));
  if (got != static_cast<size_t>(entry.size))
    throw VgError("ERR_DECODE", "'" + path_ + "' is shorter than its index says (packet at byte " +
                                    std::to_string(entry.offset) + "): was the file changed after ingest?");
  pkt->pts = key;
  pkt->dts = AV_NOPTS_VALUE;
  pkt->duration = entry.duration;
  pkt->flags = 0;
  if (entry.flags & kPacketKey) pkt->flags |= AV_PKT_FLAG_KEY;
  if (entry.flags & kPacketDiscard) pkt->flags |= AV_PKT_FLAG_DISCARD;
  if (entry.flags & kPacketCorrupt) pkt->flags |= AV_PKT_FLAG_CORRUPT;
}

}  // namespace vg
