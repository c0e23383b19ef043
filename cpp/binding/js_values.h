// Conversions between engine values and JS values (JS thread only).
#pragma once

#include <napi.h>

#include <memory>

#include "../video/index.h"
#include "../video/rgb_converter.h"

namespace vg {

// The stream facts the TypeScript layer reports as metadata().
Napi::Object indexInfo(Napi::Env env, const VideoIndex& index);
// An RGB image as an external ArrayBuffer over the engine's memory: no copy. The engine
// memory is released when the ArrayBuffer is collected (V8 is told its size).
Napi::ArrayBuffer imageBuffer(Napi::Env env, std::unique_ptr<RgbImage> image);
// Reads a Uint8Array/Buffer argument.
std::pair<const uint8_t*, size_t> bytesArg(const Napi::Value& v, const char* what);

}  // namespace vg
