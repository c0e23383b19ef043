#include "engine_thread.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "../video/ffmpeg.h"

namespace vg {

// The route back to the JS thread: a raw N-API thread-safe function whose call_js callback
// settles the job it is given. Posting a job allocates nothing in our code (node-addon-api's
// BlockingCall(data, callback) allocates a wrapper on the calling thread, and a failed
// allocation there, on an engine thread, ends the process).
struct EngineThread::Shared {
  napi_threadsafe_function tsfn = nullptr;
  int pending = 0;  // JS thread only
  // Set when Node finalizes the thread-safe function (environment teardown at exit):
  // from then on it must not be touched.
  std::shared_ptr<std::atomic<bool>> finalized = std::make_shared<std::atomic<bool>>(false);
  void release() {
    if (!finalized->load()) napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
};

struct EngineThread::Queue {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
};

struct EngineThread::Job {
  Work work;  // destroyed on the JS thread, with whatever N-API handles it captured
  Napi::Promise::Deferred deferred;
  std::shared_ptr<Shared> shared;
  Settle settle;
  bool failed = false;
  std::string code, message;
  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Value().Set("code", Napi::String::New(env, code));
  return err;
}

void throwCoded(Napi::Env env, const std::string& code, const std::string& message) {
  throw codedError(env, code, message);
}

void describeCurrentException(std::string* code, std::string* message) noexcept {
  try {
    try {
      throw;
    } catch (const VgError& e) {
      *code = e.code();
      *message = e.what();
    } catch (const std::bad_alloc&) {
      *code = "ERR_RESOURCE";
      *message = "out of memory";
    } catch (const std::length_error& e) {
      *code = "ERR_RESOURCE";
      *message = std::string("a request too large for memory (") + e.what() + ")";
    } catch (const std::system_error& e) {
      const bool exhausted = e.code() == std::errc::resource_unavailable_try_again || e.code() == std::errc::not_enough_memory;
      *code = exhausted ? "ERR_RESOURCE" : "ERR_INTERNAL";
      *message = exhausted ? std::string("the system refused a thread or memory: ") + e.what() : e.what();
    } catch (const std::exception& e) {
      *code = "ERR_INTERNAL";
      *message = e.what();
    } catch (...) {
      *code = "ERR_INTERNAL";
      *message = "an unknown native exception";
    }
  } catch (...) {
    // Describing it needed memory there was none of. Short literals fit in the strings' own
    // inline buffers: assigning them allocates nothing.
    *code = "ERR_RESOURCE";
    *message = "out of memory";
  }
}

namespace {

void settleJob(Napi::Env env, EngineThread::Job* job);

// call_js of the thread-safe function (JS thread). env is null at environment teardown: the
// job's handles belong to a dead environment and it is leaked.
void callJs(napi_env env, napi_value, void*, void* data) {
  if (env == nullptr || data == nullptr) return;
  try {
    settleJob(Napi::Env(env), static_cast<EngineThread::Job*>(data));
  } catch (...) {
    // settleJob rejects the promise on every failure it can describe; nothing may leave here.
  }
}

void finalizeTsfn(napi_env, void* data, void*) {
  auto* finalized = static_cast<std::shared_ptr<std::atomic<bool>>*>(data);
  (*finalized)->store(true);
  delete finalized;
}

std::shared_ptr<EngineThread::Shared> makeShared(Napi::Env env, const std::string& name) {
  auto shared = std::make_shared<EngineThread::Shared>();
  auto* finalized = new std::shared_ptr<std::atomic<bool>>(shared->finalized);
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, "vidgraph:" + name), 0, 1,
                                                       finalized, finalizeTsfn, nullptr, callJs, &shared->tsfn);
  if (status != napi_ok) {
    delete finalized;
    throw VgError("ERR_RESOURCE", "could not create the engine thread's route back to JavaScript (napi status " + std::to_string(status) + ")");
  }
  napi_unref_threadsafe_function(env, shared->tsfn);  // an idle engine thread does not keep Node alive
  return shared;
}

EngineThread::Job* makeJob(Napi::Env env, const std::shared_ptr<EngineThread::Shared>& shared, Work work) {
  auto* job = new EngineThread::Job(env);
  job->work = std::move(work);
  job->shared = shared;
  if (shared->pending++ == 0) napi_ref_threadsafe_function(env, shared->tsfn);
  return job;
}

// Undoes makeJob for a job that never reached a thread (JS thread).
void dropJob(Napi::Env env, EngineThread::Job* job) {
  if (--job->shared->pending == 0) napi_unref_threadsafe_function(env, job->shared->tsfn);
  delete job;
}

// Starts a thread or throws ERR_RESOURCE (the thread itself, or the memory for its start).
template <typename F>
void startThread(F&& body) {
  try {
    std::thread(std::forward<F>(body)).detach();
  } catch (const std::system_error& e) {
    throw VgError("ERR_RESOURCE", std::string("the system refused a new engine thread (") + e.what() + ")");
  } catch (const std::bad_alloc&) {
    throw VgError("ERR_RESOURCE", "the system refused a new engine thread (out of memory)");
  }
}

// Engine side: run the work, catch everything, hand the job to the JS thread. The job's Work
// is left for the JS thread to destroy.
void runJobAndPost(EngineThread::Job* job) {
  try {
    job->settle = job->work();
  } catch (...) {
    job->failed = true;
    describeCurrentException(&job->code, &job->message);
  }
  std::shared_ptr<EngineThread::Shared> shared = job->shared;
  if (shared->finalized->load()) return;  // Node is shutting down: nobody waits for this (the job leaks)
  // Fails only when Node is tearing the function down (the job is leaked, as above).
  napi_call_threadsafe_function(shared->tsfn, job, napi_tsfn_blocking);
}

void settleJob(Napi::Env env, EngineThread::Job* job) {
  std::unique_ptr<EngineThread::Job> owned(job);
  Napi::HandleScope scope(env);
  if (job->failed) {
    job->deferred.Reject(codedError(env, job->code, job->message).Value());
  } else {
    try {
      job->deferred.Resolve(job->settle ? job->settle(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      job->deferred.Reject(e.Value());
    } catch (...) {
      std::string code, message;
      describeCurrentException(&code, &message);
      job->deferred.Reject(codedError(env, code, message).Value());
    }
  }
  job->work = nullptr;
  job->settle = nullptr;
  if (--job->shared->pending == 0) napi_unref_threadsafe_function(env, job->shared->tsfn);
}

void runQueue(std::shared_ptr<EngineThread::Queue> queue, std::shared_ptr<EngineThread::Shared> shared) {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(queue->mutex);
      queue->cv.wait(lock, [&] { return queue->stopping || !queue->jobs.empty(); });
      if (queue->jobs.empty()) break;
      task = std::move(queue->jobs.front());
      queue->jobs.pop_front();
    }
    task();
  }
  shared->release();
}

}  // namespace

