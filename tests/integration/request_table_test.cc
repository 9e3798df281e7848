// The hostile-input table over every request message: for every method of
// every service, every field (and every field of the messages inside it) gets
// each hostile value of its kind — empty, oversized, NUL-bearing and SQL text,
// zero, negative and extreme numbers, NaN and infinities, unknown enum
// numbers, timestamps outside years 1-9999, masks naming unknown or read-only
// fields, bad page tokens — once in an otherwise empty request and once in a
// plausible one (ids of rows the caller owns, valid names and operators), so
// the checks behind the first validation error run too. No answer may be
// INTERNAL, UNKNOWN or DATA_LOSS, every error has a message, and no message
// shows SQL or the driver. Every method also refuses a message over the
// receive limit with RESOURCE_EXHAUSTED.
#include <cmath>
#include <ctime>
#include <functional>
#include <limits>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/field_setters.h"
#include "tests/testing/generic_calls.h"

namespace plantmon {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::IsFieldMaskField;
using ::plantmon::testing::IsTimestampField;
using ::plantmon::testing::MethodInfo;
using ::plantmon::testing::MutableMessageField;
using ::plantmon::testing::SetBoolField;
using ::plantmon::testing::SetEnumField;
using ::plantmon::testing::SetFieldMaskField;
using ::plantmon::testing::SetIntegerField;
using ::plantmon::testing::SetRealField;
using ::plantmon::testing::SetStringField;
using ::plantmon::testing::SetTimestampField;
using ::plantmon::testing::SignedInUser;

// A field inside a request: the chain of fields from the request down.
using FieldPath = std::vector<const FieldDescriptor*>;

// Every field reachable from `descriptor` within two levels of nesting.
// Timestamps and masks are leaves with hostile values of their own.
void CollectPaths(const Descriptor* descriptor, const FieldPath& prefix,
                  std::vector<FieldPath>* out) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    FieldPath path = prefix;
    path.push_back(descriptor->field(i));
    const FieldDescriptor* field = descriptor->field(i);
    if (field->message_type() != nullptr && !IsTimestampField(field) && !IsFieldMaskField(field)) {
      if (path.size() < 3) CollectPaths(field->message_type(), path, out);
    } else {
      out->push_back(path);
    }
  }
}

std::string PathName(const FieldPath& path) {
  std::string name;
  for (const FieldDescriptor* field : path) {
    absl::StrAppend(&name, name.empty() ? "" : ".", field->name());
  }
  return name;
}

// The message that holds the last field of `path`, created on the way
// (repeated message fields get one element).
Message* Holder(Message* request, const FieldPath& path) {
  Message* message = request;
  for (size_t i = 0; i + 1 < path.size(); ++i) message = MutableMessageField(message, path[i]);
  return message;
}

struct HostileValue {
  std::string label;
  std::function<void(Message*, const FieldDescriptor*)> apply;
};

