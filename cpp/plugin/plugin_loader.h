// Loads plugin shared libraries (include/vidgraph/op.h) and registers their ops in the same
// registry the built-in ops use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vg {

// dlopen(RTLD_NOW | RTLD_LOCAL), ABI check, registration. Throws VgError(ERR_PLUGIN) naming the
// file. Returns the names of the ops it registered.
//
// The plugin's declarations are checked and staged; its ops join the registry only when its
// registration returned in full. With timeoutMs > 0, a registration that took longer than that
// (the caller has given up on it) registers nothing, throws ERR_TIMEOUT, and the file stays
// quarantined: later loads of it are refused with ERR_PLUGIN.
//
// Registration is all or nothing (registerOps): an op name the registry already has from a
// built-in or another plugin is ERR_EXISTS and nothing is registered, unless `replace`.
std::vector<std::string> loadPlugin(const std::string& path, int64_t timeoutMs = 0, bool replace = false);

}  // namespace vg
