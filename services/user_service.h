#ifndef PLANTMON_SERVICES_USER_SERVICE_H_
#define PLANTMON_SERVICES_USER_SERVICE_H_

#include "plantmon/v1/user.grpc.pb.h"
#include "services/auth/authenticator.h"
#include "services/auth/login_throttle.h"
#include "services/auth/password_hasher.h"
#include "storage/api_key_repository.h"
#include "storage/user_repository.h"

namespace plantmon::services {

// plantmon.v1.UserService: sign-up, sign-in, sessions and accounts.
class UserServiceImpl final : public v1::UserService::Service {
 public:
  UserServiceImpl(storage::UserRepository& users, storage::ApiKeyRepository& api_keys,
                  auth::Authenticator& authenticator, const auth::PasswordHasher& hasher);

  grpc::Status CreateUser(grpc::ServerContext* context, const v1::CreateUserRequest* request,
                          v1::User* response) override;
  grpc::Status GetUser(grpc::ServerContext* context, const v1::GetUserRequest* request,
                       v1::User* response) override;
  grpc::Status ListUsers(grpc::ServerContext* context, const v1::ListUsersRequest* request,
                         v1::ListUsersResponse* response) override;
  grpc::Status UpdateUser(grpc::ServerContext* context, const v1::UpdateUserRequest* request,
                          v1::User* response) override;
  grpc::Status DeleteUser(grpc::ServerContext* context, const v1::DeleteUserRequest* request,
                          google::protobuf::Empty* response) override;
  grpc::Status Login(grpc::ServerContext* context, const v1::LoginRequest* request,
                     v1::LoginResponse* response) override;
  grpc::Status Logout(grpc::ServerContext* context, const v1::LogoutRequest* request,
                      google::protobuf::Empty* response) override;
  grpc::Status ChangePassword(grpc::ServerContext* context,
                              const v1::ChangePasswordRequest* request,
                              google::protobuf::Empty* response) override;
  grpc::Status GetCurrentUser(grpc::ServerContext* context,
                              const v1::GetCurrentUserRequest* request,
                              v1::User* response) override;
  grpc::Status CreateApiKey(grpc::ServerContext* context, const v1::CreateApiKeyRequest* request,
                            v1::CreateApiKeyResponse* response) override;
  grpc::Status ListApiKeys(grpc::ServerContext* context, const v1::ListApiKeysRequest* request,
                           v1::ListApiKeysResponse* response) override;
  grpc::Status RevokeApiKey(grpc::ServerContext* context, const v1::RevokeApiKeyRequest* request,
                            v1::ApiKey* response) override;

 private:
  storage::UserRepository& users_;
  storage::ApiKeyRepository& api_keys_;
  auth::Authenticator& authenticator_;
  const auth::PasswordHasher& hasher_;
  auth::LoginThrottle throttle_;
  // A hash to verify against when the login names no account, so that an
  // unknown login costs as much time as a wrong password.
  std::string decoy_hash_;
};

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_USER_SERVICE_H_
