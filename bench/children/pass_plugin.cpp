// A pass-through C++ plugin op for the overhead benchmark (copies each frame to its output).
#include <vidgraph/op.h>

#include <cstring>

struct PassKernel : vidgraph::Kernel {
  explicit PassKernel(const std::string&) {}
  void execute(const vidgraph::Inputs& in, vidgraph::Outputs& out) override {
    for (size_t r = 0; r < in.rows(); r++) {
      const vidgraph::Frame f = in.frame(0, r);
      vidgraph::Frame o = out.allocFrame(0, r, f.height(), f.width(), f.channels());
      std::memcpy(o.data(), f.data(), static_cast<size_t>(f.height()) * f.rowStride());
    }
  }
};

VIDGRAPH_PLUGIN(vidgraph::Op("PassPlugin").input("frame").output("frame").kernel<PassKernel>())
