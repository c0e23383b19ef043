#include "js_values.h"

#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "../engine/engine_thread.h"

namespace vg {

namespace {

// Engine buffers JavaScript holds, by data pointer: what a returning input may share.
struct Registered {
  size_t bytes;
  std::weak_ptr<void> owner;
  int views;  // ArrayBuffers over this pointer (Pass can hand the same memory out twice)
};

struct Registry {
  std::mutex mutex;
  std::unordered_map<const uint8_t*, Registered> byData;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: finalizers may run at exit
  return *r;
}

struct Holder {
  uint8_t* data;
  size_t bytes;
  std::shared_ptr<void> owner;
};

// The owner of engine memory [p, p + n), if JavaScript got it from the engine.
std::shared_ptr<void> engineOwner(const uint8_t* base, size_t offset, size_t n) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.byData.find(base);
  if (it == r.byData.end() || offset > it->second.bytes || n > it->second.bytes - offset) return nullptr;
  return it->second.owner.lock();
}

bool typedArrayMatches(napi_typedarray_type t, DType d) {
  switch (d) {
    case DType::U8: return t == napi_uint8_array || t == napi_uint8_clamped_array;
    case DType::U16: return t == napi_uint16_array;
    case DType::F32: return t == napi_float32_array;
    case DType::F64: return t == napi_float64_array;
  }
  return false;
}

int dimension(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = o.Get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 1 && d <= kMaxFrameSide) || d != static_cast<double>(static_cast<int64_t>(d)))
    throwCoded(o.Env(), "ERR_BAD_ARGUMENT",
               where + ": expected integer " + key + " between 1 and " + std::to_string(kMaxFrameSide) + " for a frame");
  return static_cast<int>(d);
}

}  // namespace

Napi::Object indexInfo(Napi::Env env, const VideoIndex& index, bool rotate) {
  Napi::Object o = Napi::Object::New(env);
  const char* pixFmt = av_get_pix_fmt_name(static_cast<AVPixelFormat>(index.codec.format));
  const bool swapped = rotate && orientationSwapsSize(index.displayMatrixOrNull());
  o.Set("width", swapped ? index.codec.height : index.codec.width);
  o.Set("height", swapped ? index.codec.width : index.codec.height);
  const double rotation = index.rotation();
  o.Set("rotation", std::isfinite(rotation) ? rotation : 0.0);
  o.Set("rotate", rotate);
  o.Set("sideData", static_cast<double>(index.sideData.size()));
  o.Set("frames", index.rows());
  o.Set("fps", index.fps());
  Napi::Array tb = Napi::Array::New(env, 2);
  tb.Set(0u, index.timeBase.num);
  tb.Set(1u, index.timeBase.den);
  o.Set("timeBase", tb);
  o.Set("codec", avcodec_get_name(static_cast<AVCodecID>(index.codec.codecId)));
  o.Set("pixFmt", pixFmt ? pixFmt : "unknown");
  o.Set("durationSec", index.durationSeconds());
  o.Set("keyframes", static_cast<double>(index.keyPackets.size()));
  o.Set("packets", static_cast<double>(index.packets.size()));
  o.Set("dataBytes", static_cast<double>(index.dataEnd()));
  o.Set("headerFrames", static_cast<double>(index.headerFrames));
  o.Set("container", index.container);
  o.Set("inplace", index.inplace);
  o.Set("ptsSynthesized", index.ptsSynthesized);
  size_t damaged = 0;
  for (const PacketEntry& e : index.packets) damaged += (e.flags & kPacketCorrupt) ? 1 : 0;
  o.Set("damagedPackets", static_cast<double>(damaged));
  // Whether the index says which packets nothing references (format 3), and how many.
  size_t disposable = 0;
  for (const PacketEntry& e : index.packets) disposable += (e.flags & kPacketDisposable) ? 1 : 0;
  o.Set("classified", index.classified);
  o.Set("disposablePackets", static_cast<double>(disposable));
  return o;
}

