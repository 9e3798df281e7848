#ifndef PLANTMON_SERVICES_RPC_SERVICE_H_
#define PLANTMON_SERVICES_RPC_SERVICE_H_

// How a plantmon RPC is executed. A service is a table of handler bodies bound
// by name to the methods of its proto service; the table decides how a call
// runs, authenticates it, enforces the call limits and converts its status
// once. The bodies (validate, authorize, call storage, map) know none of that:
//
//   SignedIn("GetPlant", [this](const auth::Caller& caller,
//                               const v1::GetPlantRequest& request,
//                               v1::Plant* response) -> absl::Status { ... });
//
// Every method uses gRPC's callback API: no thread waits on a call or an
// open stream. Unary bodies and streams' database work run on a bounded
// executor (CallRuntime).

#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/server_context.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/bounded_executor.h"
#include "common/byte_budget.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/message_lite.h"
#include "postgres/message_table.h"
#include "postgres/pipelined_reader.h"
#include "services/auth/authenticator.h"
#include "storage/alert_listener.h"

namespace plantmon::services {

// Limits on what callers can hold at once; each has a default and an
// environment variable (the configuration table in README.md). Over a limit a call ends at
// once with RESOURCE_EXHAUSTED naming it.
struct CallLimits {
  // Unary calls admitted at once, running or waiting for a thread
  // (PLANTMON_MAX_CONCURRENT_CALLS).
  int max_concurrent_calls = 256;
  // Calls that hash a password (sign-up, login, password change) waiting for
  // a hashing thread (PLANTMON_MAX_QUEUED_LOGINS), of which at most
  // kQueuedLoginsPerConnection come from one client connection. Connections
  // take turns, so a client's login waits for about one hash per other
  // waiting connection, however many logins a flooding client has queued.
  int max_queued_logins = 64;
  // Open streams in all (PLANTMON_MAX_OPEN_STREAMS) and per user
  // (PLANTMON_MAX_STREAMS_PER_USER).
  int max_open_streams = 500;
  int max_streams_per_user = 16;
  // Unary responses a client has not read yet, which the server holds until
  // the client's HTTP/2 flow-control window lets them out: in all
  // (PLANTMON_MAX_UNREAD_RESPONSE_MIB) and per client connection
  // (PLANTMON_MAX_UNREAD_RESPONSE_MIB_PER_CONNECTION). A response that would
  // pass either is not sent; its call ends RESOURCE_EXHAUSTED instead. The
  // default per connection holds four full pages (pagination.h caps a
  // response near 4 MiB).
  int max_unread_response_mib = 64;
  int max_unread_response_mib_per_connection = 16;
};

inline constexpr int kQueuedLoginsPerConnection = 4;

// The limits from PLANTMON_MAX_CONCURRENT_CALLS, PLANTMON_MAX_QUEUED_LOGINS,
// PLANTMON_MAX_OPEN_STREAMS, PLANTMON_MAX_STREAMS_PER_USER,
// PLANTMON_MAX_UNREAD_RESPONSE_MIB and
// PLANTMON_MAX_UNREAD_RESPONSE_MIB_PER_CONNECTION; unset ones keep their
// defaults. INVALID_ARGUMENT naming the variable unless each is a
// positive integer.
absl::StatusOr<CallLimits> CallLimitsFromEnv(
    const std::function<std::optional<std::string>(const std::string&)>& env);

// Who may call a method.
enum class Access {
  kPublic,     // anyone (sign-up, login)
  kSignedIn,   // a login token
  kIngestion,  // a login token or an API key
};

// Where a unary body runs.
enum class Work {
  kDatabase,         // the executor sized to the connection pool
  kPasswordHashing,  // the bcrypt executor: one thread per core
};

// An open stream's hold on its slot and its credential. Revoked once, when
// the credential stops being valid (logged out, revoked, expired, account
// disabled); `on_revoked` then runs on the revoking thread.
class StreamLease {
 public:
  // `authorization`: the stream's header, to verify the caller again when
  // its credential changes (the call's context may be gone by then).
  StreamLease(std::string authorization, Access access, auth::Caller caller)
      : authorization_(std::move(authorization)), access_(access), caller_(std::move(caller)) {}

  const auth::Caller& caller() const { return caller_; }
  bool revoked() const { return revoked_.load(); }
  // Runs `on_revoked` now if already revoked. nullptr clears it; once that
  // returns, the old callback is not running and never will.
  void SetOnRevoked(std::function<void()> on_revoked);

 private:
  friend class CallRuntime;
  void Revoke();

