// libFuzzer target over the code that first touches untrusted input: request
// validation, page tokens, update masks, timestamps, .env parsing, request
// parsing, the alert engine's arithmetic and messages, names people type, and
// MQTT payloads. Built and run by
// tools/fuzz with clang-14, AddressSanitizer and UndefinedBehaviorSanitizer.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "alerting/alert_engine.h"
#include "alerting/rules.h"
#include "common/unicode_text.h"
#include "mqtt/payload_formats.h"
#include "plantmon/v1/telemetry.pb.h"
#include "postgres/copy_format.h"
#include "postgres/database_config.h"
#include "services/pagination.h"
#include "services/validation.h"

namespace plantmon {

// The fuzz entry point's body, inside our namespace.
int FuzzOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 8)) {
    case 0: {
      (void)postgres::ParseDotEnv(input.ConsumeRemainingBytesAsString());
      break;
    }
    case 1: {
      google::protobuf::Timestamp timestamp;
      timestamp.set_seconds(input.ConsumeIntegral<int64_t>());
      timestamp.set_nanos(input.ConsumeIntegral<int32_t>());
      absl::StatusOr<absl::Time> time = services::TimeFromProto(timestamp, "t");
      if (time.ok()) (void)postgres::CopyTimestampText(*time);
      break;
    }
    case 2: {
      google::protobuf::FieldMask mask;
      while (input.remaining_bytes() > 0 && mask.paths_size() < 16) {
        mask.add_paths(input.ConsumeRandomLengthString(32));
      }
      (void)services::CheckUpdateMask(mask, {"name", "notes", "is_active"});
      break;
    }
    case 3: {
      services::QueryFingerprint query(input.ConsumeRandomLengthString(16));
      query.Add("filter", input.ConsumeIntegral<int64_t>());
      const auto page_size = input.ConsumeIntegral<int32_t>();
      const auto position_size = input.ConsumeIntegralInRange<size_t>(0, 3);
      const std::string token = input.ConsumeRemainingBytesAsString();
      (void)services::ParsePage(page_size, token, query, position_size);
      (void)services::MakePageToken(query, {input.ConsumeIntegral<int64_t>()});
      break;
    }
    case 4: {
      const std::string text = input.ConsumeRandomLengthString(512);
      (void)services::CheckText(text, "f", input.ConsumeIntegralInRange<size_t>(0, 300),
                                input.ConsumeBool());
      (void)services::CheckEmail(text, "email");
      (void)services::CheckOneOf(text, "role", services::kAssignmentTypes);
      (void)services::CheckRange(input.ConsumeFloatingPoint<double>(), "x", 0, 100);
      (void)services::CheckId(input.ConsumeIntegral<int64_t>(), "id");
      // Names people type: normalisation, script mixing, case folding.
      absl::StatusOr<std::string> nfc = services::NormalizeIdentity(text, "user.username");
      if (nfc.ok()) {
        (void)services::CheckSingleScript(*nfc, "user.username");
        (void)unicode::CaseFold(*nfc);
      }
      (void)alerting::CheckParameterName(text, "parameter_name");
      break;
    }
    case 5: {
      alerting::RuleToEvaluate rule;
      const char* types[] = {"threshold", "range", "deviation", "other"};
      const char* operators[] = {"<", ">", "<=", ">=", "==", "!=", "?"};
      alerting::RuleDefinition& definition = rule.definition;
      definition.type = alerting::ParseRuleType(types[input.ConsumeIntegralInRange<int>(0, 3)], "t")
                            .value_or(alerting::RuleType::kThreshold);
      definition.op =
          alerting::ParseOperator(operators[input.ConsumeIntegralInRange<int>(0, 6)], "o")
              .value_or(alerting::Operator::kLess);
      definition.parameter = input.ConsumeRandomLengthString(16);
      definition.threshold_value = input.ConsumeFloatingPoint<double>();
      if (input.ConsumeBool()) definition.threshold_high = input.ConsumeFloatingPoint<double>();
      (void)alerting::CheckDefinition(definition);
      if (input.ConsumeBool()) rule.optimum = input.ConsumeFloatingPoint<double>();
      std::vector<alerting::EvaluatedReading> readings;
      while (input.remaining_bytes() > 0 && readings.size() < 64) {
        alerting::EvaluatedReading reading;
        reading.value = input.ConsumeFloatingPoint<double>();
        reading.timestamp =
            absl::FromUnixSeconds(input.ConsumeIntegralInRange<int64_t>(0, 1 << 30));
        if (input.ConsumeBool()) reading.unit = input.ConsumeRandomLengthString(8);
        (void)alerting::AlertMessage(rule, reading);
        (void)alerting::Distance(rule, reading.value);
        readings.push_back(reading);
      }
      (void)alerting::PlanAlertChanges(rule, readings, input.ConsumeBool());
      break;
    }
    case 6: {
      const auto micros =
          input.ConsumeIntegralInRange<int64_t>(-62135596800LL * 1000000, 253402300799LL * 1000000);
      const std::string text = postgres::CopyTimestampText(absl::FromUnixMicros(micros));
      if (text.size() != 29) __builtin_trap();
      break;
    }
    case 7: {
      // What the MQTT bridge hears: any topic and payload in any format.
      const auto format = static_cast<mqtt::Format>(input.ConsumeIntegralInRange<int>(0, 4));
      const std::string topic = input.ConsumeRandomLengthString(64);
      (void)mqtt::ParseMessage(format, topic, input.ConsumeRemainingBytesAsString(),
                               mqtt::DefaultKeyTable(), absl::FromUnixSeconds(1764590000));
      break;
    }
    default: {
      v1::ListSensorDataRequest request;
      if (request.ParseFromString(input.ConsumeRemainingBytesAsString())) {
        (void)services::RequiredTimeRange(request);
        (void)services::CheckId(request.device_id(), "device_id");
      }
      break;
    }
  }
  return 0;
}

}  // namespace plantmon

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return plantmon::FuzzOneInput(data, size);
}
