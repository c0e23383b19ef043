// JS class NativeKernel: one kernel instance, executed on its own engine thread.
#pragma once

#include <napi.h>

#include <memory>

#include "../engine/engine_thread.h"
#include "../kernels/kernel.h"

namespace vg {

class KernelWrap : public Napi::ObjectWrap<KernelWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit KernelWrap(const Napi::CallbackInfo& info);
  ~KernelWrap() override;

 private:
  Napi::Value Execute(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Abandon(const Napi::CallbackInfo& info);
  void checkOpen(Napi::Env env, const char* method) const;

  const OpSpec* spec_ = nullptr;
  // Only the kernel's engine thread calls or destroys it (close() and the finalizer queue the reset).
  std::shared_ptr<std::unique_ptr<Kernel>> kernel_;
  std::unique_ptr<EngineThread> thread_;
};

// ops() → the registry's op declarations.
Napi::Value ListOps(const Napi::CallbackInfo& info);

}  // namespace vg
