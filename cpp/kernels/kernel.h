// Kernels: the code behind an op. The registry maps an op name to its declaration and a
// factory; built-in ops register themselves here (plugins will register the same way).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "element.h"

namespace vg {
namespace gpu {
class Workspace;
}
}  // namespace vg

namespace vg {

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Called at every slice boundary and discontinuity, and before the first row.
  virtual void reset() {}
  // inputs[c][r]: column c, row r of the batch (with a stencil, each input column holds
  // stencil.size() consecutive entries per row: the rows at the stencil offsets).
  // Returns one Column per output, each with one element per row.
  virtual std::vector<Column> execute(const std::vector<Column>& inputs, size_t rows) = 0;
};

enum class ColumnType { Frame, Bytes, Any };

struct OpSpec {
  std::string name;
  std::vector<std::pair<std::string, ColumnType>> inputs;
  std::vector<std::pair<std::string, ColumnType>> outputs;
  std::vector<int> stencil{0};
  std::function<std::unique_ptr<Kernel>(const Args&)> factory;
  // The op's GPU kernel (built-ins with one: cpp/kernels/cuda/), on a workspace that is a CUDA
  // device or the kernels' host twins; empty when the op has none.
  std::function<std::unique_ptr<Kernel>(const Args&, std::shared_ptr<gpu::Workspace>)> gpuFactory;
  // Declared by plugins (built-ins leave the defaults).
  int boundedState = 0;
  bool unboundedState = false;
  int batch = 1;
  std::string protoMessage;
  std::string plugin;  // the shared library that declared the op
  bool variadic = false;  // any number of input columns of inputs[0]'s type
};

void registerOp(OpSpec spec);
// Registers a plugin's ops all together or none: under one lock, every name is checked first. A
// name that another op already has (a built-in, or an op of another plugin) is ERR_EXISTS unless
// `replace`; the same plugin file registering its op again is not a clash. Names repeated within
// `specs` are ERR_PLUGIN.
void registerOps(std::vector<OpSpec> specs, bool replace);
const OpSpec* findOp(const std::string& name);
std::vector<const OpSpec*> allOps();

}  // namespace vg
