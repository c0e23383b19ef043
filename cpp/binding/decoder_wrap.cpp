#include "decoder_wrap.h"

#include "../kernels/cuda/gpu_device.h"

#include "../video/reference.h"
#include "js_values.h"

namespace vg {

void DecoderWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeDecoder",
                                   {InstanceMethod("info", &DecoderWrap::Info),
                                    InstanceMethod("rowTimes", &DecoderWrap::RowTimes),
                                    InstanceMethod("keyframeRows", &DecoderWrap::KeyframeRows),
                                    InstanceMethod("decode", &DecoderWrap::Decode),
                                    InstanceMethod("plan", &DecoderWrap::Plan),
                                    InstanceMethod("close", &DecoderWrap::Close)});
  exports.Set("NativeDecoder", cls);
}

namespace {
// An optional integer option in [min, max].
int intOption(const Napi::Object& o, const char* key, int fallback, int min, int max) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : min - 1.0;
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int64_t>(d)))
    throwCoded(o.Env(), "ERR_BAD_ARGUMENT",
               std::string("NativeDecoder: expected integer ") + key + " between " + std::to_string(min) + " and " + std::to_string(max));
  return static_cast<int>(d);
}
}  // namespace

// new NativeDecoder(index: Uint8Array, dataPath: string, { threads, maxWidth, maxHeight, keepRecent, maxPixels, gpu })
// gpu: decode on that CUDA device (NVDEC); ERR_NO_GPU at once when it cannot be used.
DecoderWrap::DecoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DecoderWrap>(info) {
  Napi::Env env = info.Env();
  guarded(env, [&] {
    const std::string bytes = bytesArg(info[0], "the packet index");
    if (!info[1].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "expected the data file path");
    index_ = VideoIndex::deserialize(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    file_ = std::make_shared<PacketFile>(info[1].As<Napi::String>().Utf8Value());
    if (info[2].IsObject()) {
      Napi::Object o = info[2].As<Napi::Object>();
      options_.threads = intOption(o, "threads", 0, 0, kMaxThreadsOption);  // clamped to threadCap() by the decoder
      options_.maxWidth = intOption(o, "maxWidth", 0, 0, kMaxFrameSide);
      options_.maxHeight = intOption(o, "maxHeight", 0, 0, kMaxFrameSide);
      if (o.Get("keepRecent").IsBoolean()) options_.keepRecent = o.Get("keepRecent").As<Napi::Boolean>().Value();
      if (o.Get("rotate").IsBoolean()) options_.rotate = o.Get("rotate").As<Napi::Boolean>().Value();
      if (o.Get("skipDisposable").IsBoolean()) options_.skipDisposable = o.Get("skipDisposable").As<Napi::Boolean>().Value();
      if (!o.Get("gpu").IsUndefined()) {
        options_.gpu = intOption(o, "gpu", -1, 0, 1024);
        gpu::requireDevice(options_.gpu, "NVDEC decode");
      }
      Napi::Value mp = o.Get("maxPixels");
      if (!mp.IsUndefined()) {
        const double d = mp.IsNumber() ? mp.As<Napi::Number>().DoubleValue() : -1;
        if (!(d >= 0 && d <= 9007199254740991.0)) throwCoded(env, "ERR_BAD_ARGUMENT", "NativeDecoder: expected maxPixels >= 0 (0: no limit)");
        options_.maxPixels = static_cast<int64_t>(d);
      }
    }
    VideoDecoder::checkPixels(*index_, options_.maxPixels);  // refused at open, before any decoding
    decoder_ = std::make_shared<std::unique_ptr<VideoDecoder>>();
    cancel_ = std::make_shared<std::atomic<bool>>(false);
    thread_ = std::make_unique<EngineThread>(env, "decoder");
  });
}

DecoderWrap::~DecoderWrap() {
  // A finalizer: no JS values, no waiting. The decode in progress stops at its next packet;
  // the codec is freed on its own thread, which then ends.
  if (!thread_) return;
  cancel_->store(true);
  thread_->closeFromFinalizer([holder = decoder_] { holder->reset(); });
}

void DecoderWrap::checkOpen(Napi::Env env, const char* method) const {
  if (!thread_ || thread_->stopped()) throwCoded(env, "ERR_CLOSED", std::string("NativeDecoder.") + method + ": the decoder is closed");
}

Napi::Value DecoderWrap::Info(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return indexInfo(info.Env(), *index_, options_.rotate); });
}

Napi::Value DecoderWrap::RowTimes(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const int n = index_->rows();
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), static_cast<size_t>(n));
    for (int r = 0; r < n; r++) out[static_cast<size_t>(r)] = index_->rowSeconds(r);
    return out;
  });
}

