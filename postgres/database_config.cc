#include "postgres/database_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace plantmon::postgres {
namespace {

absl::Status MalformedVariable(const std::string& name, const std::string& value,
                               absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "environment variable ", name, " has malformed value \"", value, "\": expected ", expected));
}

absl::Status ReadString(const EnvLookup& env, const std::string& name, bool allow_empty,
                        std::string& out) {
  std::optional<std::string> raw = env(name);
  if (!raw.has_value()) return absl::OkStatus();
  if (!allow_empty && raw->empty()) {
    return MalformedVariable(name, *raw, "a non-empty value");
  }
  out = *raw;
  return absl::OkStatus();
}

std::string QuoteLibpqValue(absl::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  quoted.push_back('\'');
  return quoted;
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

absl::Status ReadInt(const EnvLookup& env, const std::string& name, int min_value, int max_value,
                     int& out) {
  std::optional<std::string> raw = env(name);
  if (!raw.has_value()) return absl::OkStatus();
  int value = 0;
  if (!absl::SimpleAtoi(*raw, &value) || value < min_value || value > max_value) {
    return MalformedVariable(name, *raw,
                             absl::StrCat("an integer from ", min_value, " to ", max_value));
  }
  out = value;
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> ParseDotEnv(const std::string& contents) {
  std::map<std::string, std::string> values;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    absl::ConsumePrefix(&line, "export ");
    size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(".env line ", line_number, " is not KEY=VALUE"));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, equals)));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(equals + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(".env line ", line_number, " has an empty key"));
    }
    values[key] = std::string(value);
  }
  return values;
}

absl::StatusOr<EnvLookup> EnvWithDotEnv(const std::string& dotenv_path) {
  std::map<std::string, std::string> file_values;
  std::ifstream file(dotenv_path);
  if (file) {
    std::stringstream contents;
    contents << file.rdbuf();
    absl::StatusOr<std::map<std::string, std::string>> parsed = ParseDotEnv(contents.str());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(dotenv_path, ": ", parsed.status().message()));
    }
    file_values = *std::move(parsed);
  }
  return EnvLookup([file_values = std::move(file_values)](
                       const std::string& name) -> std::optional<std::string> {
    if (std::optional<std::string> value = ProcessEnv(name)) return value;
    auto it = file_values.find(name);
    if (it == file_values.end()) return std::nullopt;
    return it->second;
  });
}

namespace {

// Sets config.host and config.ports from "host[:port],..." (ports default to
// config.port), as libpq takes several hosts.
absl::Status SetHostList(const std::string& variable, const std::string& value,
                         DatabaseConfig& config) {
  std::vector<std::string> hosts;
  std::vector<std::string> ports;
  for (absl::string_view entry : absl::StrSplit(value, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    absl::string_view host = entry;
    int port = config.port;
    if (const size_t colon = entry.rfind(':'); colon != absl::string_view::npos) {
      host = entry.substr(0, colon);
      if (!absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 || port > 65535) {
        host = "";
      }
    }
    if (host.empty() || absl::StrContains(host, ' ')) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", variable, " has malformed value \"", value,
                       "\": expected host[:port] entries separated by commas"));
    }
    hosts.emplace_back(host);
    ports.push_back(absl::StrCat(port));
  }
  config.host = absl::StrJoin(hosts, ",");
  config.ports = absl::StrJoin(ports, ",");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DatabaseConfig> DatabaseConfigFromEnv(const EnvLookup& env) {
  DatabaseConfig config;
  absl::Status status;
  status.Update(ReadString(env, "POSTGRES_DB_HOST", false, config.host));
  status.Update(ReadInt(env, "POSTGRES_DB_PORT", 1, 65535, config.port));
  status.Update(ReadString(env, "POSTGRES_DB_USER", false, config.user));
  status.Update(ReadString(env, "POSTGRES_DB_PASSWORD", true, config.password));
  status.Update(ReadString(env, "POSTGRES_DB_NAME", false, config.dbname));
  status.Update(ReadInt(env, "PLANTMON_DB_POOL_SIZE", 1, 1000, config.pool_size));
  status.Update(ReadInt(env, "PLANTMON_DB_POOL_MAX_OVERFLOW", 0, 1000, config.max_overflow));
  int timeout_ms = absl::ToInt64Milliseconds(config.acquire_timeout);
  status.Update(ReadInt(env, "PLANTMON_DB_POOL_TIMEOUT_MS", 1, 3'600'000, timeout_ms));
  int recycle_seconds = absl::ToInt64Seconds(config.max_lifetime);
  status.Update(
      ReadInt(env, "PLANTMON_DB_POOL_RECYCLE_SECONDS", 1, 7 * 24 * 3600, recycle_seconds));
  if (!status.ok()) return status;
  // Several hosts (a primary and its standbys, any of which may be promoted):
  // libpq tries them in turn and keeps the one that accepts writes.
  if (absl::StrContains(config.host, ',')) {
    const std::string host_list = config.host;
    if (absl::Status set = SetHostList("POSTGRES_DB_HOST", host_list, config); !set.ok()) {
      return set;
    }
    config.target_session_attrs = "read-write";
  }
  config.acquire_timeout = absl::Milliseconds(timeout_ms);
  config.max_lifetime = absl::Seconds(recycle_seconds);
  return config;
}

