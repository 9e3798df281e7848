#include "services/rpc_service.h"

#include <algorithm>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "postgres/request_deadline.h"
#include "services/grpc_status.h"
#include "services/status_macros.h"

namespace plantmon::services {
namespace {

int HashingThreads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

// The deadline of a read on the pipelined reader whose call has none
// (StartRead).
constexpr absl::Duration kLongestReaderRead = absl::Seconds(30);

// Set by CheckedHandler for the one synchronous call into the reactor
// factory; no state survives that call.
thread_local const grpc::Status* current_request_problem = nullptr;

}  // namespace

absl::StatusOr<CallLimits> CallLimitsFromEnv(
    const std::function<std::optional<std::string>(const std::string&)>& env) {
  CallLimits limits;
  const std::pair<const char*, int*> variables[] = {
      {"PLANTMON_MAX_CONCURRENT_CALLS", &limits.max_concurrent_calls},
      {"PLANTMON_MAX_QUEUED_LOGINS", &limits.max_queued_logins},
      {"PLANTMON_MAX_OPEN_STREAMS", &limits.max_open_streams},
      {"PLANTMON_MAX_STREAMS_PER_USER", &limits.max_streams_per_user},
      {"PLANTMON_MAX_UNREAD_RESPONSE_MIB", &limits.max_unread_response_mib},
      {"PLANTMON_MAX_UNREAD_RESPONSE_MIB_PER_CONNECTION",
       &limits.max_unread_response_mib_per_connection},
  };
  for (const auto& [name, value] : variables) {
    std::optional<std::string> text = env(name);
    if (!text.has_value()) continue;
    if (!absl::SimpleAtoi(*text, value) || *value < 1) {
      return absl::InvalidArgumentError(absl::StrCat("environment variable ", name,
                                                     " has malformed value \"", *text,
                                                     "\": expected a positive integer"));
    }
  }
  return limits;
}

absl::Time CallDeadline(const grpc::ServerContextBase& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

namespace internal {

const grpc::Status* CurrentRequestProblem() { return current_request_problem; }
void SetCurrentRequestProblem(const grpc::Status* problem) { current_request_problem = problem; }

grpc::Status RequestProblem(bool had_message) {
  if (!had_message) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "the call carried no request message (this method takes exactly one)"};
  }
  return {grpc::StatusCode::INVALID_ARGUMENT,
          "the request is not a valid message (for example, a string field that is not UTF-8)"};
}

}  // namespace internal

CallRuntime::CallRuntime(auth::Authenticator& authenticator, const CallLimits& limits,
                         int database_threads, absl::Duration database_wait,
                         std::unique_ptr<postgres::PipelinedReader> reader)
    : authenticator_(authenticator),
      limits_(limits),
      database_wait_(database_wait),
      unread_responses_(int64_t{limits.max_unread_response_mib} << 20,
                        int64_t{limits.max_unread_response_mib_per_connection} << 20),
      reader_(std::move(reader)),
      // Admission caps what can wait here, so the queue never refuses an
      // admitted call.
      database_(database_threads, limits.max_concurrent_calls),
      hashing_(HashingThreads(), limits.max_queued_logins, kQueuedLoginsPerConnection) {}

absl::Status CallRuntime::RunAuthenticated(
    const grpc::ServerContextBase& context, Access access,
    const std::function<absl::Status(const auth::Caller*)>& body) {
  if (access == Access::kPublic) return body(nullptr);
  absl::StatusOr<auth::Caller> caller = access == Access::kIngestion
                                            ? authenticator_.AuthenticateForIngestion(context)
                                            : authenticator_.Authenticate(context);
  if (!caller.ok()) return caller.status();
  return body(&*caller);
}

int CallRuntime::open_streams() const {
  std::lock_guard<std::mutex> lock(streams_mu_);
  return static_cast<int>(streams_.size());
}

absl::Status CallRuntime::TooManyCalls() const {
  return absl::ResourceExhaustedError(
      absl::StrCat("the server is at its limit of ", limits_.max_concurrent_calls,
                   " calls in progress (PLANTMON_MAX_CONCURRENT_CALLS); retry later"));
}

