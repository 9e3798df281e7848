#include "tests/testing/generic_calls.h"

#include <grpcpp/completion_queue.h>
#include <grpcpp/generic/generic_stub.h>

#include "absl/strings/str_cat.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "plantmon/v1/device.grpc.pb.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"

namespace plantmon::testing {
namespace {

// The generated names, as the server registers them.
const char* const kServices[] = {
    v1::UserService::service_full_name(), v1::DeviceService::service_full_name(),
    v1::PlantService::service_full_name(), v1::AlertService::service_full_name(),
    v1::TelemetryService::service_full_name()};

// How long past its deadline a call may take to report it.
constexpr std::chrono::seconds kGrace(5);

std::unique_ptr<grpc::ClientContext> NewContext(const std::string& authorization,
                                                std::chrono::milliseconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  if (!authorization.empty()) context->AddMetadata("authorization", authorization);
  return context;
}

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

enum class Outcome { kOk, kFailed, kTimedOut };

// Waits for the one operation in flight on `queue`.
Outcome Await(grpc::CompletionQueue& queue, std::chrono::milliseconds timeout) {
  void* tag = nullptr;
  bool ok = false;
  switch (queue.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + timeout)) {
    case grpc::CompletionQueue::GOT_EVENT:
      return ok ? Outcome::kOk : Outcome::kFailed;
    case grpc::CompletionQueue::TIMEOUT:
      return Outcome::kTimedOut;
    case grpc::CompletionQueue::SHUTDOWN:
      break;
  }
  return Outcome::kFailed;
}

void Drain(grpc::CompletionQueue& queue) {
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }
}

grpc::Status NeverCompleted(const std::string& path) {
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                      absl::StrCat(path, " did not complete within its deadline"));
}

}  // namespace

std::vector<MethodInfo> PlantmonMethods() {
  std::vector<MethodInfo> methods;
  for (const char* name : kServices) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) continue;  // callers check the count
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(
          {absl::StrCat("/", name, "/", service->method(i)->name()), service->method(i)});
    }
  }
  return methods;
}

grpc::Status CallUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                       const std::string& authorization, const std::string& request,
                       std::chrono::milliseconds timeout) {
  grpc::GenericStub stub(channel);
  std::unique_ptr<grpc::ClientContext> context = NewContext(authorization, timeout);
  grpc::CompletionQueue queue;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      stub.PrepareUnaryCall(context.get(), path, ToByteBuffer(request), &queue);
  call->StartCall();
  call->Finish(&response, &status, nullptr);
  const Outcome outcome = Await(queue, timeout + kGrace);
  if (outcome == Outcome::kTimedOut) {
    context->TryCancel();
    Await(queue, kGrace);
    status = NeverCompleted(path);
  }
  Drain(queue);
  return status;
}

grpc::Status CallStreaming(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                           const std::string& authorization,
                           const std::vector<std::string>& requests,
                           std::chrono::milliseconds quiet_period, bool* stuck,
                           std::chrono::milliseconds timeout) {
  grpc::GenericStub stub(channel);
  std::unique_ptr<grpc::ClientContext> context = NewContext(authorization, timeout);
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(context.get(), path, &queue);
  const std::chrono::milliseconds step = timeout + kGrace;
  call->StartCall(nullptr);
  Outcome outcome = Await(queue, step);
  for (size_t i = 0; outcome == Outcome::kOk && i < requests.size(); ++i) {
    call->Write(ToByteBuffer(requests[i]), nullptr);
    outcome = Await(queue, step);
  }
  if (outcome == Outcome::kOk) {
    call->WritesDone(nullptr);
    outcome = Await(queue, step);
  }
  for (int reads = 0; outcome == Outcome::kOk && reads < 64; ++reads) {
    grpc::ByteBuffer response;
    call->Read(&response, nullptr);
    outcome = Await(queue, quiet_period);
    if (outcome == Outcome::kTimedOut) {
      // Quiet: cancel, after which the read must end at once.
      context->TryCancel();
      outcome = Await(queue, step);
      if (outcome == Outcome::kTimedOut) *stuck = true;
      break;
    }
  }
  if (outcome == Outcome::kTimedOut) {
    context->TryCancel();
    Await(queue, kGrace);
  }
  grpc::Status status;
  call->Finish(&status, nullptr);
  if (Await(queue, step) == Outcome::kTimedOut) {
    *stuck = true;
    status = NeverCompleted(path);
  }
  Drain(queue);
  return status;
}

}  // namespace plantmon::testing
