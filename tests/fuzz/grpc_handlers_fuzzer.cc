// libFuzzer target over the gRPC handlers' entry points. Every method of the
// five plantmon services is called through a real server on port 0 over a
// fresh PostgreSQL database (PLANTMON_TEST_PG*, as in the tests; tools/fuzz
// starts a throwaway cluster). Each input picks a method and credentials, and
// the request is either the input's bytes taken as protobuf wire format (the
// parser's edge cases) or a message filled field by field from them through
// reflection (requests that parse, so validation, storage and the mapping
// behind them run). A finding is an INTERNAL, UNKNOWN or DATA_LOSS answer, a
// call that hangs, or a sanitizer report in the server.
//
// Built and run by tools/fuzz with clang-14, AddressSanitizer and
// UndefinedBehaviorSanitizer.

#include <fuzzer/FuzzedDataProvider.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/field_setters.h"
#include "tests/testing/generic_calls.h"

namespace plantmon::fuzz {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

using testing::MethodInfo;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "grpc_handlers_fuzzer: %s\n", what.c_str());
  std::abort();
}

// The suite fixture of the API tests, driven by hand: it creates the
// database, starts the server and signs up an administrator, so the
// catalogue's admin-only methods are reachable too.
class Harness : public testing::ApiTest {
 public:
  void TestBody() override {}

  static void Start() {
    StartSuite(/*access_log=*/false);  // a line per execution would drown the output
    if (server_ == nullptr || admin_ == nullptr) Fail("the server did not start");
    methods() = testing::PlantmonMethods();
    if (methods().size() < 50) Fail("the service descriptors are missing");
    for (const MethodInfo& method : methods()) CollectFieldNames(method.request(), 0);
    MakeFixtures();
  }

  // Shuts the server down and drops the database.
  static void Stop() { TearDownTestSuite(); }

  // After an input deleted the administrator or logged it out: a new one, so
  // the next inputs reach past authentication again.
  static void ReplaceAdministrator() {
    static int accounts = 0;
    *admin_ = SignUpAdmin(absl::StrCat("fuzzadmin", ++accounts));
    if (admin_->token.empty()) Fail("could not sign up a new administrator");
  }

  static bool TokenStillValid() { return TokenWorks(admin_->token); }

  // What the server's connections are doing: printed with a hung call.
  static std::string DescribeDatabase() {
    std::string description;
    try {
      for (const auto& row : database_->Query(
               "SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, '-'), "
               "round(extract(epoch FROM now() - xact_start)::numeric, 1), left(query, 160) "
               "FROM pg_stat_activity WHERE datname = current_database() "
               "AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST")) {
        absl::StrAppend(&description, "\n  ", row[0].c_str(), " ", row[1].c_str(), " ",
                        row[2].c_str(), " xact ", row[3].c_str(), " s: ", row[4].c_str());
      }
    } catch (const std::exception& error) {
      absl::StrAppend(&description, "\n  (pg_stat_activity: ", error.what(), ")");
    }
    return description;
  }

  static const std::string& token() { return admin_->token; }
  static const std::shared_ptr<grpc::Channel>& channel() { return channel_; }
  static std::vector<MethodInfo>& methods() {
    static auto* methods = new std::vector<MethodInfo>;
    return *methods;
  }
  // Field names of every request message: candidates for update mask paths.
  static std::vector<std::string>& field_names() {
    static auto* names = new std::vector<std::string>;
    return *names;
  }

 private:
  // A few rows for the fuzzed ids to hit (filled integers favour small ones).
  static void MakeFixtures() {
    for (int i = 1; i <= 2; ++i) {
      v1::DeviceType device_type = MakeDeviceType(absl::StrCat("Fuzz sensor ", i));
      v1::PlantType plant_type = MakePlantType(absl::StrCat("Fuzz fern ", i));
      v1::Device device = MakeDevice(*admin_, device_type.id(), absl::StrCat("fuzz-device-", i));
      v1::Plant plant = MakePlant(*admin_, plant_type.id(), absl::StrCat("Fuzz plant ", i));
      AssignDevice(*admin_, plant.id(), device.id(), "soil_moisture");
      if (MakeDryRule(*admin_, plant.id(), 30).id() == 0) Fail("could not make the fixture rule");
    }
  }

  static void CollectFieldNames(const Descriptor* descriptor, int depth) {
    if (depth > 3) return;
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      field_names().push_back(field->name());
      if (field->message_type() != nullptr) CollectFieldNames(field->message_type(), depth + 1);
    }
  }
};

// Text that is always valid UTF-8 (string fields that are not fail to parse,
// which the wire-format inputs already cover), with quotes, backslashes, NUL
// and multi-byte characters among what the bytes map to.
std::string FuzzedText(FuzzedDataProvider& input) {
  const std::string bytes = input.ConsumeRandomLengthString(300);
  std::string text;
  for (unsigned char byte : bytes) {
    if (byte < 0x80) {
      text.push_back(static_cast<char>(byte));
    } else if (byte < 0xc0) {
      text += "\xc3\xa9";  // é
    } else {
      text += "\xf0\x9f\x8c\xb1";  // a seedling, four bytes
    }
  }
  return text;
}

template <typename T>
T FuzzedInteger(FuzzedDataProvider& input) {
  // Mostly small values, so ids of the fixtures (and 0, the "unset" id) are hit.
  if (input.ConsumeBool()) return static_cast<T>(input.ConsumeIntegralInRange<int>(-1, 8));
  return input.ConsumeIntegral<T>();
}