absl::Status CallRuntime::HoldResponse(grpc::CallbackServerContext& context, UnaryCall& call,
                                       const google::protobuf::MessageLite& response) {
  const auto bytes = static_cast<int64_t>(response.ByteSizeLong());
  std::string connection = context.peer();
  if (!unread_responses_.TryReserve(connection, bytes)) {
    const bool connection_full =
        unread_responses_.held_by(connection) + bytes > unread_responses_.per_key_limit();
    return absl::ResourceExhaustedError(absl::StrCat(
        "the response (", bytes, " bytes) is not sent: responses not yet read by ",
        connection_full ? absl::StrCat("this connection would pass its limit of ",
                                       limits_.max_unread_response_mib_per_connection,
                                       " MiB (PLANTMON_MAX_UNREAD_RESPONSE_MIB_PER_CONNECTION)")
                        : absl::StrCat("clients would pass the server's limit of ",
                                       limits_.max_unread_response_mib,
                                       " MiB (PLANTMON_MAX_UNREAD_RESPONSE_MIB)"),
        "; read the responses already asked for, then retry"));
  }
  call.HoldResponse(std::move(connection), bytes);
  return absl::OkStatus();
}

void CallRuntime::FinishUnary(grpc::CallbackServerContext* context, UnaryCall* call,
                              const google::protobuf::MessageLite& response, absl::Status status) {
  calls_in_flight_.fetch_sub(1);
  if (status.ok()) status = HoldResponse(*context, *call, response);
  call->Finish(ToGrpcStatus(status));
}

void CallRuntime::Schedule(grpc::CallbackServerContext* context, Work work, absl::Time deadline,
                           std::function<void()> run,
                           const std::function<void(absl::Status)>& finish) {
  const bool hashing = work == Work::kPasswordHashing;
  // A waiting call answers by its deadline, and a database call no later
  // than the pool would have refused it.
  const absl::Time start_by = hashing ? deadline : std::min(deadline, absl::Now() + database_wait_);
  auto expired = [this, deadline, finish] {
    if (absl::Now() >= deadline) {
      finish(absl::DeadlineExceededError("the call's deadline passed while it waited to run"));
    } else {
      finish(absl::ResourceExhaustedError(absl::StrCat("no database connection became free within ",
                                                       absl::FormatDuration(database_wait_),
                                                       " (all ", database_.threads(), " in use)")));
    }
  };
  common::BoundedExecutor& executor = hashing ? hashing_ : database_;
  // Hashing takes turns by client connection (the peer address and port).
  if (!executor.TrySubmit(std::move(run), start_by, std::move(expired),
                          hashing ? context->peer() : std::string())) {
    finish(hashing ? absl::ResourceExhaustedError(absl::StrCat(
                         "too many sign-ins are waiting (at most ", limits_.max_queued_logins,
                         " in all, PLANTMON_MAX_QUEUED_LOGINS, and ", kQueuedLoginsPerConnection,
                         " per connection); retry later"))
                   : TooManyCalls());
  }
}

bool CallRuntime::Admit(UnaryCall* call) {
  if (calls_in_flight_.fetch_add(1) < limits_.max_concurrent_calls) return true;
  calls_in_flight_.fetch_sub(1);
  call->Finish(ToGrpcStatus(TooManyCalls()));
  return false;
}

void CallRuntime::StartUnary(grpc::CallbackServerContext* context, UnaryCall* call,
                             const google::protobuf::MessageLite& response, Access access,
                             Work work, std::function<absl::Status(const auth::Caller*)> body) {
  if (!Admit(call)) return;
  const absl::Time deadline = CallDeadline(*context);
  auto finish = [this, context, call, response = &response](absl::Status status) {
    FinishUnary(context, call, *response, std::move(status));
  };
  auto run = [this, context, deadline, finish, access, body = std::move(body)] {
    if (context->IsCancelled()) {
      finish(absl::CancelledError("the call was cancelled while it waited to run"));
      return;
    }
    postgres::ScopedRequestDeadline scoped_deadline(deadline);
    finish(RunAuthenticated(*context, access, body));
  };
  Schedule(context, work, deadline, std::move(run), finish);
}

