// Loads plugin shared libraries (include/vidgraph/op.h) and registers their ops in the same
// registry the built-in ops use.
#pragma once

#include <string>
#include <vector>

namespace vg {

// dlopen(RTLD_NOW | RTLD_LOCAL), ABI check, registration. Throws VgError(ERR_PLUGIN) naming the
// file. Returns the names of the ops it registered.
std::vector<std::string> loadPlugin(const std::string& path);

}  // namespace vg
