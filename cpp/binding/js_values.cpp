#include "js_values.h"

#include "../engine/engine_thread.h"

namespace vg {

Napi::Object indexInfo(Napi::Env env, const VideoIndex& index) {
  Napi::Object o = Napi::Object::New(env);
  const char* pixFmt = av_get_pix_fmt_name(static_cast<AVPixelFormat>(index.codec.format));
  o.Set("width", index.codec.width);
  o.Set("height", index.codec.height);
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
  return o;
}

Napi::ArrayBuffer imageBuffer(Napi::Env env, std::unique_ptr<RgbImage> image) {
  const int64_t bytes = static_cast<int64_t>(image->bytes);
  RgbImage* raw = image.release();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
      env, raw->data, raw->bytes,
      [](Napi::Env e, void*, RgbImage* img) {
        Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(img->bytes));
        delete img;
      },
      raw);
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  return ab;
}

std::pair<const uint8_t*, size_t> bytesArg(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) throwCoded(v.Env(), "ERR_BAD_ARGUMENT", std::string("expected a Uint8Array for ") + what);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  return {static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset(), ta.ByteLength()};
}

}  // namespace vg