void CallRuntime::StartRead(
    grpc::CallbackServerContext* context, UnaryCall* call,
    const google::protobuf::MessageLite& response, Access access,
    std::function<absl::StatusOr<ReaderCall>(const auth::Caller&)> describe) {
  if (!Admit(call)) return;
  // A read queues on its connection behind the reads sent before it, so
  // one without a deadline is given one: a keyed read takes well under a
  // millisecond and a list page (at most 500 rows of an owner's index) a
  // few, and one stuck behind a lock (a migration's) must not hold up the
  // others for longer than this.
  const absl::Time deadline = std::min(CallDeadline(*context), absl::Now() + kLongestReaderRead);
  auto finish = [this, context, call, response = &response](absl::Status status) {
    FinishUnary(context, call, *response, std::move(status));
  };
  auto read = [this, deadline, finish, describe = std::move(describe)](const auth::Caller& caller) {
    absl::StatusOr<ReaderCall> described = describe(caller);
    if (!described.ok()) {
      finish(described.status());
      return;
    }
    reader_->Submit(postgres::PipelinedRead{
        std::move(described->statement.sql), std::move(described->statement.params), deadline,
        [finish, respond = std::move(described->respond)](absl::StatusOr<const PGresult*> rows) {
          finish(rows.ok() ? respond(*rows) : rows.status());
        }});
  };
  // A cached credential (or a header that is none) is settled here, on
  // gRPC's thread; only a lookup goes to the database executor.
  std::optional<absl::StatusOr<auth::Caller>> settled =
      authenticator_.AuthenticateWithoutDatabase(*context, access == Access::kIngestion);
  if (settled.has_value()) {
    if (!settled->ok()) {
      finish(settled->status());
    } else {
      read(**settled);
    }
    return;
  }
  auto run = [this, context, deadline, access, finish, read = std::move(read)] {
    if (context->IsCancelled()) {
      finish(absl::CancelledError("the call was cancelled while it waited to run"));
      return;
    }
    postgres::ScopedRequestDeadline scoped_deadline(deadline);
    absl::Status refused = RunAuthenticated(*context, access, [&read](const auth::Caller* caller) {
      read(*caller);
      return absl::OkStatus();
    });
    if (!refused.ok()) finish(std::move(refused));
  };
  Schedule(context, Work::kDatabase, deadline, std::move(run), finish);
}

absl::Status RevokedCredential() {
  return absl::UnauthenticatedError(
      "the stream's credential is no longer valid (logged out, revoked, expired or the account "
      "disabled); sign in again");
}

void StreamLease::SetOnRevoked(std::function<void()> on_revoked) {
  std::lock_guard<std::mutex> lock(mu_);
  on_revoked_ = std::move(on_revoked);
  if (on_revoked_ && revoked_.load()) on_revoked_();
}

void StreamLease::Revoke() {
  std::lock_guard<std::mutex> lock(mu_);
  if (revoked_.exchange(true)) return;
  if (on_revoked_) on_revoked_();
}

CallRuntime::~CallRuntime() {
  {
    std::lock_guard<std::mutex> lock(streams_mu_);
    stopping_ = true;
  }
  stop_expiry_.notify_all();
  if (expiry_.joinable()) expiry_.join();
}

void CallRuntime::DrainExecutors() {
  database_.Shutdown();
  hashing_.Shutdown();
  reader_->Shutdown();
}

absl::StatusOr<auth::Caller> CallRuntime::AuthenticateHeader(absl::string_view authorization,
                                                             Access access) {
  return authenticator_.AuthenticateHeader(authorization, access == Access::kIngestion);
}

absl::StatusOr<std::shared_ptr<StreamLease>> CallRuntime::OpenStream(std::string authorization,
                                                                     Access access,
                                                                     const auth::Caller& caller) {
  std::lock_guard<std::mutex> lock(streams_mu_);
  if (static_cast<int>(streams_.size()) >= limits_.max_open_streams) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the server is at its limit of ", limits_.max_open_streams,
                     " open streams (PLANTMON_MAX_OPEN_STREAMS); retry later"));
  }
  int& mine = streams_by_user_[caller.user_id()];
  if (mine >= limits_.max_streams_per_user) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this account already has ", mine, " open streams, the limit per user ",
                     "(PLANTMON_MAX_STREAMS_PER_USER); close one first"));
  }
  ++mine;
  auto lease = std::make_shared<StreamLease>(std::move(authorization), access, caller);
  streams_.emplace(lease.get(), lease);
  if (!expiry_.joinable()) expiry_ = std::thread([this] { RevokeExpiredStreams(); });
  return lease;
}

void CallRuntime::CloseStream(const std::shared_ptr<StreamLease>& lease) {
  lease->SetOnRevoked(nullptr);
  std::lock_guard<std::mutex> lock(streams_mu_);
  if (streams_.erase(lease.get()) == 0) return;
  auto mine = streams_by_user_.find(lease->caller().user_id());
  if (mine != streams_by_user_.end() && --mine->second == 0) streams_by_user_.erase(mine);
}

bool CallRuntime::SubmitDatabaseWork(std::function<void()> work) {
  return database_.TrySubmit(std::move(work));
}

