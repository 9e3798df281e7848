#include "tools/bench/bench_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace plantmon::bench {

postgres::DatabaseConfig DatabaseConfigOrExit() {
  absl::StatusOr<postgres::DatabaseConfig> config =
      postgres::DatabaseConfigFromEnv(postgres::ProcessEnv);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    std::exit(1);
  }
  return *config;
}

int64_t ResidentKb(int pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

std::optional<v1::LoginResponse> SignUpAndLogin(const std::shared_ptr<grpc::Channel>& channel,
                                                const std::string& name,
                                                const std::string& password) {
  auto users = v1::UserService::NewStub(channel);
  v1::CreateUserRequest create;
  create.mutable_user()->set_email(name + "@example.com");
  create.mutable_user()->set_username(name);
  create.set_password(password);
  v1::User user;
  grpc::ClientContext signup;
  users->CreateUser(&signup, create, &user);  // ALREADY_EXISTS on a rerun is fine
  v1::LoginRequest request;
  request.set_login(name);
  request.set_password(password);
  v1::LoginResponse login;
  grpc::ClientContext context;
  grpc::Status status = users->Login(&context, request, &login);
  if (!status.ok()) return std::nullopt;
  return login;
}

}  // namespace plantmon::bench