absl::StatusOr<std::optional<DatabaseConfig>> StandbyConfigFromEnv(const EnvLookup& env,
                                                                   const DatabaseConfig& primary) {
  const std::optional<std::string> value = env("POSTGRES_DB_READ_HOSTS");
  if (!value.has_value() || absl::StripAsciiWhitespace(*value).empty()) return std::nullopt;
  DatabaseConfig standby = primary;
  if (absl::Status set = SetHostList("POSTGRES_DB_READ_HOSTS", *value, standby); !set.ok()) {
    return set;
  }
  standby.target_session_attrs = "standby";
  return standby;
}

std::string DatabaseUrl(const DatabaseConfig& config, bool reveal_password) {
  // libpq's URL form of several hosts: host1:port1,host2:port2.
  std::string addresses = absl::StrCat(config.host, ":", config.port);
  if (!config.ports.empty()) {
    std::vector<std::string> hosts = absl::StrSplit(config.host, ',');
    std::vector<std::string> ports = absl::StrSplit(config.ports, ',');
    addresses.clear();
    for (size_t i = 0; i < hosts.size(); ++i) {
      absl::StrAppend(&addresses, i == 0 ? "" : ",", hosts[i], ":",
                      i < ports.size() ? ports[i] : ports.back());
    }
  }
  return absl::StrCat("postgresql://", config.user, ":", reveal_password ? config.password : "***",
                      "@", addresses, "/", config.dbname);
}

std::string LibpqConnectionString(const DatabaseConfig& config) {
  int connect_timeout = std::max<int64_t>(1, absl::ToInt64Seconds(config.connect_timeout));
  std::string text = absl::StrCat(
      "host=", QuoteLibpqValue(config.host),
      " port=", config.ports.empty() ? absl::StrCat(config.port) : QuoteLibpqValue(config.ports),
      " user=", QuoteLibpqValue(config.user), " password=", QuoteLibpqValue(config.password),
      " dbname=", QuoteLibpqValue(config.dbname), " connect_timeout=", connect_timeout,
      " application_name='plantmon'",
      // A database machine that vanishes (power, network) sends no reset: a
      // connection waiting on it would wait for the kernel's retransmission
      // timeout, some fifteen minutes, and a failover would leave calls and
      // pool connections hanging that long. Keepalive probes end a silent
      // connection after about 11 s (5 + 3 x 2), and tcp_user_timeout one
      // whose sent data goes unacknowledged for 10 s (docs/scaling.md,
      // "Failover").
      " keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3",
      " tcp_user_timeout=10000");
  if (!config.target_session_attrs.empty()) {
    absl::StrAppend(&text, " target_session_attrs=", QuoteLibpqValue(config.target_session_attrs));
  }
  return text;
}

}  // namespace plantmon::postgres
