// TLS with a throwaway CA made by openssl: a client trusting the CA gets in,
// one that does not is refused; with a client CA, only clients presenting a
// certificate it signed get in.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/server.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

std::string Read(const std::string& path) {
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Runs a shell command (openssl), failing the test when it fails.
void RunShell(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/tls");
    RunShell("mkdir -p " + *dir_);
    for (const char* ca : {"ca", "other_ca"}) {
      RunShell(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=", ca,
                            " -keyout ", *dir_, "/", ca, ".key -out ", *dir_, "/", ca, ".pem"));
    }
    for (const char* leaf : {"server", "client"}) {
      RunShell(absl::StrCat("openssl req -new -newkey rsa:2048 -nodes -subj /CN=", leaf,
                            " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout ", *dir_,
                            "/", leaf, ".key -out ", *dir_, "/", leaf, ".csr"));
      RunShell(absl::StrCat("openssl x509 -req -days 1 -copy_extensions copy -in ", *dir_, "/",
                            leaf, ".csr -CA ", *dir_, "/ca.pem -CAkey ", *dir_,
                            "/ca.key -CAcreateserial -out ", *dir_, "/", leaf, ".pem"));
    }
    database_ = testing::TestDatabase::CreateOrDie().release();
  }
  static void TearDownTestSuite() { delete database_; }

  static std::unique_ptr<services::PlantmonServer> Start(bool require_client_certificates) {
    services::ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.database = database_->Config(2, 2);
    options.bcrypt_cost = 10;
    options.tls_cert_file = *dir_ + "/server.pem";
    options.tls_key_file = *dir_ + "/server.key";
    if (require_client_certificates) options.tls_client_ca_file = *dir_ + "/ca.pem";
    auto server = services::PlantmonServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }

  static grpc::Status Check(const services::PlantmonServer& server,
                            const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()), credentials);
    auto stub = Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckResponse response;
    return stub->Check(&context, HealthCheckRequest(), &response);
  }

  static grpc::SslCredentialsOptions Trusting(const std::string& ca) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = Read(*dir_ + "/" + ca + ".pem");
    return options;
  }

  static std::string* dir_;
  static testing::TestDatabase* database_;
};

std::string* TlsTest::dir_ = nullptr;
testing::TestDatabase* TlsTest::database_ = nullptr;

TEST_F(TlsTest, ClientsTrustingTheCaConnectAndOthersAreRefused) {
  auto server = Start(/*require_client_certificates=*/false);
  EXPECT_TRUE(Check(*server, grpc::SslCredentials(Trusting("ca"))).ok());
  EXPECT_EQ(Check(*server, grpc::SslCredentials(Trusting("other_ca"))).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Check(*server, grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "no plaintext beside TLS";
}

TEST_F(TlsTest, RequiredClientCertificatesMustBeSignedByTheClientCa) {
  auto server = Start(/*require_client_certificates=*/true);
  EXPECT_EQ(Check(*server, grpc::SslCredentials(Trusting("ca"))).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  grpc::SslCredentialsOptions with_certificate = Trusting("ca");
  with_certificate.pem_cert_chain = Read(*dir_ + "/client.pem");
  with_certificate.pem_private_key = Read(*dir_ + "/client.key");
  EXPECT_TRUE(Check(*server, grpc::SslCredentials(with_certificate)).ok());
  grpc::SslCredentialsOptions self_signed = Trusting("ca");
  self_signed.pem_cert_chain = Read(*dir_ + "/other_ca.pem");
  self_signed.pem_private_key = Read(*dir_ + "/other_ca.key");
  EXPECT_EQ(Check(*server, grpc::SslCredentials(self_signed)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, HalfAConfigurationIsAClearStartUpError) {
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database_->Config(1, 0);
  options.tls_cert_file = *dir_ + "/server.pem";
  auto server = services::PlantmonServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  options.tls_key_file = *dir_ + "/missing.key";
  server = services::PlantmonServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("missing.key"), std::string::npos);
}

}  // namespace
}  // namespace plantmon