  const std::string authorization_;
  const Access access_;
  const auth::Caller caller_;
  std::atomic<bool> revoked_{false};
  std::mutex mu_;
  std::function<void()> on_revoked_;  // guarded by mu_
};

// The status a stream ends with once its lease is revoked.
absl::Status RevokedCredential();

// A unary call's reactor. It keeps the response's share of the
// unread-response budget until gRPC is done with the call, which is once the
// response and its status went out on the connection (or the call ended
// otherwise), and gives it back then.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  explicit UnaryCall(common::ByteBudget& unread_responses) : unread_responses_(unread_responses) {}

  void HoldResponse(std::string connection, int64_t bytes) {
    connection_ = std::move(connection);
    held_bytes_ = bytes;
  }
  void OnDone() override {
    if (held_bytes_ > 0) unread_responses_.Release(connection_, held_bytes_);
    delete this;
  }

 private:
  common::ByteBudget& unread_responses_;
  std::string connection_;
  int64_t held_bytes_ = 0;
};

// The client's deadline, which storage passes on to PostgreSQL.
absl::Time CallDeadline(const grpc::ServerContextBase& context);

// A call answered by one statement on the pipelined reader: the statement
// (from storage), and how its rows become the call's response, which
// `respond` fills. `respond` runs on the reader's thread or the submitter's
// (PipelinedRead::done), after the body that described the call returned:
// what it uses must outlive the call, as the response does.
struct ReaderCall {
  postgres::Statement statement;
  std::function<absl::Status(const PGresult* rows)> respond;
};

// The executors and counters every call goes through; shared by all services
// of one server.
class CallRuntime {
 public:
  // `database_threads`: as many as the pool keeps connections, so a running
  // body never waits for one. A call that waited `database_wait` (the pool's
  // acquire timeout) for a thread is refused as the pool would refuse it.
  // `reader` runs the reads of StartRead (keyed reads and list pages).
  CallRuntime(auth::Authenticator& authenticator, const CallLimits& limits, int database_threads,
              absl::Duration database_wait, std::unique_ptr<postgres::PipelinedReader> reader);
  ~CallRuntime();

  const CallLimits& limits() const { return limits_; }

  // For the metrics endpoint: unary calls admitted and not yet finished, those
  // of them still waiting for a database thread, and open streams.
  int calls_in_flight() const { return calls_in_flight_.load(); }
  int calls_waiting() const { return database_.queued(); }
  // Reads (keyed reads, list pages) on the pipelined reader not yet
  // answered.
  int keyed_reads_pending() const { return reader_->pending(); }
  int open_streams() const;
  // Bytes of unary responses sent but not yet read by clients (ByteBudget).
  int64_t unread_response_bytes() const { return unread_responses_.total(); }

  // A reactor for a new unary call.
  UnaryCall* NewUnaryCall() { return new UnaryCall(unread_responses_); }

  // Admits a unary call, runs `body` on the executor for `work` and finishes
  // `call` with its status. `body` gets the authenticated caller (nullptr
  // for kPublic) and fills `response`, which is sent only if it fits the
  // unread-response budget.
  void StartUnary(grpc::CallbackServerContext* context, UnaryCall* call,
                  const google::protobuf::MessageLite& response, Access access, Work work,
                  std::function<absl::Status(const auth::Caller*)> body);

  // Admits a unary call whose body only describes one read (`describe`
  // validates, authorizes and asks storage for the statement). The caller is
  // authenticated on gRPC's thread when the credential cache can tell, else
  // on the database executor; the read then runs on the pipelined reader,
  // whose answer fills `response` (ReaderCall::respond) and finishes `call`
  // (on the reader's thread, or on this one when the reader was idle and the
  // answer came at once). No thread waits for the database meanwhile.
  void StartRead(grpc::CallbackServerContext* context, UnaryCall* call,
                 const google::protobuf::MessageLite& response, Access access,
                 std::function<absl::StatusOr<ReaderCall>(const auth::Caller&)> describe);

  // For streams on the callback API: authentication from the header the
  // stream kept (auth::Authenticator::AuthorizationOf), a stream slot and its
  // lease, and database work on the executor (false when it is full).
  absl::StatusOr<auth::Caller> AuthenticateHeader(absl::string_view authorization, Access access);
  absl::StatusOr<std::shared_ptr<StreamLease>> OpenStream(std::string authorization, Access access,
                                                          const auth::Caller& caller);
  void CloseStream(const std::shared_ptr<StreamLease>& lease);
  bool SubmitDatabaseWork(std::function<void()> work);

  // The listener's report of a credential change: the authenticator's cache
  // forgets the credential, then every open stream it concerns is verified
  // again and revoked unless it still passes. Also turns the cache on and off
  // as the listener starts and stops hearing changes.
  void OnCredentialChange(const storage::AlertListener::CredentialChange& change);

