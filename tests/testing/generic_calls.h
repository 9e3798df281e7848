#ifndef PLANTMON_TESTS_TESTING_GENERIC_CALLS_H_
#define PLANTMON_TESTS_TESTING_GENERIC_CALLS_H_

// Calls any plantmon method by name with request bytes, for tests (and the
// handler fuzzer) that go over every method. Each call runs on a completion
// queue the calling thread drains, not on gRPC's callback threads: the call's
// state then never crosses threads through gRPC's own synchronization, which
// ThreadSanitizer builds cannot see (Debian's gRPC is not instrumented).

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"

namespace plantmon::testing {

struct MethodInfo {
  std::string path;  // "/plantmon.v1.UserService/GetUser"
  const google::protobuf::MethodDescriptor* descriptor;

  bool streaming() const {
    return descriptor->client_streaming() || descriptor->server_streaming();
  }
  const google::protobuf::Descriptor* request() const { return descriptor->input_type(); }
};

// Every method of the five plantmon services, in declaration order.
std::vector<MethodInfo> PlantmonMethods();

// A unary call with `request` as the serialized message. A call that does
// not complete within `timeout` plus a grace period is reported as
// DEADLINE_EXCEEDED with a message saying so.
grpc::Status CallUnary(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                       const std::string& authorization, const std::string& request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A streaming call: sends `requests`, closes its side, then reads until the
// server ends the stream or stays quiet for `quiet_period` (WatchAlerts stays
// open; it is cancelled then). *stuck is set if an operation outlived its
// cancellation.
grpc::Status CallStreaming(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
                           const std::string& authorization,
                           const std::vector<std::string>& requests,
                           std::chrono::milliseconds quiet_period, bool* stuck,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace plantmon::testing

#endif  // PLANTMON_TESTS_TESTING_GENERIC_CALLS_H_
