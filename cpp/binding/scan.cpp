// scan(path, { copyTo?, inplace?, maxPixels?, rotate? }) → Promise<{ index: Buffer, info, warnings, seconds }>
//   the promise has `progress`: a BigInt64Array [packets indexed, bytes read] the scan updates
//   as it goes (read it with Atomics.load)
// scanInfo(path) → Promise<info>, scanInfoSync(path) → info: index-only scans (no packets copied)
// indexInfo(index: Uint8Array) → info (synchronous: reads a stored index)
// classifyIndex(index: Uint8Array, dataPath) → Promise<Buffer>: the index with its packets
// classified from the data file (format 3), whatever format it was written in
#include <napi.h>

#include <array>
#include <memory>
#include <string>

#include "../engine/engine_thread.h"
#include "../video/packet_file.h"
#include "../video/reference.h"
#include "../video/scanner.h"
#include "js_values.h"

namespace vg {

Napi::Value Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "scan() expects a path");
    ScanOptions opt;
    bool rotate = true;
    opt.path = info[0].As<Napi::String>().Utf8Value();
    if (info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (o.Get("copyTo").IsString()) opt.copyTo = o.Get("copyTo").As<Napi::String>().Utf8Value();
      opt.inplace = o.Get("inplace").ToBoolean().Value();
      if (o.Get("maxPixels").IsNumber()) opt.maxPixels = o.Get("maxPixels").As<Napi::Number>().Int64Value();
      if (o.Get("rotate").IsBoolean()) rotate = o.Get("rotate").As<Napi::Boolean>().Value();
    }
    // The progress counters live as long as both the scan and the JS array that shows them.
    using Progress = std::array<int64_t, 2>;
    auto progress = std::make_shared<Progress>();
    opt.progress = progress->data();
    Napi::Value promise = runDetached(env, "scan", [opt, rotate, progress]() -> Settle {
      auto result = std::make_shared<ScanResult>(scanVideo(opt));
      auto bytes = std::make_shared<std::vector<uint8_t>>(result->index->serialize());
      return [result, bytes, rotate](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("index", Napi::Buffer<uint8_t>::Copy(env, bytes->data(), bytes->size()));
        o.Set("info", indexInfo(env, *result->index, rotate));
        Napi::Array warnings = Napi::Array::New(env, result->warnings.size());
        for (size_t i = 0; i < result->warnings.size(); i++) warnings.Set(static_cast<uint32_t>(i), result->warnings[i]);
        o.Set("warnings", warnings);
        o.Set("seconds", result->seconds);
        return o;
      };
    });
    auto* hold = new std::shared_ptr<Progress>(progress);
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, progress->data(), sizeof(Progress), [](Napi::Env, void*, std::shared_ptr<Progress>* h) { delete h; }, hold);
    promise.As<Napi::Object>().Set("progress", Napi::BigInt64Array::New(env, 2, buffer, 0));
    return promise;
  });
}

// Index-only scans (demux once, count and time the frames; no packet is copied or located):
// what the training generators need to count windows. scanInfo runs on a one-shot engine
// thread; scanInfoSync on the calling thread, for a synchronous `length` asked before the
// generator's asynchronous indexing.
namespace {

ScanOptions indexOnlyOptions(const Napi::CallbackInfo& info, const char* where) {
  if (!info[0].IsString()) throwCoded(info.Env(), "ERR_BAD_ARGUMENT", std::string(where) + "() expects a path");
  ScanOptions opt;
  opt.path = info[0].As<Napi::String>().Utf8Value();
  opt.indexOnly = true;
  return opt;
}

}  // namespace

Napi::Value ScanInfo(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    ScanOptions opt = indexOnlyOptions(info, "scanInfo");
    return runDetached(info.Env(), "scan", [opt]() -> Settle {
      auto index = scanVideo(opt).index;
      return [index](Napi::Env env) -> Napi::Value { return indexInfo(env, *index); };
    });
  });
}

Napi::Value ScanInfoSync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    ScanOptions opt = indexOnlyOptions(info, "scanInfoSync");
    return indexInfo(info.Env(), *scanVideo(opt).index);
  });
}

Napi::Value IndexInfo(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const std::string bytes = bytesArg(info[0], "the packet index");
    return indexInfo(info.Env(), *VideoIndex::deserialize(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  });
}

Napi::Value ClassifyIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const std::string bytes = bytesArg(info[0], "the packet index");
    if (!info[1].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "classifyIndex: expected the data file path");
    std::shared_ptr<VideoIndex> index = VideoIndex::deserialize(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    const std::string dataPath = info[1].As<Napi::String>().Utf8Value();
    return runDetached(env, "classify", [index, dataPath]() -> Settle {
      classifyPackets(*index, PacketFile(dataPath));
      auto out = std::make_shared<std::vector<uint8_t>>(index->serialize());
      return [out](Napi::Env env) -> Napi::Value { return Napi::Buffer<uint8_t>::Copy(env, out->data(), out->size()); };
    });
  });
}

}  // namespace vg
