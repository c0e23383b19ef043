// Device probe and errors (gpu_device.h). The driver library (libcuda.so.1) is opened with dlopen
// and never linked, so the engine loads on machines without one; the CUDA runtime, when built
// in, is linked statically (CMakeLists.txt) for the same reason.
#include "gpu_device.h"

#include <dlfcn.h>

#include <mutex>

#include "../../video/ffmpeg.h"

namespace vg {
namespace gpu {

#ifdef VG_HAVE_CUDA
// gpu_kernels.cu: the runtime's version, and its own view of the devices ("" when it can use them).
int cudaRuntimeVersion();
std::string cudaRuntimeProblem();
#endif

void fail(const std::string& code, const std::string& message) { throw VgError(code, message); }

namespace {

using CuInit = int (*)(unsigned);
using CuIntOut = int (*)(int*);
using CuDeviceGet = int (*)(int*, int);
using CuDeviceGetName = int (*)(char*, int, int);
using CuGetErrorName = int (*)(int, const char**);

Status probe() {
  Status s;
#ifdef VG_HAVE_CUDA
  s.built = true;
  s.runtimeVersion = cudaRuntimeVersion();
#endif
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    s.reason = "no NVIDIA driver: libcuda.so.1 could not be loaded (install the NVIDIA driver; in a container, run it with the GPU exposed, e.g. --gpus all)";
  } else {
    auto init = reinterpret_cast<CuInit>(dlsym(lib, "cuInit"));
    auto version = reinterpret_cast<CuIntOut>(dlsym(lib, "cuDriverGetVersion"));
    auto count = reinterpret_cast<CuIntOut>(dlsym(lib, "cuDeviceGetCount"));
    auto get = reinterpret_cast<CuDeviceGet>(dlsym(lib, "cuDeviceGet"));
    auto name = reinterpret_cast<CuDeviceGetName>(dlsym(lib, "cuDeviceGetName"));
    auto errorName = reinterpret_cast<CuGetErrorName>(dlsym(lib, "cuGetErrorName"));
    int rc = -1;
    if (!init || !version || !count || !get || !name) {
      s.reason = "the NVIDIA driver library (libcuda.so.1) lacks the CUDA driver API";
    } else if ((rc = init(0)) != 0) {
      const char* n = nullptr;
      if (errorName) errorName(rc, &n);
      s.reason = "the NVIDIA driver did not initialise (cuInit: " + std::string(n ? n : std::to_string(rc)) + ")";
    } else {
      version(&s.driverVersion);
      count(&s.devices);
      for (int i = 0; i < s.devices; i++) {
        int dev = 0;
        char buf[256] = {0};
        if (get(&dev, i) == 0 && name(buf, sizeof(buf) - 1, dev) == 0) s.names.emplace_back(buf);
        else s.names.emplace_back("?");
      }
      if (s.devices == 0) s.reason = "the NVIDIA driver sees no CUDA device";
    }
    // The library stays loaded: the CUDA runtime opens it too, and unloading drivers is unsafe.
  }
  if (s.reason.empty() && !s.built)
    s.reason = "this vidgraph engine was built without CUDA (nvcc was not found when it was compiled): rebuild with CUDA installed (npm run build:native)";
#ifdef VG_HAVE_CUDA
  if (s.reason.empty()) s.reason = cudaRuntimeProblem();
#endif
  s.available = s.reason.empty();
  return s;
}

}  // namespace

namespace {
using CuCtxPush = int (*)(void*);
using CuCtxPop = int (*)(void**);
struct ContextCalls {
  CuCtxPush push = nullptr;
  CuCtxPop pop = nullptr;
};
// cuCtxPushCurrent/cuCtxPopCurrent from the driver library status() opened.
const ContextCalls& contextCalls() {
  static std::once_flag once;
  static ContextCalls calls;
  std::call_once(once, [] {
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!lib) return;
    calls.push = reinterpret_cast<CuCtxPush>(dlsym(lib, "cuCtxPushCurrent_v2"));
    calls.pop = reinterpret_cast<CuCtxPop>(dlsym(lib, "cuCtxPopCurrent_v2"));
  });
  return calls;
}
}  // namespace

ContextScope::ContextScope(void* context) {
  const ContextCalls& c = contextCalls();
  if (!context) fail("ERR_INTERNAL", "GPU: no CUDA context to make current");
  if (!c.push || !c.pop) fail("ERR_NO_GPU", "GPU: the NVIDIA driver's context calls are missing");
  const int rc = c.push(context);
  if (rc != 0) fail("ERR_INTERNAL", "GPU: making FFmpeg's CUDA context current failed (CUresult " + std::to_string(rc) + ")");
  pushed_ = true;
}

ContextScope::~ContextScope() {
  if (!pushed_) return;
  void* popped = nullptr;
  contextCalls().pop(&popped);
}

const Status& status() {
  static std::once_flag once;
  static Status s;
  std::call_once(once, [] { s = probe(); });
  return s;
}

void requireDevice(int device, const std::string& who) {
  const Status& s = status();
  if (!s.available) fail("ERR_NO_GPU", who + ": no CUDA GPU can be used: " + s.reason);
  if (device < 0 || device >= s.devices)
    fail("ERR_NO_GPU", who + ": GPU " + std::to_string(device) + " was asked for, but the driver sees " + std::to_string(s.devices) +
                           " device" + (s.devices == 1 ? "" : "s") + " (ids 0–" + std::to_string(s.devices - 1) + ")");
}

#ifndef VG_HAVE_CUDA
std::unique_ptr<Workspace> makeWorkspace(int device) {
  requireDevice(device, "GPU kernel");
  fail("ERR_NO_GPU", "GPU kernel: " + status().reason);  // not reached: without CUDA, status() is never available
}
std::unique_ptr<Nv12Converter> makeNv12Converter(void*) {
  requireDevice(0, "NVDEC colour conversion");
  fail("ERR_NO_GPU", "NVDEC colour conversion: " + status().reason);
}
void nv12ToRgbFromHost(int device, const Nv12Planes&, const px::YuvToRgbCoeffs&, uint8_t*) {
  requireDevice(device, "NVDEC colour conversion");
  fail("ERR_NO_GPU", "NVDEC colour conversion: " + status().reason);
}
#endif

}  // namespace gpu
}  // namespace vg
