// Conversions between engine values and JS values (JS thread only).
//
// Memory safety across the boundary: the engine never reads JavaScript-owned memory after the
// call that handed it over returns. Engine memory given to JavaScript (decoded images, kernel
// outputs) is registered; when such a buffer comes back as an input, the engine takes a share
// of its owner, so detaching, transferring or collecting the ArrayBuffer cannot free what a
// queued job reads. Any other input buffer is copied into engine memory on the JS thread.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "../kernels/element.h"
#include "../video/index.h"
#include "../video/rgb_converter.h"

namespace vg {

// The stream facts the TypeScript layer reports as metadata().
// rotate: width and height as the frames come out with autorotate on (swapped at 90°/270°).
Napi::Object indexInfo(Napi::Env env, const VideoIndex& index, bool rotate = true);
// An external ArrayBuffer over engine memory `data` (kept alive by `owner`): no copy. The
// share of the owner is released when the ArrayBuffer is collected (V8 is told its size).
Napi::ArrayBuffer engineBuffer(Napi::Env env, uint8_t* data, size_t bytes, std::shared_ptr<void> owner);
// An RGB image as an engine buffer.
Napi::ArrayBuffer imageBuffer(Napi::Env env, std::unique_ptr<RgbImage> image);
// A frame object { height, width, channels, dtype, data } read into engine terms: shape and
// dtype checked, `data` a live (not detached) typed array of the dtype's type or an
// ArrayBuffer, of exactly the frame's size. Engine memory is shared, anything else copied.
FrameData frameFromJs(const Napi::Value& v, const std::string& where);
// A Uint8Array (or Buffer) argument, copied.
std::string bytesArg(const Napi::Value& v, const std::string& what);

}  // namespace vg
