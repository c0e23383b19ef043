#include "decoder_wrap.h"

#include "js_values.h"

namespace vg {

void DecoderWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeDecoder",
                                   {InstanceMethod("info", &DecoderWrap::Info),
                                    InstanceMethod("rowTimes", &DecoderWrap::RowTimes),
                                    InstanceMethod("keyframeRows", &DecoderWrap::KeyframeRows),
                                    InstanceMethod("decode", &DecoderWrap::Decode),
                                    InstanceMethod("close", &DecoderWrap::Close)});
  exports.Set("NativeDecoder", cls);
}

// new NativeDecoder(index: Uint8Array, dataPath: string, { threads, maxWidth, maxHeight, keepRecent, maxPixels })
DecoderWrap::DecoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DecoderWrap>(info) {
  Napi::Env env = info.Env();
  auto bytes = bytesArg(info[0], "the packet index");
  if (!info[1].IsString()) throwCoded(env, "ERR_BAD_ARGUMENT", "expected the data file path");
  try {
    index_ = VideoIndex::deserialize(bytes.first, bytes.second);
    file_ = std::make_shared<PacketFile>(info[1].As<Napi::String>().Utf8Value());
  } catch (const VgError& e) {
    throwCoded(env, e.code(), e.what());
  }
  if (info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    if (o.Get("threads").IsNumber()) options_.threads = o.Get("threads").As<Napi::Number>().Int32Value();
    if (o.Get("maxWidth").IsNumber()) options_.maxWidth = o.Get("maxWidth").As<Napi::Number>().Int32Value();
    if (o.Get("maxHeight").IsNumber()) options_.maxHeight = o.Get("maxHeight").As<Napi::Number>().Int32Value();
    if (o.Get("keepRecent").IsBoolean()) options_.keepRecent = o.Get("keepRecent").As<Napi::Boolean>().Value();
    if (o.Get("maxPixels").IsNumber()) options_.maxPixels = o.Get("maxPixels").As<Napi::Number>().Int64Value();
  }
  try {
    VideoDecoder::checkPixels(*index_, options_.maxPixels);  // refused at open, before any decoding
  } catch (const VgError& e) {
    throwCoded(env, e.code(), e.what());
  }
  decoder_ = std::make_shared<std::unique_ptr<VideoDecoder>>();
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::make_unique<EngineThread>(env, "decoder");
}

DecoderWrap::~DecoderWrap() {
  if (cancel_) cancel_->store(true);
  thread_.reset();  // joins after the job in progress
}

Napi::Value DecoderWrap::Info(const Napi::CallbackInfo& info) { return indexInfo(info.Env(), *index_); }

Napi::Value DecoderWrap::RowTimes(const Napi::CallbackInfo& info) {
  const int n = index_->rows();
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), static_cast<size_t>(n));
  for (int r = 0; r < n; r++) out[static_cast<size_t>(r)] = index_->rowSeconds(r);
  return out;
}

Napi::Value DecoderWrap::KeyframeRows(const Napi::CallbackInfo& info) {
  std::vector<int32_t> rows;
  for (int32_t p : index_->keyPackets)
    if (index_->packetToRow[static_cast<size_t>(p)] >= 0) rows.push_back(index_->packetToRow[static_cast<size_t>(p)]);
  Napi::Int32Array out = Napi::Int32Array::New(info.Env(), rows.size());
  for (size_t i = 0; i < rows.size(); i++) out[i] = rows[i];
  return out;
}

// decode(rows: Int32Array sorted, distinct) → Promise<{ frames, failedRows, failure, framesDecoded, ... }>
Napi::Value DecoderWrap::Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throwCoded(env, "ERR_BAD_ARGUMENT", "decode() expects an Int32Array of rows");
  Napi::Int32Array arr = info[0].As<Napi::Int32Array>();
  std::vector<int> rows(arr.ElementLength());
  for (size_t i = 0; i < rows.size(); i++) rows[i] = arr[i];
  auto index = index_;
  auto file = file_;
  auto options = options_;
  auto holder = decoder_;
  auto cancel = cancel_;
  return thread_->submit(env, [index, file, options, holder, cancel, rows = std::move(rows)]() -> Settle {
    if (!*holder) *holder = std::make_unique<VideoDecoder>(index, file, options);
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
      o.Set("packetsSent", static_cast<double>(result->packetsSent));
      o.Set("seeks", result->seeks);
      o.Set("conversion", result->conversion == 1 ? "direct" : result->conversion == 2 ? "graph" : "none");
      return o;
    };
  });
}

Napi::Value DecoderWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!thread_) return env.Undefined();
  cancel_->store(true);
  auto holder = decoder_;
  Napi::Promise done = thread_->submit(env, [holder]() -> Settle {
    holder->reset();  // the codec is freed on the thread that used it
    return nullptr;
  });
  thread_->stop();
  thread_.reset();
  return done;
}

}  // namespace vg
