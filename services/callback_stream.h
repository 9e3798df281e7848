#ifndef PLANTMON_SERVICES_CALLBACK_STREAM_H_
#define PLANTMON_SERVICES_CALLBACK_STREAM_H_

// The life of a plantmon stream on gRPC's callback API, shared by every
// streaming method, so that an open stream holds memory and no thread:
//
// - authentication and a stream slot (CallRuntime::OpenStream) happen on the
//   database executor, then Opened() starts the method's first read or write;
// - work that may block (the database) is submitted to that executor with
//   Submit(), each task carrying the call's deadline to PostgreSQL;
// - the call is finished once, by whoever asks first (a read or write
//   callback, a task, a revoked credential, the client's cancellation);
// - the reactor is deleted when gRPC is done with the call (OnDone) and no
//   task is running, after Closed() let the method release what it holds.
//
// `Reactor` is grpc::ServerBidiReactor, ServerReadReactor or
// ServerWriteReactor. The method's reactor derives from this class and calls
// Open() at the end of its constructor.
//
// Tasks never touch the call's context: gRPC frees it after OnDone, which a
// task may outlive. What they need of it (the credential, the deadline) is
// copied when the call starts, and ending() stands in for IsCancelled().

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "postgres/request_deadline.h"
#include "services/grpc_status.h"
#include "services/rpc_service.h"

namespace plantmon::services {

template <typename Reactor>
class CallbackStream : public Reactor {
 public:
  CallbackStream(const CallbackStream&) = delete;
  CallbackStream& operator=(const CallbackStream&) = delete;

  // A client that cancels (or whose deadline passes) while nothing is being
  // read or written is noticed here.
  void OnCancel() override { Stop(absl::CancelledError("the client went away")); }

  void OnDone() override {
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      last = tasks_ == 0;
    }
    if (last) Release();
  }

 protected:
  CallbackStream(CallRuntime& runtime, grpc::CallbackServerContext* context, Access access)
      : runtime_(runtime),
        context_(*context),
        access_(access),
        authorization_(auth::Authenticator::AuthorizationOf(*context)),
        deadline_(CallDeadline(*context)) {}
  ~CallbackStream() override = default;

  // Authenticates and takes a stream slot on the executor, then Opened().
  void Open() {
    Submit([this] { OpenOnExecutor(); });
  }

  // On the executor, with lease() valid: start the first read or write.
  virtual void Opened() = 0;
  // Once, after OnDone and the last task: release what the method holds.
  virtual void Closed() {}

  const StreamLease& lease() const { return *lease_; }
  // Only in gRPC's callbacks (On...Done, OnCancel), never in a task.
  grpc::CallbackServerContext& context() { return context_; }
  // True once the call is finishing (cancelled, failed, revoked or done):
  // work in progress should stop, as nothing more reaches the client.
  bool ending() const { return finished_.load(); }

  // Runs `task` on the database executor. When the executor is full the
  // call ends with the concurrency refusal instead.
  void Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++tasks_;
    }
    bool submitted = runtime_.SubmitDatabaseWork([this, task = std::move(task)] {
      {
        postgres::ScopedRequestDeadline deadline(deadline_);
        task();
      }
      TaskDone();
    });
    if (!submitted) {
      Stop(runtime_.TooManyCalls());
      TaskDone();
    }
  }

  // Runs `start` (a StartRead, StartWrite, ...) unless the call is already
  // finishing; gRPC forbids starting operations after Finish.
  void IfRunning(const std::function<void()>& start) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finished_) start();
  }

  // Ends the call with `status`, unless it is already ending.
  void Stop(const absl::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
    }
    // Outside the lock: gRPC may run OnDone (on another thread) before
    // Finish returns.
    this->Finish(ToGrpcStatus(status));
  }

  // Guards the method's own state too, when it needs to order it with Stop.
  std::mutex& mutex() { return mu_; }
  bool finished_locked() const { return finished_; }

 private:
  void OpenOnExecutor() {
    absl::StatusOr<auth::Caller> caller = runtime_.AuthenticateHeader(authorization_, access_);
    if (!caller.ok()) {
      Stop(caller.status());
      return;
    }
    absl::StatusOr<std::shared_ptr<StreamLease>> lease =
        runtime_.OpenStream(std::move(authorization_), access_, *caller);
    if (!lease.ok()) {
      Stop(lease.status());
      return;
    }
    lease_ = *std::move(lease);
    lease_->SetOnRevoked([this] { Stop(RevokedCredential()); });
    Opened();
  }

  void TaskDone() {
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last = --tasks_ == 0 && done_;
    }
    if (last) Release();
  }

  // No task runs and gRPC is done: nothing else touches this reactor.
  void Release() {
    if (lease_ != nullptr) runtime_.CloseStream(lease_);
    Closed();
    delete this;
  }

  CallRuntime& runtime_;
  grpc::CallbackServerContext& context_;
  const Access access_;
  std::string authorization_;  // moved into the lease once open
  const absl::Time deadline_;
  // Set by the opening task before any other task is submitted; read-only
  // afterwards.
  std::shared_ptr<StreamLease> lease_;
  std::mutex mu_;
  // Finish called; written under mu_ (so that starting an operation and
  // finishing are ordered), read without it by ending().
  std::atomic<bool> finished_{false};
  bool done_ = false;  // OnDone ran, guarded by mu_
  int tasks_ = 0;      // tasks submitted and not yet finished, guarded by mu_
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_CALLBACK_STREAM_H_
