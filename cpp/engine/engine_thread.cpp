#include "engine_thread.h"

#include <atomic>

#include "../video/ffmpeg.h"

namespace vg {

struct EngineThread::Shared {
  Napi::ThreadSafeFunction tsfn;
  int pending = 0;  // JS thread only
  // Set when Node finalizes the thread-safe function (environment teardown at exit):
  // from then on it must not be touched.
  std::shared_ptr<std::atomic<bool>> finalized = std::make_shared<std::atomic<bool>>(false);
  void release() {
    if (!finalized->load()) tsfn.Release();
  }
};

struct EngineThread::Job {
  Work work;
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

namespace {

void settleJob(Napi::Env env, Napi::Function, EngineThread::Job* job);

std::shared_ptr<EngineThread::Shared> makeShared(Napi::Env env, const std::string& name) {
  auto shared = std::make_shared<EngineThread::Shared>();
  auto finalized = shared->finalized;
  shared->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                               "vidgraph:" + name, 0, 1, [finalized](Napi::Env) { finalized->store(true); });
  shared->tsfn.Unref(env);  // an idle engine thread does not keep Node alive
  return shared;
}

EngineThread::Job* makeJob(Napi::Env env, const std::shared_ptr<EngineThread::Shared>& shared, Work work) {
  auto* job = new EngineThread::Job(env);
  job->work = std::move(work);
  job->shared = shared;
  if (shared->pending++ == 0) shared->tsfn.Ref(env);
  return job;
}

// Engine side: run the work, catch everything, hand the job to the JS thread.
void runJobAndPost(EngineThread::Job* job) {
  try {
    job->settle = job->work();
  } catch (const VgError& e) {
    job->failed = true;
    job->code = e.code();
    job->message = e.what();
  } catch (const std::bad_alloc&) {
    job->failed = true;
    job->code = "ERR_OUT_OF_MEMORY";
    job->message = "out of memory";
  } catch (const std::exception& e) {
    job->failed = true;
    job->code = "ERR_INTERNAL";
    job->message = e.what();
  }
  job->work = nullptr;
  std::shared_ptr<EngineThread::Shared> shared = job->shared;
  if (shared->finalized->load()) return;  // Node is shutting down: nobody waits for this
  shared->tsfn.BlockingCall(job, [](Napi::Env env, Napi::Function fn, EngineThread::Job* j) { settleJob(env, fn, j); });
}

void settleJob(Napi::Env env, Napi::Function, EngineThread::Job* job) {
  std::unique_ptr<EngineThread::Job> owned(job);
  if (env != nullptr) {
    Napi::HandleScope scope(env);
    if (job->failed) {
      job->deferred.Reject(codedError(env, job->code, job->message).Value());
    } else {
      try {
        job->deferred.Resolve(job->settle ? job->settle(env) : env.Undefined());
      } catch (const Napi::Error& e) {
        job->deferred.Reject(e.Value());
      }
    }
    if (--job->shared->pending == 0) job->shared->tsfn.Unref(env);
  }
}
}  // namespace

EngineThread::EngineThread(Napi::Env env, const std::string& name) : shared_(makeShared(env, name)) {
  thread_ = std::thread([this] { loop(); });
}

EngineThread::~EngineThread() {
  if (!stopped_) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    shared_->release();
  }
}

void EngineThread::loop() {
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = queue_.front();
      queue_.pop_front();
    }
    runJobAndPost(job);
  }
}

Napi::Promise EngineThread::submit(Napi::Env env, Work work) {
  if (stopped_) throwCoded(env, "ERR_BAD_ARGUMENT", "this object is closed");
  Job* job = makeJob(env, shared_, std::move(work));
  Napi::Promise promise = job->deferred.Promise();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
  }
  cv_.notify_one();
  return promise;
}

void EngineThread::stop() {
  if (stopped_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  shared_->release();
  stopped_ = true;
}

Napi::Promise runDetached(Napi::Env env, const std::string& name, Work work) {
  auto shared = makeShared(env, name);
  EngineThread::Job* job = makeJob(env, shared, std::move(work));
  Napi::Promise promise = job->deferred.Promise();
  std::thread([job, shared] {
    runJobAndPost(job);
    shared->release();
  }).detach();
  return promise;
}

}  // namespace vg