EngineThread::EngineThread(Napi::Env env, const std::string& name)
    : shared_(makeShared(env, name)), queue_(std::make_shared<Queue>()) {
  try {
    startThread([queue = queue_, shared = shared_] { runQueue(queue, shared); });
  } catch (...) {
    shared_->release();
    stopped_ = true;
    throw;
  }
}

EngineThread::~EngineThread() { stop(); }

Napi::Promise EngineThread::submit(Napi::Env env, Work work) {
  if (stopped_) throwCoded(env, "ERR_CLOSED", "this object is closed");
  Job* job = makeJob(env, shared_, std::move(work));
  Napi::Promise promise = job->deferred.Promise();
  try {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->jobs.push_back([job] { runJobAndPost(job); });
  } catch (...) {
    dropJob(env, job);  // no room in the queue: nothing waits on a job that never runs
    throw;
  }
  queue_->cv.notify_one();
  return promise;
}

void EngineThread::post(std::function<void()> task) {
  if (stopped_) return;
  try {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->jobs.push_back([task = std::move(task)] {
      try {
        task();
      } catch (...) {
      }
    });
  } catch (...) {
    return;  // out of memory (in a GC finalizer, perhaps): the task is dropped, its state leaked
  }
  queue_->cv.notify_one();
}

void EngineThread::stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->stopping = true;
  }
  queue_->cv.notify_all();
}

Napi::Promise EngineThread::close(Napi::Env env, std::function<void()> release) {
  if (stopped_) {
    auto done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  Napi::Promise done = submit(env, [release = std::move(release)]() -> Settle {
    release();
    return nullptr;
  });
  stop();
  return done;
}

void EngineThread::abandon(Napi::Env env) {
  if (!shared_->finalized->load()) napi_unref_threadsafe_function(env, shared_->tsfn);
  stop();
}

void EngineThread::closeFromFinalizer(std::function<void()> release) {
  post(std::move(release));
  stop();
}

Napi::Promise runDetached(Napi::Env env, const std::string& name, Work work) {
  auto shared = makeShared(env, name);
  EngineThread::Job* job = makeJob(env, shared, std::move(work));
  Napi::Promise promise = job->deferred.Promise();
  try {
    startThread([job, shared] {
      runJobAndPost(job);
      shared->release();
    });
  } catch (...) {
    dropJob(env, job);
    shared->release();
    throw;
  }
  return promise;
}

}  // namespace vg
