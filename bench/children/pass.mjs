// A pass-through kernel for the worker-pool overhead benchmark.
export function pass(config, { frame }) {
  return frame;
}
