// scan(path, { copyTo?, inplace?, threads?, maxPixels? }) → Promise<{ index: Buffer, info, warnings, seconds }>
// indexInfo(index: Uint8Array) → info (synchronous: reads a stored index)
#include <napi.h>
#include <unistd.h>

#include <cstdlib>

#include "../engine/engine_thread.h"
#include "../video/scanner.h"
#include "js_values.h"

namespace vg {

Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
  if (!info[0].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "scan() expects a path");
  ScanOptions opt;
  opt.path = info[0].As<Napi::String>().Utf8Value();
  if (info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    if (o.Get("copyTo").IsString()) opt.copyTo = o.Get("copyTo").As<Napi::String>().Utf8Value();
    opt.inplace = o.Get("inplace").ToBoolean().Value();
    if (o.Get("threads").IsNumber()) opt.threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (o.Get("maxPixels").IsNumber()) opt.maxPixels = o.Get("maxPixels").As<Napi::Number>().Int64Value();
  }
  return runDetached(env, "scan", [opt]() -> Settle {
    auto result = std::make_shared<ScanResult>(scanVideo(opt));
    auto bytes = std::make_shared<std::vector<uint8_t>>(result->index->serialize());
    return [result, bytes](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("index", Napi::Buffer<uint8_t>::Copy(env, bytes->data(), bytes->size()));
      o.Set("info", indexInfo(env, *result->index));
      Napi::Array warnings = Napi::Array::New(env, result->warnings.size());
      for (size_t i = 0; i < result->warnings.size(); i++) warnings.Set(static_cast<uint32_t>(i), result->warnings[i]);
      o.Set("warnings", warnings);
      o.Set("seconds", result->seconds);
      return o;
    };
  });
  });
}

// scanSync(path) → info: indexes a video on the calling thread (for synchronous constructors
// that must know frame counts, such as the sliding-window generator). Packets of containers
// that cannot be read in place go to a temporary file that is removed at once.
Napi::Value ScanSync(const Napi::CallbackInfo& info) {
  ScanOptions opt;
  opt.path = info[0].ToString().Utf8Value();
  opt.inplace = true;
  char tmpl[] = "/tmp/vidgraph-scan-XXXXXX";
  const int fd = mkstemp(tmpl);
  if (fd >= 0) {
    close(fd);
    opt.copyTo = tmpl;
  }
  try {
    ScanResult r = scanVideo(opt);
    if (fd >= 0) unlink(tmpl);
    return indexInfo(info.Env(), *r.index);
  } catch (const VgError& e) {
    if (fd >= 0) unlink(tmpl);
    throwCoded(info.Env(), e.code(), e.what());
  }
}

Napi::Value IndexInfo(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const std::string bytes = bytesArg(info[0], "the packet index");
    return indexInfo(info.Env(), *VideoIndex::deserialize(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  });
}

}  // namespace vg
