// The engine's own threads. Work never runs on the Node main thread or the libuv pool:
// an EngineThread owns one std::thread that runs jobs in submission order (one decoder's
// state is touched by one thread only); runDetached() starts a one-shot thread (ingest).
// Results travel back through a thread-safe function and settle a Promise on the JS thread.
//
// N-API handles are created and released on the JS thread only: a job's Work (and whatever
// it captured) is destroyed on the JS thread when the job settles, never on the engine thread.
// Nothing joins an engine thread on the JS thread: stop() lets the queue drain and the thread
// end by itself, so close() and GC finalizers never block the event loop.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>

namespace vg {

// Runs on the JS thread to turn a finished job into a JS value (may throw Napi::Error).
using Settle = std::function<Napi::Value(Napi::Env)>;
// Runs on an engine thread; throws VgError (or anything) to reject.
using Work = std::function<Settle()>;

class EngineThread {
 public:
  // Throws VgError ERR_RESOURCE when the system refuses a new thread.
  EngineThread(Napi::Env env, const std::string& name);
  ~EngineThread();  // stop(): never joins
  EngineThread(const EngineThread&) = delete;
  EngineThread& operator=(const EngineThread&) = delete;

  Napi::Promise submit(Napi::Env env, Work work);
  // Queues a task with no result (safe in a GC finalizer: creates no JS value and never
  // throws). Its exceptions are swallowed. Does nothing once stopped; out of memory, the task
  // is dropped.
  void post(std::function<void()> task);
  // Runs the jobs already queued, then the thread ends by itself. Call on the JS thread; does
  // not wait. Later submit() calls throw ERR_CLOSED.
  void stop();
  // close() of the object this thread serves: queues `release` (which frees the object's
  // engine state on this thread) after the queued jobs, then stops. The promise resolves once
  // `release` ran; when already stopped, at once.
  Napi::Promise close(Napi::Env env, std::function<void()> release);
  // The same from a GC finalizer: no promise, no JS value, no waiting.
  void closeFromFinalizer(std::function<void()> release);
  // Gives up on a thread stuck in a job (a kernel past its timeout): no more jobs, and the stuck
  // one no longer keeps Node alive. Its state is never released (it may still be in use).
  void abandon(Napi::Env env);
  bool stopped() const { return stopped_; }

  struct Job;
  struct Shared;
  struct Queue;

 private:
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Queue> queue_;
  bool stopped_ = false;
};

Napi::Promise runDetached(Napi::Env env, const std::string& name, Work work);

// Throws a JS Error carrying `code` (the TypeScript layer turns it into a VidgraphError).
[[noreturn]] void throwCoded(Napi::Env env, const std::string& code, const std::string& message);
Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message);

// Inside a catch block: the code and message for the exception being handled (VgError keeps
// its code; memory and thread exhaustion are ERR_RESOURCE; anything else ERR_INTERNAL).
void describeCurrentException(std::string* code, std::string* message) noexcept;

// Runs an N-API entry point's body so that no C++ exception can reach std::terminate: every
// exception leaves as a coded JS error.
template <typename F>
auto guarded(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    std::string code, message;
    describeCurrentException(&code, &message);
    throw codedError(env, code, message);
  }
}

}  // namespace vg
