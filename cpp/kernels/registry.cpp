#include "kernel.h"

#include <map>
#include <mutex>
#include <set>

#include "../video/ffmpeg.h"

namespace vg {

void registerBuiltinOps();

namespace {
struct Registry {
  std::mutex mutex;
  std::map<std::string, OpSpec> ops;
  bool builtinsLoaded = false;
};
Registry& registry() {
  static Registry r;
  return r;
}
void ensureBuiltins() {
  Registry& r = registry();
  bool load = false;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    if (!r.builtinsLoaded) {
      r.builtinsLoaded = true;
      load = true;
    }
  }
  if (load) registerBuiltinOps();
}
}  // namespace

void registerOp(OpSpec spec) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const std::string name = spec.name;
  r.ops[name] = std::move(spec);
}

void registerOps(std::vector<OpSpec> specs, bool replace) {
  ensureBuiltins();  // a plugin op named like a built-in is a clash even before the first findOp
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::set<std::string> names;
  std::string taken;
  for (const OpSpec& spec : specs) {
    if (!names.insert(spec.name).second)
      throw VgError("ERR_PLUGIN", "plugin '" + spec.plugin + "': declares op '" + spec.name + "' twice; it was not loaded");
    auto it = r.ops.find(spec.name);
    if (replace || it == r.ops.end() || (!spec.plugin.empty() && it->second.plugin == spec.plugin)) continue;
    taken += (taken.empty() ? "'" : ", '") + spec.name + "' (" + (it->second.plugin.empty() ? std::string("built in") : "from plugin '" + it->second.plugin + "'") + ")";
  }
  if (!taken.empty()) {
    const std::string who = specs.empty() ? std::string("a plugin") : "plugin '" + specs.front().plugin + "'";
    throw VgError("ERR_EXISTS", "loadOp: " + who + " declares op names already taken: " + taken + " (pass { replace: true } to replace engine ops); it was not loaded");
  }
  for (OpSpec& spec : specs) {
    const std::string name = spec.name;
    r.ops[name] = std::move(spec);
  }
}

const OpSpec* findOp(const std::string& name) {
  ensureBuiltins();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.ops.find(name);
  return it == r.ops.end() ? nullptr : &it->second;
}

std::vector<const OpSpec*> allOps() {
  ensureBuiltins();
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<const OpSpec*> out;
  for (auto& [name, spec] : r.ops) out.push_back(&spec);
  return out;
}

}  // namespace vg
