#include "ffmpeg.h"

namespace vg {

std::string avErrorString(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, buf, sizeof(buf));
  return std::string(buf);
}

}  // namespace vg