Napi::ArrayBuffer engineBuffer(Napi::Env env, uint8_t* data, size_t bytes, std::shared_ptr<void> owner) {
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto [it, fresh] = r.byData.try_emplace(data, Registered{bytes, owner, 0});
    if (!fresh) {
      it->second.bytes = std::max(it->second.bytes, bytes);
      if (it->second.owner.expired()) it->second.owner = owner;
    }
    it->second.views++;
  }
  // V8 counts an ArrayBuffer's bytes as external memory by itself, from its creation until the
  // GC sweeps it (ArrayBufferSweeper), and a scavenge frees a frame that died young. Counting
  // them once more here (AdjustExternalMemory) doubled the figure and, since our half was only
  // taken back in the finalizer, which runs after the sweep, made V8 start a full mark-compact
  // every 6 to 8 frames of a 1080p read: 40 per 300 frames instead of none, about 10% of the
  // read's time, and a higher peak RSS (249 vs 231 MiB).
  auto* holder = new Holder{data, bytes, std::move(owner)};
  auto release = [](Holder* h) {
    {
      Registry& r = registry();
      std::lock_guard<std::mutex> lock(r.mutex);
      auto it = r.byData.find(h->data);
      if (it != r.byData.end() && --it->second.views == 0) r.byData.erase(it);
    }
    delete h;
  };
  try {
    return Napi::ArrayBuffer::New(env, data, bytes, [release](Napi::Env, void*, Holder* h) { release(h); }, holder);
  } catch (...) {
    release(holder);
    throw;
  }
}

Napi::ArrayBuffer imageBuffer(Napi::Env env, std::unique_ptr<RgbImage> image) {
  std::shared_ptr<RgbImage> shared(std::move(image));
  return engineBuffer(env, shared->data, shared->bytes, shared);
}

FrameData frameFromJs(const Napi::Value& v, const std::string& where) {
  Napi::Env env = v.Env();
  if (!v.IsObject()) throwCoded(env, "ERR_BAD_ARGUMENT", where + ": expected a frame object");
  Napi::Object o = v.As<Napi::Object>();
  FrameData f;
  f.height = dimension(o, "height", where);
  f.width = dimension(o, "width", where);
  f.channels = dimension(o, "channels", where);
  Napi::Value dtype = o.Get("dtype");
  if (!dtype.IsString() || !dtypeFromName(dtype.As<Napi::String>().Utf8Value(), &f.dtype))
    throwCoded(env, "ERR_BAD_ARGUMENT", where + ": expected dtype 'uint8', 'uint16', 'float32' or 'float64'");
  const size_t expected = f.bytes();
  Napi::Value data = o.Get("data");
  Napi::ArrayBuffer ab;
  size_t offset = 0, length = 0;
  if (data.IsTypedArray()) {
    Napi::TypedArray ta = data.As<Napi::TypedArray>();
    if (!typedArrayMatches(ta.TypedArrayType(), f.dtype))
      throwCoded(env, "ERR_BAD_ARGUMENT", where + ": `data` is a typed array of another element type than dtype '" + dtypeName(f.dtype) + "'");
    ab = ta.ArrayBuffer();
    offset = ta.ByteOffset();
    length = ta.ByteLength();
  } else if (data.IsArrayBuffer()) {
    ab = data.As<Napi::ArrayBuffer>();
    length = ab.ByteLength();
  } else {
    throwCoded(env, "ERR_BAD_ARGUMENT", where + ": a frame needs `data` (a typed array or ArrayBuffer)");
  }
  if (ab.IsDetached()) throwCoded(env, "ERR_BAD_ARGUMENT", where + ": the frame's data buffer is detached (transferred or freed)");
  if (length != expected)
    throwCoded(env, "ERR_BAD_ARGUMENT", where + ": frame shape " + std::to_string(f.height) + "x" + std::to_string(f.width) + "x" +
                                            std::to_string(f.channels) + " " + dtypeName(f.dtype) + " needs " + std::to_string(expected) +
                                            " bytes, its data has " + std::to_string(length));
  auto* base = static_cast<uint8_t*>(ab.Data());
  if (std::shared_ptr<void> owner = engineOwner(base, offset, length)) {
    f.data = base + offset;
    f.owner = std::move(owner);
    return f;
  }
  FrameData copy = FrameData::allocate(f.height, f.width, f.channels, f.dtype);
  std::memcpy(copy.data, base + offset, length);
  return copy;
}

std::string bytesArg(const Napi::Value& v, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throwCoded(v.Env(), "ERR_BAD_ARGUMENT", "expected a Uint8Array for " + what);
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  return std::string(reinterpret_cast<const char*>(u.Data()), u.ByteLength());
}

}  // namespace vg