  // Runs the tasks still queued and waits for them: after the gRPC server is
  // gone, streams may have left tasks that use the backends.
  void DrainExecutors();

  // The refusal of a call over PLANTMON_MAX_CONCURRENT_CALLS.
  absl::Status TooManyCalls() const;

 private:
  // Counts `call` among the calls in flight, or finishes it RESOURCE_EXHAUSTED
  // (false) when PLANTMON_MAX_CONCURRENT_CALLS are.
  bool Admit(UnaryCall* call);
  absl::Status RunAuthenticated(const grpc::ServerContextBase& context, Access access,
                                const std::function<absl::Status(const auth::Caller*)>& body);
  // A unary call's last step: the response is held against the
  // unread-response budget (when `status` is OK) and `call` finished.
  void FinishUnary(grpc::CallbackServerContext* context, UnaryCall* call,
                   const google::protobuf::MessageLite& response, absl::Status status);
  // Runs `run` on the executor for `work`, or `finish` with why it could not
  // (its deadline, the pool's wait, a full queue).
  void Schedule(grpc::CallbackServerContext* context, Work work, absl::Time deadline,
                std::function<void()> run, const std::function<void(absl::Status)>& finish);
  // Reserves the budget for `response` on `call` (RESOURCE_EXHAUSTED naming
  // the limit when it does not fit).
  absl::Status HoldResponse(grpc::CallbackServerContext& context, UnaryCall& call,
                            const google::protobuf::MessageLite& response);
  // Ends the streams whose login session has expired (a thread, 4 times a
  // second).
  void RevokeExpiredStreams();

  auth::Authenticator& authenticator_;
  const CallLimits limits_;
  const absl::Duration database_wait_;
  std::atomic<int> calls_in_flight_{0};
  common::ByteBudget unread_responses_;
  mutable std::mutex streams_mu_;
  // Open streams and their count per user, guarded by streams_mu_.
  absl::flat_hash_map<StreamLease*, std::shared_ptr<StreamLease>> streams_;
  absl::flat_hash_map<int64_t, int> streams_by_user_;
  std::condition_variable stop_expiry_;
  bool stopping_ = false;  // guarded by streams_mu_
  std::thread expiry_;
  // Last, so that they drain (and finish their calls) before the rest goes;
  // the reader after the executors, which may still hand it reads.
  std::unique_ptr<postgres::PipelinedReader> reader_;
  common::BoundedExecutor database_;
  common::BoundedExecutor hashing_;
};

namespace internal {

// The status a unary request that did not parse gets, set for the one
// synchronous call into the handler below (see CheckedHandler).
const grpc::Status* CurrentRequestProblem();
void SetCurrentRequestProblem(const grpc::Status* problem);
grpc::Status RequestProblem(bool had_message);

// gRPC's callback handlers for methods with one request message (unary and
// server-streaming) answer a request that did not parse, or a call that sent
// no request message at all, with UNIMPLEMENTED and no message. This one
// passes such a call on as if it had parsed, with the problem set for the
// reactor factory, which answers INVALID_ARGUMENT saying what was wrong.
// `Inner` is grpc::internal::CallbackUnaryHandler or
// CallbackServerStreamingHandler.
template <typename Inner>
class CheckedHandler final : public grpc::internal::MethodHandler {
 public:
  template <typename GetReactor>
  explicit CheckedHandler(GetReactor get_reactor) : inner_(std::move(get_reactor)) {}

  void RunHandler(const HandlerParameter& param) override {
    if (param.status.ok()) {
      inner_.RunHandler(param);
      return;
    }
    SetCurrentRequestProblem(&param.status);
    inner_.RunHandler(HandlerParameter(param.call, param.server_context, param.request,
                                       grpc::Status::OK, param.internal_data,
                                       param.call_requester));
    SetCurrentRequestProblem(nullptr);
  }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* request, grpc::Status* status,
                    void** handler_data) override {
    void* parsed = inner_.Deserialize(call, request, status, handler_data);
    if (!status->ok()) *status = RequestProblem(request != nullptr);
    return parsed;
  }

 private:
  Inner inner_;
};

// A server stream that ends at once with `status`.
template <typename Response>
class RefusedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

// The request and response types of a body, from its call operator.
template <typename Method>
struct BodyTraits;
template <typename Class, typename Result, typename Request, typename Response>
struct BodyTraits<Result (Class::*)(const auth::Caller&, const Request&, Response*) const> {
  using RequestType = Request;
  using ResponseType = Response;
};
template <typename Class, typename Result, typename Request, typename Response>
struct BodyTraits<Result (Class::*)(const Request&, Response*) const> {
  using RequestType = Request;
  using ResponseType = Response;
};

