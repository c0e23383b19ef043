// The engine's own threads. Work never runs on the Node main thread or the libuv pool:
// an EngineThread owns one std::thread that runs jobs in submission order (one decoder's
// state is touched by one thread only); runDetached() starts a one-shot thread (ingest).
// Results travel back through a thread-safe function and settle a Promise on the JS thread.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace vg {

// Runs on the JS thread to turn a finished job into a JS value (may throw Napi::Error).
using Settle = std::function<Napi::Value(Napi::Env)>;
// Runs on an engine thread; throws VgError (or anything) to reject.
using Work = std::function<Settle()>;

class EngineThread {
 public:
  EngineThread(Napi::Env env, const std::string& name);
  ~EngineThread();
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  Napi::Promise submit(Napi::Env env, Work work);
  // Finishes queued jobs and joins the thread. Call on the JS thread.
  void stop();

  struct Job;
  struct Shared;

 private:
  void loop();
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  bool stopped_ = false;
};

Napi::Promise runDetached(Napi::Env env, const std::string& name, Work work);

// Throws a JS Error carrying `code` (the TypeScript layer turns it into a VidgraphError).
[[noreturn]] void throwCoded(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message);

}  // namespace vg
