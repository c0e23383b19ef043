// Scanner's custom-op tutorial as a vidgraph plugin: MyResize, a nearest-neighbour resize
// with width/height arguments in a protobuf message.
#include <vidgraph/op.h>

#include <stdexcept>

#include "resize.pb.h"

class MyResizeKernel : public vidgraph::Kernel {
 public:
  explicit MyResizeKernel(const std::string& args) { parse(args); }

  // Per-stream arguments: each job may resize to its own size.
  void newStream(const std::string& args) override { parse(args); }

  void execute(const vidgraph::Inputs& in, vidgraph::Outputs& out) override {
    for (size_t r = 0; r < in.rows(); r++) {
      if (in.isNull(0, r)) {
        out.setNull(0, r);
        continue;
      }
      const vidgraph::Frame src = in.frame(0, r);
      vidgraph::Frame dst = out.allocFrame(0, r, args_.height(), args_.width(), src.channels());
      const int c = src.channels();
      // Nearest neighbour, as OpenCV's INTER_NEAREST: source index floor(i * src / dst).
      const double sx = static_cast<double>(src.width()) / args_.width();
      const double sy = static_cast<double>(src.height()) / args_.height();
      for (int y = 0; y < args_.height(); y++) {
        const int yy = std::min(static_cast<int>(y * sy), src.height() - 1);
        const uint8_t* row = src.data() + yy * src.rowStride();
        uint8_t* o = dst.data() + y * dst.rowStride();
        for (int x = 0; x < args_.width(); x++) {
          const int xx = std::min(static_cast<int>(x * sx), src.width() - 1);
          for (int k = 0; k < c; k++) o[x * c + k] = row[xx * c + k];
        }
      }
    }
  }

 private:
  void parse(const std::string& bytes) {
    if (!args_.ParseFromString(bytes)) throw std::runtime_error("MyResize: cannot parse MyResizeArgs");
    if (args_.width() <= 0 || args_.height() <= 0) throw std::runtime_error("MyResize: width and height must be > 0");
  }
  MyResizeArgs args_;
};

VIDGRAPH_PLUGIN(vidgraph::Op("MyResize").input("frame").output("frame").protoMessage("MyResizeArgs").kernel<MyResizeKernel>())