// A SignedInRead body, which returns its read instead of filling a response.
template <typename Class, typename Result, typename Request>
struct BodyTraits<Result (Class::*)(const auth::Caller&, const Request&) const> {
  using RequestType = Request;
};

}  // namespace internal

class RpcService : public grpc::Service {
 public:
  // `service_full_name` names a service of the generated descriptor pool,
  // e.g. v1::PlantService::service_full_name().
  RpcService(absl::string_view service_full_name, CallRuntime& runtime);

  // OK when every method of the proto service has a body, with the request
  // and response types the proto declares. The server checks it at start.
  absl::Status CheckComplete() const;

 protected:
  // `body(const auth::Caller&, const Request&, Response*)` for a signed-in
  // caller; Ingestion also accepts an API key.
  template <typename Body>
  void SignedIn(absl::string_view method, Body body, Work work = Work::kDatabase) {
    BindCallerUnary(method, Access::kSignedIn, work, std::move(body));
  }
  template <typename Body>
  void Ingestion(absl::string_view method, Body body) {
    BindCallerUnary(method, Access::kIngestion, Work::kDatabase, std::move(body));
  }
  // `body(const auth::Caller&, const Request&)` for a signed-in caller,
  // returning the one-row read that answers the call
  // (absl::StatusOr<postgres::MessageRead>, from storage); the response is
  // that row. Such a call holds no thread while the database works
  // (CallRuntime::StartRead).
  template <typename Response, typename Body>
  void SignedInRead(absl::string_view method, Body body) {
    using Request = typename internal::BodyTraits<decltype(&Body::operator())>::RequestType;
    BindRead<Request, Response>(
        method,
        [body = std::move(body)](const auth::Caller& caller, const Request& request,
                                 Response* response) -> absl::StatusOr<ReaderCall> {
          absl::StatusOr<postgres::MessageRead> read = body(caller, request);
          if (!read.ok()) return read.status();
          // The statement travels to the reader; respond keeps the table
          // and the answer for no row.
          postgres::Statement statement = std::move(read->statement);
          return ReaderCall{std::move(statement),
                            [read = *std::move(read), response](const PGresult* rows) {
                              return postgres::ReadMessageRow(read, rows, response);
                            }};
        });
  }
  // `body(const auth::Caller&, const Request&, Response*)` for a signed-in
  // caller, returning the one statement that answers the call as a
  // ReaderCall (a list page: PageByIdRead, services/handler.h), which
  // fills the response when the rows come. Such a call holds no thread
  // while the database works either.
  template <typename Body>
  void SignedInListRead(absl::string_view method, Body body) {
    using Traits = internal::BodyTraits<decltype(&Body::operator())>;
    BindRead<typename Traits::RequestType, typename Traits::ResponseType>(method, std::move(body));
  }

  // `body(const Request&, Response*)`: no credentials needed.
  template <typename Body>
  void Public(absl::string_view method, Body body, Work work = Work::kDatabase) {
    using Traits = internal::BodyTraits<decltype(&Body::operator())>;
    using Request = typename Traits::RequestType;
    using Response = typename Traits::ResponseType;
    BindUnary<Request, Response>(
        method, Access::kPublic, work,
        [body = std::move(body)](const auth::Caller* /*caller*/, const Request& request,
                                 Response* response) { return body(request, response); });
  }

  // Streaming methods, on the callback API: `make` returns the call's
  // reactor (a CallbackStream, services/callback_stream.h), which
  // authenticates and opens its lease through runtime() itself.
  template <typename Request, typename Response>
  void CallbackServerStream(absl::string_view method,
                            std::function<grpc::ServerWriteReactor<Response>*(
                                grpc::CallbackServerContext*, const Request*)>
                                make) {
    AddMethod(NewMethod(method, grpc::internal::RpcMethod::SERVER_STREAMING, *Request::descriptor(),
                        *Response::descriptor(), nullptr));
    MarkMethodCallback(static_cast<int>(bound_.size()) - 1,
                       new internal::CheckedHandler<
                           grpc::internal::CallbackServerStreamingHandler<Request, Response>>(
                           [make = std::move(make)](
                               grpc::CallbackServerContext* context,
                               const Request* request) -> grpc::ServerWriteReactor<Response>* {
                             if (const grpc::Status* problem = internal::CurrentRequestProblem()) {
                               return new internal::RefusedStream<Response>(*problem);
                             }
                             return make(context, request);
                           }));
  }
  template <typename Request, typename Response>
  void CallbackClientStream(
      absl::string_view method,
      std::function<grpc::ServerReadReactor<Request>*(grpc::CallbackServerContext*, Response*)>
          make) {
    AddMethod(NewMethod(method, grpc::internal::RpcMethod::CLIENT_STREAMING, *Request::descriptor(),
                        *Response::descriptor(), nullptr));
    MarkMethodCallback(
        static_cast<int>(bound_.size()) - 1,
        new grpc::internal::CallbackClientStreamingHandler<Request, Response>(std::move(make)));
  }
  template <typename Request, typename Response>
  void CallbackBidiStream(
      absl::string_view method,
      std::function<grpc::ServerBidiReactor<Request, Response>*(grpc::CallbackServerContext*)>
          make) {
    AddMethod(NewMethod(method, grpc::internal::RpcMethod::BIDI_STREAMING, *Request::descriptor(),
                        *Response::descriptor(), nullptr));
    MarkMethodCallback(static_cast<int>(bound_.size()) - 1,
                       new grpc::internal::CallbackBidiHandler<Request, Response>(std::move(make)));
  }
  CallRuntime& runtime() { return runtime_; }

