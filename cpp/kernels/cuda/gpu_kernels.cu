// The built-in ops' CUDA kernels (gpu_device.h's Workspace): one thread per output pixel, each
// calling the same per-pixel function as the host twin (pixel_ops.h). Frames come in through a
// pinned host buffer, are processed on the workspace's stream, and go back the same way.
// Compiled only when CMake finds nvcc (VG_HAVE_CUDA); run by `npm run test:gpu` on a GPU.
#include <cuda_runtime.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "gpu_device.h"
#include "pixel_ops.h"

namespace vg {
namespace gpu {

int cudaRuntimeVersion() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

std::string cudaRuntimeProblem() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e == cudaSuccess) return n > 0 ? "" : "the CUDA runtime sees no device";
  if (e == cudaErrorInsufficientDriver) {
    const int v = cudaRuntimeVersion();
    return "the NVIDIA driver is older than this engine's CUDA runtime " + std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10) +
           ": update the driver";
  }
  return std::string("the CUDA runtime cannot use the devices (") + cudaGetErrorName(e) + ")";
}

namespace {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error
  fail(e == cudaErrorMemoryAllocation ? "ERR_RESOURCE" : "ERR_INTERNAL", std::string("GPU kernel: ") + what + " failed: " + cudaGetErrorName(e) + " (" +
                                                                             cudaGetErrorString(e) + ")");
}

// ---- kernels ----

__global__ void resizeLinearKernel(px::View src, const px::LinearTap* tx, const px::LinearTap* ty, uint8_t* out, int w, int h) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  uint8_t* o = out + (static_cast<size_t>(y) * w + x) * src.channels;
  for (int c = 0; c < src.channels; c++) o[c] = px::resizeLinearAt(src, tx[x], ty[y], c);
}

__global__ void resizeAreaBlockKernel(px::View src, int fx, int fy, uint8_t* out, int w, int h) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  uint8_t* o = out + (static_cast<size_t>(y) * w + x) * src.channels;
  for (int c = 0; c < src.channels; c++) o[c] = px::resizeAreaBlockAt(src, x, y, c, fx, fy);
}

__global__ void resizeAreaKernel(px::View src, const px::AreaTap* ax, const int* axo, const px::AreaTap* ay, const int* ayo, uint8_t* out,
                                 int w, int h) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  uint8_t* o = out + (static_cast<size_t>(y) * w + x) * src.channels;
  for (int c = 0; c < src.channels; c++) o[c] = px::resizeAreaAt(src, ax + axo[x], axo[x + 1] - axo[x], ay + ayo[y], ayo[y + 1] - ayo[y], c);
}

__global__ void convertKernel(px::View src, int conversion, uint8_t* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= src.width || y >= src.height) return;
  px::convertPixel(conversion, src.at(x, y), out + (static_cast<size_t>(y) * src.width + x) * px::conversionOutChannels(conversion));
}

__global__ void blurRowsKernel(px::View src, const uint16_t* k, int n, uint32_t* rows) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= src.width || y >= src.height) return;
  const size_t stride = static_cast<size_t>(src.width) * src.channels;
  for (int c = 0; c < src.channels; c++) rows[y * stride + static_cast<size_t>(x) * src.channels + c] = px::blurRowAt(src, x, y, c, k, n);
}

__global__ void blurColumnsKernel(const uint32_t* rows, int width, int height, int channels, const uint16_t* k, int n, uint8_t* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= width || y >= height) return;
  const size_t stride = static_cast<size_t>(width) * channels;
  for (int c = 0; c < channels; c++) out[y * stride + static_cast<size_t>(x) * channels + c] = px::blurColumnAt(rows, stride, height, x, y, c, channels, k, n);
}

// Bins counted per block in shared memory, then added to the frame's 48 counters.
__global__ void histogramKernel(px::View src, int* bins) {
  __shared__ int local[48];
  const int t = threadIdx.y * blockDim.x + threadIdx.x;
  if (t < 48) local[t] = 0;
  __syncthreads();
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x < src.width && y < src.height) {
    const uint8_t* p = src.at(x, y);
    for (int c = 0; c < 3; c++) atomicAdd(&local[px::histogramBin(c, p[c])], 1);
  }
  __syncthreads();
  if (t < 48 && local[t]) atomicAdd(&bins[t], local[t]);
}