// The hostile values for a field, by its kind.
std::vector<HostileValue> HostileValuesFor(const FieldDescriptor* field) {
  if (IsTimestampField(field)) {
    return {
        {"before year 1", [](Message* m, auto* f) { SetTimestampField(m, f, -62135596801, 0); }},
        {"after year 9999", [](Message* m, auto* f) { SetTimestampField(m, f, 253402300800, 0); }},
        {"negative nanos", [](Message* m, auto* f) { SetTimestampField(m, f, 0, -1); }},
        {"nanos overflow", [](Message* m, auto* f) { SetTimestampField(m, f, 0, 1000000000); }},
    };
  }
  if (IsFieldMaskField(field)) {
    return {
        {"unknown path", [](Message* m, auto* f) { SetFieldMaskField(m, f, "no_such_field"); }},
        {"read-only id", [](Message* m, auto* f) { SetFieldMaskField(m, f, "id"); }},
        {"read-only created_at",
         [](Message* m, auto* f) { SetFieldMaskField(m, f, "created_at"); }},
        {"empty path", [](Message* m, auto* f) { SetFieldMaskField(m, f, ""); }},
        {"nested path", [](Message* m, auto* f) { SetFieldMaskField(m, f, "a.b.c"); }},
    };
  }
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::vector<HostileValue> values = {
          {"empty", [](Message* m, auto* f) { SetStringField(m, f, ""); }},
          {"oversized",
           [](Message* m, auto* f) { SetStringField(m, f, std::string(100000, 'x')); }},
          {"NUL inside", [](Message* m, auto* f) { SetStringField(m, f, std::string("a\0b", 3)); }},
          {"SQL", [](Message* m, auto* f) { SetStringField(m, f, "x'); DROP TABLE users; --"); }},
          {"unicode",
           [](Message* m, auto* f) { SetStringField(m, f, "\xf0\x9f\x8c\xb1 \xc3\xbc"); }},
      };
      if (field->name() == "page_token") {
        values.push_back({"not base64", [](Message* m, auto* f) { SetStringField(m, f, "!!!"); }});
        values.push_back({"forged", [](Message* m, auto* f) { SetStringField(m, f, "AAAAAAAA"); }});
      }
      return values;
    }
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return {
          {"zero", [](Message* m, auto* f) { SetIntegerField(m, f, 0); }},
          {"negative", [](Message* m, auto* f) { SetIntegerField(m, f, -1); }},
          {"huge",
           [](Message* m, auto* f) { SetIntegerField(m, f, std::numeric_limits<int64_t>::max()); }},
          {"most negative",
           [](Message* m, auto* f) { SetIntegerField(m, f, std::numeric_limits<int64_t>::min()); }},
      };
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return {
          {"NaN", [](Message* m, auto* f) { SetRealField(m, f, std::nan("")); }},
          {"+inf", [](Message* m, auto* f) { SetRealField(m, f, INFINITY); }},
          {"-inf", [](Message* m, auto* f) { SetRealField(m, f, -INFINITY); }},
          {"1e308", [](Message* m, auto* f) { SetRealField(m, f, 1e308); }},
      };
    case FieldDescriptor::CPPTYPE_ENUM:
      return {
          {"unknown number", [](Message* m, auto* f) { SetEnumField(m, f, 999); }},
          {"negative number", [](Message* m, auto* f) { SetEnumField(m, f, -1); }},
      };
    case FieldDescriptor::CPPTYPE_BOOL:
      return {{"true", [](Message* m, auto* f) { SetBoolField(m, f, true); }}};
    default:
      return {};
  }
}

// Rows the caller owns, made afresh for each method (earlier methods may
// have deleted them).
struct Fixtures {
  int64_t user = 0;
  int64_t manufacturer = 0;
  int64_t device_type = 0;
  int64_t plant_type = 0;
  int64_t device = 0;
  int64_t plant = 0;
  int64_t assignment = 0;
  int64_t rule = 0;
  int64_t alert = 0;
  int64_t api_key = 0;
  int64_t channel = 0;
};

class RequestTableTest : public ApiTest {
 protected:
  static std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // The caller: an administrator, so catalogue methods get past authorization.
  void EnsureCaller() {
    if (!caller_.token.empty() && TokenWorks(caller_.token)) return;
    // Not "table<n>": PlausibleText makes emails of that shape.
    caller_ = SignUpAdmin(absl::StrCat("tablecaller", ++accounts_));
    ASSERT_FALSE(caller_.token.empty());
  }