 private:
  template <typename Request, typename Response>
  void BindRead(
      absl::string_view method,
      std::function<absl::StatusOr<ReaderCall>(const auth::Caller&, const Request&, Response*)>
          describe) {
    AddMethod(NewMethod(method, grpc::internal::RpcMethod::NORMAL_RPC, *Request::descriptor(),
                        *Response::descriptor(), nullptr));
    MarkMethodCallback(
        static_cast<int>(bound_.size()) - 1,
        new internal::CheckedHandler<grpc::internal::CallbackUnaryHandler<Request, Response>>(
            [this, describe = std::move(describe)](grpc::CallbackServerContext* context,
                                                   const Request* request, Response* response) {
              UnaryCall* call = runtime_.NewUnaryCall();
              if (const grpc::Status* problem = internal::CurrentRequestProblem()) {
                call->Finish(*problem);
                return call;
              }
              runtime_.StartRead(context, call, *response, Access::kSignedIn,
                                 [describe, request, response](const auth::Caller& caller) {
                                   return describe(caller, *request, response);
                                 });
              return call;
            }));
  }

  template <typename Body>
  void BindCallerUnary(absl::string_view method, Access access, Work work, Body body) {
    using Traits = internal::BodyTraits<decltype(&Body::operator())>;
    using Request = typename Traits::RequestType;
    using Response = typename Traits::ResponseType;
    BindUnary<Request, Response>(
        method, access, work,
        [body = std::move(body)](const auth::Caller* caller, const Request& request,
                                 Response* response) { return body(*caller, request, response); });
  }

  template <typename Request, typename Response>
  void BindUnary(
      absl::string_view method, Access access, Work work,
      std::function<absl::Status(const auth::Caller*, const Request&, Response*)> unbound) {
    auto body = std::make_shared<
        std::function<absl::Status(const auth::Caller*, const Request&, Response*)>>(
        std::move(unbound));
    AddMethod(NewMethod(method, grpc::internal::RpcMethod::NORMAL_RPC, *Request::descriptor(),
                        *Response::descriptor(), nullptr));
    MarkMethodCallback(
        static_cast<int>(bound_.size()) - 1,
        new internal::CheckedHandler<grpc::internal::CallbackUnaryHandler<Request, Response>>(
            [this, access, work, body](grpc::CallbackServerContext* context, const Request* request,
                                       Response* response) {
              UnaryCall* call = runtime_.NewUnaryCall();
              if (const grpc::Status* problem = internal::CurrentRequestProblem()) {
                call->Finish(*problem);
                return call;
              }
              runtime_.StartUnary(context, call, *response, access, work,
                                  [body, request, response](const auth::Caller* caller) {
                                    return (*body)(caller, *request, response);
                                  });
              return call;
            }));
  }

  // A method of this service by its short name, checked against the proto
  // (mismatches are reported by CheckComplete()).
  grpc::internal::RpcServiceMethod* NewMethod(absl::string_view method,
                                              grpc::internal::RpcMethod::RpcType type,
                                              const google::protobuf::Descriptor& request,
                                              const google::protobuf::Descriptor& response,
                                              grpc::internal::MethodHandler* handler);

  const google::protobuf::ServiceDescriptor* const descriptor_;
  CallRuntime& runtime_;
  // The full method names ("/plantmon.v1.PlantService/GetPlant"); gRPC keeps
  // pointers into them, so they never move.
  std::deque<std::string> bound_;
  std::vector<std::string> problems_;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_RPC_SERVICE_H_