__global__ void cloneKernel(px::View src, int n, uint8_t* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= src.width || y >= src.height) return;
  px::clonePixel(src.at(x, y), out + (static_cast<size_t>(y) * src.width + x) * src.channels * n, src.channels, n);
}

__global__ void nv12ToRgbKernel(const uint8_t* luma, size_t yPitch, const uint8_t* chroma, size_t uvPitch, int w, int h,
                                px::YuvToRgbCoeffs k, uint8_t* out) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  px::nv12ToRgbAt(k, luma, yPitch, chroma, uvPitch, x, y, out + (static_cast<size_t>(y) * w + x) * 3);
}

// ---- memory ----

// Memory that grows to the largest size asked for: device memory, or page-locked host memory
// (copies at full bus speed, asynchronously) when Pinned.
template <bool Pinned>
class GrowingBuffer {
 public:
  ~GrowingBuffer() { release(); }
  void* get(size_t bytes) {
    if (bytes > size_) {
      release();
      if constexpr (Pinned) check(cudaMallocHost(&p_, bytes), "cudaMallocHost");
      else check(cudaMalloc(&p_, bytes), "cudaMalloc");
      size_ = bytes;
    }
    return p_;
  }
  // Forgets the memory without freeing it (its context could not be made current: it goes with it).
  void abandon() {
    p_ = nullptr;
    size_ = 0;
  }
  void release() {
    if (p_) {
      if constexpr (Pinned) cudaFreeHost(p_);
      else cudaFree(p_);
    }
    p_ = nullptr;
    size_ = 0;
  }

 private:
  void* p_ = nullptr;
  size_t size_ = 0;
};
using DeviceBuffer = GrowingBuffer<false>;
using PinnedBuffer = GrowingBuffer<true>;

size_t frameBytes(int w, int h, int c) { return static_cast<size_t>(w) * h * c; }