  void MakeFixtures() {
    const std::string n = absl::StrCat(++fixture_sets_);
    fixtures_.user = caller_.user.id();
    v1::DeviceType device_type = MakeDeviceType("Table probe " + n);
    fixtures_.device_type = device_type.id();
    fixtures_.manufacturer = device_type.manufacturer_id();
    fixtures_.plant_type = MakePlantType("Table fern " + n).id();
    fixtures_.device = MakeDevice(caller_, fixtures_.device_type, "table-" + n).id();
    fixtures_.plant = MakePlant(caller_, fixtures_.plant_type, "Table plant " + n).id();
    fixtures_.assignment =
        AssignDevice(caller_, fixtures_.plant, fixtures_.device, "soil_moisture").id();
    fixtures_.rule = MakeDryRule(caller_, fixtures_.plant, 30).id();
    ASSERT_NE(fixtures_.rule, 0);
    // A dry reading raises an alert on that rule.
    v1::RecordReadingRequest reading;
    reading.mutable_sensor_data()->set_device_id(fixtures_.device);
    reading.mutable_sensor_data()->set_measurement_value(5);
    reading.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr) - 60);
    v1::SensorData stored;
    ASSERT_TRUE(telemetry_->RecordReading(Context(caller_.token).get(), reading, &stored).ok());
    v1::ListAlertsRequest list;
    list.set_plant_id(fixtures_.plant);
    v1::ListAlertsResponse alerts;
    ASSERT_TRUE(alerts_->ListAlerts(Context(caller_.token).get(), list, &alerts).ok());
    ASSERT_EQ(alerts.alerts_size(), 1);
    fixtures_.alert = alerts.alerts(0).id();
    v1::CreateApiKeyRequest key;
    key.set_name("table key " + n);
    v1::CreateApiKeyResponse made_key;
    ASSERT_TRUE(users_->CreateApiKey(Context(caller_.token).get(), key, &made_key).ok());
    fixtures_.api_key = made_key.api_key().id();
    // A webhook channel (the suite's server delivers none: webhooks.deliver
    // is off, and nothing is sent to this address).
    v1::CreateNotificationChannelRequest channel;
    channel.mutable_notification_channel()->set_name("table channel " + n);
    channel.mutable_notification_channel()->set_url(PlausibleText("url"));
    channel.mutable_notification_channel()->set_secret(PlausibleText("secret"));
    v1::NotificationChannel made_channel;
    ASSERT_TRUE(
        alerts_->CreateNotificationChannel(Context(caller_.token).get(), channel, &made_channel)
            .ok());
    fixtures_.channel = made_channel.id();
  }

  // The id a field most plausibly names: by the field's name, or for a bare
  // `id` by the resource the method is about.
  int64_t PlausibleId(const std::string& method, const std::string& field) const {
    static const std::map<std::string, int64_t Fixtures::*> by_field = {
        {"user_id", &Fixtures::user},
        {"manufacturer_id", &Fixtures::manufacturer},
        {"device_type_id", &Fixtures::device_type},
        {"plant_type_id", &Fixtures::plant_type},
        {"device_id", &Fixtures::device},
        {"gateway_id", &Fixtures::device},
        {"plant_id", &Fixtures::plant},
        {"rule_id", &Fixtures::rule},
        {"device_ids", &Fixtures::device},
        {"ids", &Fixtures::alert},
        {"channel_id", &Fixtures::channel},
    };
    if (auto it = by_field.find(field); it != by_field.end()) return fixtures_.*(it->second);
    // Most specific resource names first ("PlantDeviceAssignment" before "Plant").
    static const std::vector<std::pair<std::string, int64_t Fixtures::*>> by_method = {
        {"PlantDeviceAssignment", &Fixtures::assignment},
        {"PlantType", &Fixtures::plant_type},
        {"DeviceType", &Fixtures::device_type},
        {"Manufacturer", &Fixtures::manufacturer},
        {"AlertRule", &Fixtures::rule},
        {"NotificationChannel", &Fixtures::channel},
        {"Alert", &Fixtures::alert},
        {"ApiKey", &Fixtures::api_key},
        {"Heartbeat", &Fixtures::device},
        {"Plant", &Fixtures::plant},
        {"Device", &Fixtures::device},
        {"User", &Fixtures::user},
    };
    for (const auto& [resource, member] : by_method) {
      if (absl::StrContains(method, resource)) return fixtures_.*member;
    }
    return 1;
  }

  std::string PlausibleText(const std::string& field) {
    const std::string n = absl::StrCat(++texts_);
    if (field == "email") return "table" + n + "@example.com";
    if (field == "username" || field == "login") return "tableuser" + n;
    if (absl::StrContains(field, "password")) return "password-long-enough";
    if (field == "assignment_type" || field == "parameter_name" || field == "sensor_type") {
      return "soil_moisture";
    }
    if (field == "condition_operator") return "<";
    if (field == "rule_type") return "threshold";
    if (field == "unique_identifier") return "table-device-" + n;
    if (field == "data_unit" || field == "measurement_unit") return "%";
    if (field == "page_token") return "";
    if (field == "url") return "https://hooks.example.com/plantmon/" + n;
    if (field == "secret") return "a-table-secret-" + n + "-long-enough";
    if (field == "time_zone") return "Europe/Berlin";
    return "Table " + n;
  }

  // Sets every field within two levels to a plausible value.
  void FillPlausibly(const std::string& method, Message* message, int depth) {
    const Descriptor* descriptor = message->GetDescriptor();
    const Reflection* reflection = message->GetReflection();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* f = descriptor->field(i);
      if (f->containing_oneof() != nullptr &&
          reflection->HasOneof(*message, f->containing_oneof())) {
        continue;  // the first member of a oneof is enough
      }
      if (IsFieldMaskField(f)) continue;  // an empty mask: the method's default
      if (IsTimestampField(f)) {
        // start/end pairs in order: start an hour back, everything else now.
        const bool start = absl::StrContains(f->name(), "start") ||
                           absl::StrContains(f->name(), "after") ||
                           absl::StrContains(f->name(), "since");
        SetTimestampField(message, f, std::time(nullptr) - (start ? 3600 : 0), 0);
        continue;
      }
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 2) FillPlausibly(method, MutableMessageField(message, f), depth + 1);
          break;
        case FieldDescriptor::CPPTYPE_STRING:
          SetStringField(message, f, PlausibleText(f->name()));
          break;
        case FieldDescriptor::CPPTYPE_INT32:
        case FieldDescriptor::CPPTYPE_INT64:
        case FieldDescriptor::CPPTYPE_UINT32:
        case FieldDescriptor::CPPTYPE_UINT64: {
          const bool is_id = f->name() == "id" || absl::EndsWith(f->name(), "_id") ||
                             absl::EndsWith(f->name(), "ids");
          SetIntegerField(message, f, is_id ? PlausibleId(method, f->name()) : 10);
          break;
        }
        case FieldDescriptor::CPPTYPE_DOUBLE:
        case FieldDescriptor::CPPTYPE_FLOAT:
          SetRealField(message, f, 20);
          break;
        case FieldDescriptor::CPPTYPE_ENUM:
          SetEnumField(message, f, 1);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          SetBoolField(message, f, true);
          break;
      }
    }
  }

  grpc::Status Call(const MethodInfo& method, const std::string& request) const {
    const std::string authorization = "Bearer " + caller_.token;
    if (!method.streaming()) {
      return testing::CallUnary(channel(), method.path, authorization, request);
    }
    bool stuck = false;
    grpc::Status status = testing::CallStreaming(channel(), method.path, authorization, {request},
                                                 std::chrono::milliseconds(50), &stuck);
    EXPECT_FALSE(stuck) << method.path << ": a stream operation outlived its cancellation";
    return status;
  }

  SignedInUser caller_;
  Fixtures fixtures_;
  // Counters for unique names; static because the suite's database outlives
  // each test.
  static inline int accounts_ = 0;
  static inline int fixture_sets_ = 0;
  static inline int texts_ = 0;
};