Napi::Value DecoderWrap::KeyframeRows(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::vector<int32_t> rows;
    for (int32_t p : index_->keyPackets)
      if (index_->packetToRow[static_cast<size_t>(p)] >= 0) rows.push_back(index_->packetToRow[static_cast<size_t>(p)]);
    Napi::Int32Array out = Napi::Int32Array::New(info.Env(), rows.size());
    for (size_t i = 0; i < rows.size(); i++) out[i] = rows[i];
    return out;
  });
}

// decode(rows: Int32Array sorted, distinct) → Promise<{ frames, failedRows, failure, framesDecoded, ... }>
Napi::Value DecoderWrap::Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    checkOpen(env, "decode");
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throwCoded(env, "ERR_BAD_ARGUMENT", "NativeDecoder.decode: expected an Int32Array of rows");
    Napi::Int32Array arr = info[0].As<Napi::Int32Array>();
    std::vector<int> rows(arr.ElementLength());
    for (size_t i = 0; i < rows.size(); i++) rows[i] = arr[i];
    auto index = index_;
    auto file = file_;
    auto options = options_;
    auto holder = decoder_;
    auto cancel = cancel_;
    return thread_->submit(env, [index, file, options, holder, cancel, rows = std::move(rows)]() -> Settle {
      if (cancel->load()) throw VgError("ERR_CLOSED", "the decoder was closed");
      if (!*holder) {
        // An index written before format 3 lacks the disposable flags: read them from the
        // packets once, here on the decoder's thread (the stored index itself is not changed).
        std::shared_ptr<const VideoIndex> decodeIndex = index;
        if (!index->classified) {
          auto classified = std::make_shared<VideoIndex>(*index);
          classifyPackets(*classified, *file);
          decodeIndex = std::move(classified);
        }
        *holder = std::make_unique<VideoDecoder>(decodeIndex, file, options);
      }
      auto result = std::make_shared<DecodeResult>((*holder)->decode(rows, cancel.get()));
      return [result](Napi::Env env) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        Napi::Array frames = Napi::Array::New(env, result->frames.size());
        for (size_t i = 0; i < result->frames.size(); i++) {
          DecodedRow& d = result->frames[i];
          Napi::Object f = Napi::Object::New(env);
          f.Set("row", d.row);
          f.Set("width", d.image->width);
          f.Set("height", d.image->height);
          f.Set("data", imageBuffer(env, std::move(d.image)));
          frames.Set(static_cast<uint32_t>(i), f);
        }
        o.Set("frames", frames);
        Napi::Array failed = Napi::Array::New(env, result->failedRows.size());
        for (size_t i = 0; i < result->failedRows.size(); i++) failed.Set(static_cast<uint32_t>(i), result->failedRows[i]);
        o.Set("failedRows", failed);
        o.Set("failure", result->failure);
        o.Set("framesDecoded", static_cast<double>(result->framesDecoded));
        o.Set("framesOnGpu", static_cast<double>(result->framesOnGpu));
        o.Set("packetsSent", static_cast<double>(result->packetsSent));
        o.Set("packetsSkipped", static_cast<double>(result->packetsSkipped));
        o.Set("seeks", result->seeks);
        o.Set("conversion", result->conversion == 1 ? "direct" : result->conversion == 2 ? "graph" : "none");
        return o;
      };
    });
  });
}

// plan(rows: Int32Array in the order they will be asked for, budgetBytes) → Promise<void>:
// the decode schedule of the requests that follow (VideoDecoder::plan); an empty array ends it.
// Queued on the decoder's thread like decode(), so it applies to the decodes submitted after it.
Napi::Value DecoderWrap::Plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    checkOpen(env, "plan");
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throwCoded(env, "ERR_BAD_ARGUMENT", "NativeDecoder.plan: expected an Int32Array of rows");
    const double budget = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
    if (!(budget >= 0 && budget <= 9007199254740991.0))
      throwCoded(env, "ERR_BAD_ARGUMENT", "NativeDecoder.plan: expected budgetBytes >= 0");
    Napi::Int32Array arr = info[0].As<Napi::Int32Array>();
    std::vector<int> rows(arr.Data(), arr.Data() + arr.ElementLength());
    auto index = index_;
    auto file = file_;
    auto options = options_;
    auto holder = decoder_;
    auto cancel = cancel_;
    return thread_->submit(env, [index, file, options, holder, cancel, rows = std::move(rows),
                                 budget = static_cast<int64_t>(budget)]() -> Settle {
      if (cancel->load()) throw VgError("ERR_CLOSED", "the decoder was closed");
      if (!*holder) *holder = std::make_unique<VideoDecoder>(index, file, options);
      (*holder)->plan(rows, budget);
      return [](Napi::Env env) -> Napi::Value { return env.Undefined(); };
    });
  });
}

// close() → Promise<void>: resolves once the codec is freed; never blocks the event loop.
// Decodes in progress or queued reject with ERR_CLOSED. A second close() resolves at once.
Napi::Value DecoderWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    cancel_->store(true);
    return thread_->close(env, [holder = decoder_] { holder->reset(); });  // freed on the thread that used it
  });
}

}  // namespace vg
