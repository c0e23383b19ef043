#include "kernel.h"

#include <map>
#include <mutex>

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