// What an error message may never contain: SQL, or the driver speaking.
constexpr const char* kLeakMarkers[] = {"SELECT ", "INSERT INTO", "UPDATE ",  "DELETE FROM",
                                        "pqxx",    "SQLSTATE",    "ERROR:  ", "violates"};

TEST_F(RequestTableTest, HostileValuesInEveryFieldOfEveryRequest) {
  const std::vector<MethodInfo> methods = testing::PlantmonMethods();
  ASSERT_GE(methods.size(), 60u);
  google::protobuf::DynamicMessageFactory factory;
  int cases = 0;
  std::map<StatusCode, int> codes;
  for (const MethodInfo& method : methods) {
    ASSERT_NO_FATAL_FAILURE(EnsureCaller());
    ASSERT_NO_FATAL_FAILURE(MakeFixtures()) << method.path;
    std::vector<FieldPath> paths;
    CollectPaths(method.request(), {}, &paths);
    for (const FieldPath& path : paths) {
      for (const HostileValue& value : HostileValuesFor(path.back())) {
        for (const bool plausible : {false, true}) {
          std::unique_ptr<Message> request(factory.GetPrototype(method.request())->New());
          if (plausible) FillPlausibly(method.path, request.get(), 0);
          Message* holder = Holder(request.get(), path);
          // A repeated scalar gets the hostile value as an extra element.
          value.apply(holder, path.back());
          const grpc::Status status = Call(method, request->SerializeAsString());
          const std::string label =
              absl::StrCat(method.path, " ", PathName(path), " = ", value.label,
                           plausible ? " (plausible request)" : " (empty request)");
          ++cases;
          ++codes[status.error_code()];
          EXPECT_NE(status.error_code(), StatusCode::INTERNAL)
              << label << ": " << status.error_message();
          EXPECT_NE(status.error_code(), StatusCode::UNKNOWN)
              << label << ": " << status.error_message();
          EXPECT_NE(status.error_code(), StatusCode::DATA_LOSS) << label;
          EXPECT_NE(status.error_code(), StatusCode::DEADLINE_EXCEEDED) << label;
          if (!status.ok()) {
            EXPECT_FALSE(status.error_message().empty()) << label;
            for (const char* marker : kLeakMarkers) {
              EXPECT_FALSE(absl::StrContains(status.error_message(), marker))
                  << label << ": " << status.error_message();
            }
          }
          // A user method may have deleted the caller or logged it out.
          if (absl::StrContains(method.path, "UserService")) {
            ASSERT_NO_FATAL_FAILURE(EnsureCaller());
          }
        }
      }
    }
  }
  // Thousands of cases, and most of them refused as the client's mistake.
  EXPECT_GE(cases, 2000);
  EXPECT_GT(codes[StatusCode::INVALID_ARGUMENT], cases / 4);
  std::string summary;
  for (const auto& [code, count] : codes) absl::StrAppend(&summary, " ", code, ":", count);
  std::printf("%d cases; codes:%s\n", cases, summary.c_str());
}