void CallRuntime::OnCredentialChange(const storage::AlertListener::CredentialChange& change) {
  using Change = storage::AlertListener::CredentialChange;
  auth::CredentialKind kind = auth::CredentialKind::kUser;
  switch (change.kind) {
    case Change::kListening:
    case Change::kNotListening:
      authenticator_.cache().SetTrusted(change.kind == Change::kListening);
      return;
    case Change::kUser:
      kind = auth::CredentialKind::kUser;
      break;
    case Change::kSession:
      kind = auth::CredentialKind::kSession;
      break;
    case Change::kApiKey:
      kind = auth::CredentialKind::kApiKey;
      break;
  }
  authenticator_.cache().Forget(kind, change.id);
  std::vector<std::shared_ptr<StreamLease>> concerned;
  {
    std::lock_guard<std::mutex> lock(streams_mu_);
    for (const auto& [raw, lease] : streams_) {
      if (lease->caller().Uses(kind, change.id)) concerned.push_back(lease);
    }
  }
  // The cache has dropped the credential, so this asks the database. A
  // change that leaves it valid (a profile edit) keeps the stream; an error
  // other than UNAUTHENTICATED (the database unreachable) keeps it too, as
  // it would not have stopped a new call for the caller's sake.
  for (const std::shared_ptr<StreamLease>& lease : concerned) {
    absl::StatusOr<auth::Caller> still = AuthenticateHeader(lease->authorization_, lease->access_);
    if (!still.ok() && still.status().code() == absl::StatusCode::kUnauthenticated) {
      lease->Revoke();
    }
  }
}

void CallRuntime::RevokeExpiredStreams() {
  std::unique_lock<std::mutex> lock(streams_mu_);
  while (!stopping_) {
    stop_expiry_.wait_for(lock, std::chrono::milliseconds(250));
    const absl::Time now = absl::Now();
    std::vector<std::shared_ptr<StreamLease>> expired;
    for (const auto& [raw, lease] : streams_) {
      if (lease->caller().expires_at <= now && !lease->revoked()) expired.push_back(lease);
    }
    lock.unlock();
    for (const std::shared_ptr<StreamLease>& lease : expired) lease->Revoke();
    lock.lock();
  }
}

RpcService::RpcService(absl::string_view service_full_name, CallRuntime& runtime)
    : descriptor_(google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service_full_name))),
      runtime_(runtime) {
  if (descriptor_ == nullptr) {
    problems_.push_back(absl::StrCat("no proto service ", service_full_name));
  }
}

grpc::internal::RpcServiceMethod* RpcService::NewMethod(
    absl::string_view method, grpc::internal::RpcMethod::RpcType type,
    const google::protobuf::Descriptor& request, const google::protobuf::Descriptor& response,
    grpc::internal::MethodHandler* handler) {
  const std::string service_name =
      descriptor_ == nullptr ? std::string("?") : descriptor_->full_name();
  bound_.push_back(absl::StrCat("/", service_name, "/", method));
  const google::protobuf::MethodDescriptor* declared =
      descriptor_ == nullptr ? nullptr : descriptor_->FindMethodByName(std::string(method));
  if (declared == nullptr) {
    problems_.push_back(absl::StrCat(bound_.back(), " is not in the proto"));
  } else if (declared->input_type() != &request || declared->output_type() != &response) {
    problems_.push_back(absl::StrCat(bound_.back(), " is bound with other message types"));
  } else {
    const bool streams_in = type == grpc::internal::RpcMethod::CLIENT_STREAMING ||
                            type == grpc::internal::RpcMethod::BIDI_STREAMING;
    const bool streams_out = type == grpc::internal::RpcMethod::SERVER_STREAMING ||
                             type == grpc::internal::RpcMethod::BIDI_STREAMING;
    if (declared->client_streaming() != streams_in || declared->server_streaming() != streams_out) {
      problems_.push_back(absl::StrCat(bound_.back(), " is bound with another streaming kind"));
    }
  }
  return new grpc::internal::RpcServiceMethod(bound_.back().c_str(), type, handler);
}

absl::Status RpcService::CheckComplete() const {
  std::vector<std::string> problems = problems_;
  if (descriptor_ != nullptr) {
    for (int i = 0; i < descriptor_->method_count(); ++i) {
      const std::string name =
          absl::StrCat("/", descriptor_->full_name(), "/", descriptor_->method(i)->name());
      if (std::find(bound_.begin(), bound_.end(), name) == bound_.end()) {
        problems.push_back(absl::StrCat(name, " has no handler"));
      }
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InternalError(absl::StrJoin(problems, "; "));
}

}  // namespace plantmon::services