class CudaWorkspace : public Workspace {
 public:
  explicit CudaWorkspace(int device) : device_(device) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~CudaWorkspace() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }

  void resize(const HostFrame& in, const px::ResizePlan& p, uint8_t* out) override {
    const px::View src = upload(in);
    uint8_t* d = static_cast<uint8_t*>(out_.get(frameBytes(p.width, p.height, in.channels)));
    const dim3 grid = gridFor(p.width, p.height);
    switch (p.mode) {
      case px::ResizePlan::kCopy:
        check(cudaMemcpyAsync(d, src.data, frameBytes(p.width, p.height, in.channels), cudaMemcpyDeviceToDevice, stream_), "cudaMemcpyAsync");
        break;
      case px::ResizePlan::kLinear: {
        auto* tx = static_cast<px::LinearTap*>(table(tableA_, p.tx.data(), p.tx.size() * sizeof(px::LinearTap)));
        auto* ty = static_cast<px::LinearTap*>(table(tableB_, p.ty.data(), p.ty.size() * sizeof(px::LinearTap)));
        resizeLinearKernel<<<grid, block(), 0, stream_>>>(src, tx, ty, d, p.width, p.height);
        break;
      }
      case px::ResizePlan::kAreaBlock:
        resizeAreaBlockKernel<<<grid, block(), 0, stream_>>>(src, p.blockX, p.blockY, d, p.width, p.height);
        break;
      case px::ResizePlan::kArea: {
        auto* ax = static_cast<px::AreaTap*>(table(tableA_, p.ax.data(), p.ax.size() * sizeof(px::AreaTap)));
        auto* ay = static_cast<px::AreaTap*>(table(tableB_, p.ay.data(), p.ay.size() * sizeof(px::AreaTap)));
        auto* axo = static_cast<int*>(table(tableC_, p.axOffset.data(), p.axOffset.size() * sizeof(int)));
        auto* ayo = static_cast<int*>(table(tableD_, p.ayOffset.data(), p.ayOffset.size() * sizeof(int)));
        resizeAreaKernel<<<grid, block(), 0, stream_>>>(src, ax, axo, ay, ayo, d, p.width, p.height);
        break;
      }
    }
    download(d, frameBytes(p.width, p.height, in.channels), out);
  }

  void convert(const HostFrame& in, int conversion, uint8_t* out) override {
    const px::View src = upload(in);
    const size_t bytes = frameBytes(in.width, in.height, px::conversionOutChannels(conversion));
    uint8_t* d = static_cast<uint8_t*>(out_.get(bytes));
    convertKernel<<<gridFor(in.width, in.height), block(), 0, stream_>>>(src, conversion, d);
    download(d, bytes, out);
  }

  void blur(const HostFrame& in, const std::vector<uint16_t>& kernel, uint8_t* out) override {
    const px::View src = upload(in);
    const size_t bytes = frameBytes(in.width, in.height, in.channels);
    auto* k = static_cast<uint16_t*>(table(tableA_, kernel.data(), kernel.size() * sizeof(uint16_t)));
    auto* rows = static_cast<uint32_t*>(tmp_.get(bytes * sizeof(uint32_t)));
    uint8_t* d = static_cast<uint8_t*>(out_.get(bytes));
    const int n = static_cast<int>(kernel.size());
    blurRowsKernel<<<gridFor(in.width, in.height), block(), 0, stream_>>>(src, k, n, rows);
    blurColumnsKernel<<<gridFor(in.width, in.height), block(), 0, stream_>>>(rows, in.width, in.height, in.channels, k, n, d);
    download(d, bytes, out);
  }

  void histogram(const HostFrame& in, int32_t bins[48]) override {
    const px::View src = upload(in);
    int* d = static_cast<int*>(out_.get(48 * sizeof(int)));
    check(cudaMemsetAsync(d, 0, 48 * sizeof(int), stream_), "cudaMemsetAsync");
    histogramKernel<<<gridFor(in.width, in.height), block(), 0, stream_>>>(src, d);
    auto* staged = static_cast<uint8_t*>(pinnedOut_.get(48 * sizeof(int)));
    check(cudaGetLastError(), "histogram kernel launch");
    check(cudaMemcpyAsync(staged, d, 48 * sizeof(int), cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "histogram kernel");
    std::memcpy(bins, staged, 48 * sizeof(int));
  }

  void clone(const HostFrame& in, int n, uint8_t* out) override {
    const px::View src = upload(in);
    const size_t bytes = frameBytes(in.width, in.height, in.channels * n);
    uint8_t* d = static_cast<uint8_t*>(out_.get(bytes));
    cloneKernel<<<gridFor(in.width, in.height), block(), 0, stream_>>>(src, n, d);
    download(d, bytes, out);
  }

 private:
  static dim3 block() { return dim3(32, 8); }
  static dim3 gridFor(int w, int h) { return dim3((w + 31) / 32, (h + 7) / 8); }

  // The input frame on the device, through the pinned buffer.
  px::View upload(const HostFrame& in) {
    check(cudaSetDevice(device_), "cudaSetDevice");
    const size_t bytes = frameBytes(in.width, in.height, in.channels);
    auto* staged = static_cast<uint8_t*>(pinnedIn_.get(bytes));
    std::memcpy(staged, in.data, bytes);
    void* d = in_.get(bytes);
    check(cudaMemcpyAsync(d, staged, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
    return px::View{static_cast<const uint8_t*>(d), in.width, in.height, in.channels, static_cast<size_t>(in.width) * in.channels};
  }

  void* table(DeviceBuffer& buf, const void* host, size_t bytes) {
    void* d = buf.get(bytes > 0 ? bytes : 1);
    if (bytes) check(cudaMemcpyAsync(d, host, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
    // The source is pageable host memory: the copy has read it before cudaMemcpyAsync returns.
    return d;
  }

  void download(const uint8_t* d, size_t bytes, uint8_t* out) {
    check(cudaGetLastError(), "kernel launch");
    auto* staged = static_cast<uint8_t*>(pinnedOut_.get(bytes));
    check(cudaMemcpyAsync(staged, d, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "GPU kernel");
    std::memcpy(out, staged, bytes);
  }

  int device_;
  cudaStream_t stream_ = nullptr;
  DeviceBuffer in_, out_, tmp_, tableA_, tableB_, tableC_, tableD_;
  PinnedBuffer pinnedIn_, pinnedOut_;
};

// NV12 → RGB in one CUDA context: a blocking stream (it waits for FFmpeg's copies on the
// context's legacy default stream), the RGB result and its pinned staging buffer. Every call runs
// with the context current (context_ null: the caller has made a device's primary context current).
class CudaNv12Converter : public Nv12Converter {
 public:
  explicit CudaNv12Converter(void* context) : context_(context) {
    Scope scope(context_);
    check(cudaStreamCreate(&stream_), "cudaStreamCreate");
  }
  ~CudaNv12Converter() override {
    try {
      Scope scope(context_);
      cudaStreamSynchronize(stream_);
      cudaStreamDestroy(stream_);
      rgb_.release();
      luma_.release();
      chroma_.release();
      pinned_.release();
    } catch (...) {
      // The context could not be made current: freeing now would act on another context.
      rgb_.abandon();
      luma_.abandon();
      chroma_.abandon();
      pinned_.abandon();
    }
  }
  CudaNv12Converter(const CudaNv12Converter&) = delete;
  CudaNv12Converter& operator=(const CudaNv12Converter&) = delete;

  // Device planes in, host RGB out.
  void convert(const Nv12Planes& p, const px::YuvToRgbCoeffs& k, uint8_t* out) override {
    Scope scope(context_);
    const size_t bytes = frameBytes(p.width, p.height, 3);
    auto* d = static_cast<uint8_t*>(rgb_.get(bytes));
    nv12ToRgbKernel<<<dim3((p.width + 31) / 32, (p.height + 7) / 8), dim3(32, 8), 0, stream_>>>(p.luma, p.lumaPitch, p.chroma, p.chromaPitch,
                                                                                              p.width, p.height, k, d);
    check(cudaGetLastError(), "NV12 conversion kernel launch");
    auto* staged = static_cast<uint8_t*>(pinned_.get(bytes));
    check(cudaMemcpyAsync(staged, d, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream_), "NV12 conversion kernel");
    std::memcpy(out, staged, bytes);
  }

  // Host planes: copied to the device first (rows packed), then converted.
  void convertFromHost(const Nv12Planes& p, const px::YuvToRgbCoeffs& k, uint8_t* out) {
    Scope scope(context_);
    const size_t w = static_cast<size_t>(p.width), chromaRows = static_cast<size_t>(p.height + 1) / 2, chromaBytes = (w + 1) / 2 * 2;
    auto* luma = static_cast<uint8_t*>(luma_.get(w * p.height));
    auto* chroma = static_cast<uint8_t*>(chroma_.get(chromaBytes * chromaRows));
    check(cudaMemcpy2D(luma, w, p.luma, p.lumaPitch, w, p.height, cudaMemcpyHostToDevice), "cudaMemcpy2D");
    check(cudaMemcpy2D(chroma, chromaBytes, p.chroma, p.chromaPitch, chromaBytes, chromaRows, cudaMemcpyHostToDevice), "cudaMemcpy2D");
    convert(Nv12Planes{luma, w, chroma, chromaBytes, p.width, p.height}, k, out);
  }

 private:
  // The converter's context current for a call (nothing to do for a primary context).
  struct Scope {
    explicit Scope(void* context) {
      if (context) pushed.emplace(context);
    }
    std::optional<ContextScope> pushed;
  };
  void* context_;
  cudaStream_t stream_ = nullptr;
  DeviceBuffer rgb_, luma_, chroma_;
  PinnedBuffer pinned_;
};

}  // namespace

std::unique_ptr<Nv12Converter> makeNv12Converter(void* context) {
  requireDevice(0, "NVDEC colour conversion");
  if (!context) fail("ERR_INTERNAL", "NVDEC colour conversion: the picture has no CUDA context");
  return std::make_unique<CudaNv12Converter>(context);
}

void nv12ToRgbFromHost(int device, const Nv12Planes& onHost, const px::YuvToRgbCoeffs& k, uint8_t* out) {
  requireDevice(device, "NVDEC colour conversion");
  check(cudaSetDevice(device), "cudaSetDevice");
  CudaNv12Converter(nullptr).convertFromHost(onHost, k, out);
}

std::unique_ptr<Workspace> makeWorkspace(int device) {
  requireDevice(device, "GPU kernel");
  return std::make_unique<CudaWorkspace>(device);
}

}  // namespace gpu
}  // namespace vg