double FuzzedDouble(FuzzedDataProvider& input) {
  switch (input.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return input.ConsumeIntegralInRange<int>(-50, 150);
    case 1:
      return std::numeric_limits<double>::quiet_NaN();
    case 2:
      return input.ConsumeBool() ? std::numeric_limits<double>::infinity()
                                 : -std::numeric_limits<double>::infinity();
    default:
      return input.ConsumeFloatingPoint<double>();
  }
}

void FillMessage(FuzzedDataProvider& input, Message* message, int depth);

void FillField(FuzzedDataProvider& input, Message* message, const FieldDescriptor* field,
               int depth) {
  using testing::SetBoolField;
  using testing::SetEnumField;
  using testing::SetIntegerField;
  using testing::SetRealField;
  using testing::SetStringField;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
      SetIntegerField(message, field, FuzzedInteger<int32_t>(input));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      SetIntegerField(message, field, FuzzedInteger<int64_t>(input));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      SetRealField(message, field, FuzzedDouble(input));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      SetBoolField(message, field, input.ConsumeBool());
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      // Declared numbers mostly, sometimes one no client should send.
      SetEnumField(message, field,
                   input.ConsumeIntegralInRange<int>(-1, field->enum_type()->value_count() + 1));
      break;
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string value;
      if (field->containing_type()->full_name() == "google.protobuf.FieldMask" &&
          input.ConsumeBool()) {
        const std::vector<std::string>& names = Harness::field_names();
        value = names[input.ConsumeIntegralInRange<size_t>(0, names.size() - 1)];
      } else if (field->name() == "page_token" || field->type() == FieldDescriptor::TYPE_BYTES) {
        value = input.ConsumeRandomLengthString(64);
        if (field->type() != FieldDescriptor::TYPE_BYTES) {
          // Page tokens are base64 text; keep them valid UTF-8 all the same.
          for (char& c : value) c &= 0x7f;
        }
      } else {
        value = FuzzedText(input);
      }
      SetStringField(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      FillMessage(input, testing::MutableMessageField(message, field), depth + 1);
      break;
  }
}

void FillMessage(FuzzedDataProvider& input, Message* message, int depth) {
  if (depth > 4) return;
  const Descriptor* descriptor = message->GetDescriptor();
  for (int i = 0; i < descriptor->field_count() && input.remaining_bytes() > 0; ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (!input.ConsumeBool()) continue;
    const int count = field->is_repeated() ? input.ConsumeIntegralInRange<int>(0, 4) : 1;
    for (int n = 0; n < count; ++n) FillField(input, message, field, depth);
  }
}

// The next request: wire-format bytes as they come, or a filled message.
std::string NextRequest(FuzzedDataProvider& input, const MethodInfo& method) {
  if (input.ConsumeIntegralInRange<int>(0, 3) == 0) {
    return input.ConsumeRandomLengthString(2048);
  }
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<Message> request(factory.GetPrototype(method.request())->New());
  FillMessage(input, request.get(), 0);
  return request->SerializeAsString();
}

}  // namespace
}  // namespace plantmon::fuzz

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  plantmon::fuzz::Harness::Start();
  // libFuzzer ends with exit(): shut the server down (joining its threads)
  // first, or they run on while static objects are destroyed under them.
  std::atexit([] { plantmon::fuzz::Harness::Stop(); });
  return 0;
}

namespace plantmon::fuzz {

// The fuzz entry point's body, inside our namespace.
int FuzzOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const std::vector<MethodInfo>& methods = Harness::methods();
  const MethodInfo& method = methods[input.ConsumeIntegralInRange<size_t>(0, methods.size() - 1)];
  std::string authorization;
  const int credentials = input.ConsumeIntegralInRange<int>(0, 7);
  if (credentials <= 5) {
    authorization = "Bearer " + Harness::token();
  } else if (credentials == 6) {
    authorization = "Bearer " + input.ConsumeRandomLengthString(48);
    // Only what metadata values may hold (printable ASCII): anything else is
    // refused by the client library before it is sent.
    for (char& c : authorization) {
      if (c < 0x20 || c > 0x7e) c = 'x';
    }
  }
  grpc::Status status;
  if (method.streaming()) {
    std::vector<std::string> requests(input.ConsumeIntegralInRange<int>(1, 3));
    for (std::string& request : requests) request = NextRequest(input, method);
    bool stuck = false;
    // WatchAlerts stays open; a quiet tenth of a second ends it.
    status = plantmon::testing::CallStreaming(Harness::channel(), method.path, authorization,
                                              requests, std::chrono::milliseconds(100), &stuck);
    if (stuck) Fail(method.path + ": a stream operation outlived its cancellation");
  } else {
    status = plantmon::testing::CallUnary(Harness::channel(), method.path, authorization,
                                          NextRequest(input, method));
  }
  switch (status.error_code()) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
      Fail(absl::StrCat(method.path, " answered ", status.error_code(), ": ",
                        status.error_message()));
    case grpc::StatusCode::DEADLINE_EXCEEDED:  // a call that hung for 10 s
      Fail(absl::StrCat(method.path, " hung: ", status.error_message(),
                        "; the database's sessions:", Harness::DescribeDatabase()));
    case grpc::StatusCode::UNAUTHENTICATED:
      // Perhaps the input deleted the account or logged it out (or it was
      // just a wrong password given to Login).
      if (credentials <= 5 && !Harness::TokenStillValid()) Harness::ReplaceAdministrator();
      break;
    default:
      break;
  }
  return 0;
}

}  // namespace plantmon::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return plantmon::fuzz::FuzzOneInput(data, size);
}