// docs/api.md: an Update writes only the fields its mask names, and the
// others are ignored, whatever they hold. For every Update method and every
// field its mask can name (one that a plausible value updates), every other
// field of the resource gets each hostile value of its kind, and the update
// must still succeed.
TEST_F(RequestTableTest, EveryUpdateIgnoresFieldsOutsideItsMask) {
  google::protobuf::DynamicMessageFactory factory;
  int updates = 0;
  int cases = 0;
  for (const MethodInfo& method : testing::PlantmonMethods()) {
    const Descriptor* request_type = method.request();
    const FieldDescriptor* mask_field = request_type->FindFieldByName("update_mask");
    if (mask_field == nullptr) continue;
    ++updates;
    const FieldDescriptor* resource_field = nullptr;
    for (int i = 0; i < request_type->field_count(); ++i) {
      const FieldDescriptor* f = request_type->field(i);
      if (f != mask_field && f->message_type() != nullptr) resource_field = f;
    }
    ASSERT_NE(resource_field, nullptr) << method.path;
    const Descriptor* resource = resource_field->message_type();
    int masked_fields_updated = 0;
    for (int i = 0; i < resource->field_count(); ++i) {
      const FieldDescriptor* masked = resource->field(i);
      if (masked->name() == "id") continue;
      ASSERT_NO_FATAL_FAILURE(EnsureCaller());
      ASSERT_NO_FATAL_FAILURE(MakeFixtures()) << method.path;
      auto request_masking = [&] {
        std::unique_ptr<Message> request(factory.GetPrototype(request_type)->New());
        FillPlausibly(method.path, request.get(), 0);
        SetFieldMaskField(request.get(), mask_field, masked->name());
        return request;
      };
      // Read-only fields and fields whose plausible value is not one the
      // update takes say nothing about the others.
      if (!Call(method, request_masking()->SerializeAsString()).ok()) continue;
      ++masked_fields_updated;
      for (int j = 0; j < resource->field_count(); ++j) {
        const FieldDescriptor* ignored = resource->field(j);
        if (ignored == masked || ignored->name() == "id") continue;
        std::vector<FieldPath> paths;
        if (ignored->message_type() != nullptr && !IsTimestampField(ignored)) {
          CollectPaths(ignored->message_type(), {resource_field, ignored}, &paths);
        } else {
          paths.push_back({resource_field, ignored});
        }
        for (const FieldPath& path : paths) {
          for (const HostileValue& value : HostileValuesFor(path.back())) {
            std::unique_ptr<Message> request = request_masking();
            Holder(request.get(), path)
                ->GetReflection()
                ->ClearField(Holder(request.get(), path), path.back());
            value.apply(Holder(request.get(), path), path.back());
            const grpc::Status status = Call(method, request->SerializeAsString());
            ++cases;
            EXPECT_TRUE(status.ok()) << method.path << " with update_mask " << masked->name()
                                     << " and " << PathName(path) << " = " << value.label << ": "
                                     << status.error_code() << " " << status.error_message();
          }
        }
      }
    }
    EXPECT_GT(masked_fields_updated, 0) << method.path << ": no field could be updated";
  }
  EXPECT_GE(updates, 8);
  std::printf("%d updates, %d cases\n", updates, cases);
}

// An unknown field carrying 5 MiB: over the 4 MiB receive limit whatever the
// message is.
std::string OversizedRequest() {
  const std::string payload(5 << 20, 'x');
  std::string bytes;
  auto varint = [&bytes](uint64_t value) {
    while (value >= 0x80) {
      bytes.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    bytes.push_back(static_cast<char>(value));
  };
  varint((uint64_t{1999} << 3) | 2);  // field 1999, length-delimited
  varint(payload.size());
  bytes += payload;
  return bytes;
}

TEST_F(RequestTableTest, EveryMethodRefusesMessagesOverTheReceiveLimit) {
  ASSERT_NO_FATAL_FAILURE(EnsureCaller());
  const std::string request = OversizedRequest();
  for (const MethodInfo& method : testing::PlantmonMethods()) {
    EXPECT_EQ(Call(method, request).error_code(), StatusCode::RESOURCE_EXHAUSTED) << method.path;
  }
}

}  // namespace
}  // namespace plantmon
