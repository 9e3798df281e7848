#include <algorithm>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/auth/password_hasher.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class UserServiceTest : public ApiTest {};

v1::CreateUserRequest SignUpRequest(const std::string& name) {
  v1::CreateUserRequest request;
  request.mutable_user()->set_email(name + "@example.com");
  request.mutable_user()->set_username(name);
  request.set_password("correct horse battery");
  return request;
}

TEST_F(UserServiceTest, SignUpReturnsTheAccountWithServerSetFields) {
  v1::CreateUserRequest request = SignUpRequest("alice");
  request.mutable_user()->set_first_name("Alice");
  request.mutable_user()->set_is_admin(true);     // ignored: not for clients to set
  request.mutable_user()->set_id(999);            // ignored
  request.mutable_user()->set_is_verified(true);  // ignored: verification is not self-service
  request.mutable_user()->set_is_active(false);   // ignored: accounts start active
  v1::User user;
  ASSERT_TRUE(users_->CreateUser(Context().get(), request, &user).ok());
  EXPECT_GT(user.id(), 0);
  EXPECT_NE(user.id(), 999);
  EXPECT_EQ(user.email(), "alice@example.com");
  EXPECT_EQ(user.first_name(), "Alice");
  EXPECT_FALSE(user.has_last_name());
  EXPECT_TRUE(user.is_active());
  EXPECT_FALSE(user.is_verified());
  EXPECT_FALSE(user.is_admin());
  EXPECT_GT(user.created_at().seconds(), 0);
  EXPECT_FALSE(user.has_last_login());
  auto stored =
      database_
          ->Query("SELECT password_hash FROM users WHERE id = " + std::to_string(user.id()))[0][0]
          .as<std::string>();
  EXPECT_EQ(stored.rfind("$2b$10$", 0), 0u) << stored;
}

TEST_F(UserServiceTest, SignUpRejectsBadInputWithInvalidArgumentNamingTheField) {
  struct Case {
    std::string label;
    std::function<void(v1::CreateUserRequest&)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {"no email", [](auto& r) { r.mutable_user()->clear_email(); }, "user.email"},
      {"bad email", [](auto& r) { r.mutable_user()->set_email("not-an-email"); }, "user.email"},
      {"long email", [](auto& r) { r.mutable_user()->set_email(std::string(250, 'a') + "@x.com"); },
       "user.email"},
      {"no username", [](auto& r) { r.mutable_user()->clear_username(); }, "user.username"},
      {"username with @", [](auto& r) { r.mutable_user()->set_username("a@b"); }, "user.username"},
      {"long username", [](auto& r) { r.mutable_user()->set_username(std::string(101, 'u')); },
       "user.username"},
      // Look-alikes: zero-width space, no-break space, a control, a
      // right-to-left override.
      {"zero-width in username", [](auto& r) { r.mutable_user()->set_username("an\u200Bn"); },
       "user.username"},
      {"no-break space in username",
       [](auto& r) { r.mutable_user()->set_username("ann\u00A0lee"); }, "user.username"},
      {"control in username", [](auto& r) { r.mutable_user()->set_username("ann\x07"); },
       "user.username"},
      {"override in email",
       [](auto& r) {
         // U+202E, built from its bytes: a literal holding it would itself mislead.
         r.mutable_user()->set_email("ann" + std::string{'\xE2', '\x80', '\xAE'} + "@example.com");
       },
       "user.email"},
      {"long phone", [](auto& r) { r.mutable_user()->set_phone_number(std::string(21, '1')); },
       "user.phone_number"},
      {"short password", [](auto& r) { r.set_password("short"); }, "password"},
      {"long password", [](auto& r) { r.set_password(std::string(73, 'p')); }, "password"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    v1::CreateUserRequest request = SignUpRequest("invalid_case");
    c.mutate(request);
    v1::User user;
    grpc::Status status = users_->CreateUser(Context().get(), request, &user);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find(c.field), std::string::npos) << status.error_message();
  }
  EXPECT_EQ(database_->Query("SELECT count(*) FROM users WHERE username = 'invalid_case'")[0][0]
                .as<int>(),
            0);
}

TEST_F(UserServiceTest, DuplicateEmailOrUsernameIsAlreadyExists) {
  v1::User user;
  ASSERT_TRUE(users_->CreateUser(Context().get(), SignUpRequest("bob"), &user).ok());
  v1::CreateUserRequest same_email = SignUpRequest("bob2");
  same_email.mutable_user()->set_email("bob@example.com");
  grpc::Status status = users_->CreateUser(Context().get(), same_email, &user);
  EXPECT_EQ(status.error_code(), StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(status.error_message(), "a user with this email already exists");
  v1::CreateUserRequest same_name = SignUpRequest("bob");
  same_name.mutable_user()->set_email("bob3@example.com");
  EXPECT_EQ(users_->CreateUser(Context().get(), same_name, &user).error_code(),
            StatusCode::ALREADY_EXISTS);
}

// docs/api.md, "Names": one name however it is cased or composed.
TEST_F(UserServiceTest, NamesAreOneNameWhateverTheirCaseOrComposition) {
  // "René" typed decomposed ("e" + U+0301) is stored composed.
  v1::CreateUserRequest request = SignUpRequest("rene");
  request.mutable_user()->set_username("Rene\u0301");
  request.mutable_user()->set_email("Rene\u0301@Example.com");
  v1::User rene;
  ASSERT_TRUE(users_->CreateUser(Context().get(), request, &rene).ok());
  EXPECT_EQ(rene.username(), "Ren\u00e9");
  EXPECT_EQ(rene.email(), "Ren\u00e9@Example.com") << "the case people chose is kept";

  // Every case and composition of either name is taken...
  for (const auto& [email, username] :
       std::vector<std::pair<std::string, std::string>>{{"REN\u00c9@example.COM", "someone_else"},
                                                        {"other@example.com", "rEN\u00e9"},
                                                        {"other@example.com", "RENE\u0301"}}) {
    v1::CreateUserRequest again = SignUpRequest("other");
    again.mutable_user()->set_email(email);
    again.mutable_user()->set_username(username);
    v1::User user;
    EXPECT_EQ(users_->CreateUser(Context().get(), again, &user).error_code(),
              StatusCode::ALREADY_EXISTS)
        << email << " " << username;
  }
  // ...for UpdateUser too...
  SignedInUser other = SignUp("renamer");
  v1::UpdateUserRequest rename;
  rename.mutable_user()->set_id(other.user.id());
  rename.mutable_user()->set_username("REN\u00c9");
  rename.mutable_update_mask()->add_paths("username");
  v1::User updated;
  EXPECT_EQ(users_->UpdateUser(Context(other.token).get(), rename, &updated).error_code(),
            StatusCode::ALREADY_EXISTS);

  // ...and logs in.
  for (const std::string login : {"ren\u00e9", "RENE\u0301", "ren\u00e9@example.com"}) {
    v1::LoginRequest login_request;
    login_request.set_login(login);
    login_request.set_password("correct horse battery");
    v1::LoginResponse response;
    grpc::Status status = users_->Login(Context().get(), login_request, &response);
    EXPECT_TRUE(status.ok()) << login << ": " << status.error_message();
    EXPECT_EQ(response.user().id(), rene.id()) << login;
  }
}

TEST_F(UserServiceTest, UsernamesMayNotMixScripts) {
  // "paypal" with a Cyrillic "а" (U+0430), a Greek alpha before Latin, and
  // ASCII with Arabic-Indic digits.
  for (const std::string username : {"p\u0430ypal", "\u03b1dmin", "user1\u0663"}) {
    v1::CreateUserRequest request = SignUpRequest("mixed");
    request.mutable_user()->set_username(username);
    v1::User user;
    grpc::Status status = users_->CreateUser(Context().get(), request, &user);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << username;
    EXPECT_NE(status.error_message().find("user.username mixes scripts"), std::string::npos)
        << status.error_message();
  }
  // One script at a time is anyone's name, as are Latin and Han together.
  int accounts = 0;
  for (const std::string username : {"\u0431\u043e\u0440\u0438\u0441", "tanaka\u592a\u90ce",
                                     "\u03b1\u03bb\u03ad\u03ba\u03bf\u03c2"}) {
    v1::CreateUserRequest request = SignUpRequest(absl::StrCat("single", ++accounts));
    request.mutable_user()->set_username(username);
    v1::User user;
    grpc::Status status = users_->CreateUser(Context().get(), request, &user);
    EXPECT_TRUE(status.ok()) << username << ": " << status.error_message();
  }
}

TEST_F(UserServiceTest, LoginByEmailOrUsernameSetsLastLoginAndReturnsAWorkingToken) {
  v1::User created;
  ASSERT_TRUE(users_->CreateUser(Context().get(), SignUpRequest("carol"), &created).ok());
  for (const std::string login : {"carol", "carol@example.com"}) {
    v1::LoginRequest request;
    request.set_login(login);
    request.set_password("correct horse battery");
    v1::LoginResponse response;
    ASSERT_TRUE(users_->Login(Context().get(), request, &response).ok());
    EXPECT_EQ(response.access_token().size(), 43u);
    EXPECT_EQ(response.user().id(), created.id());
    EXPECT_TRUE(response.user().has_last_login());
    int64_t lifetime = response.expires_at().seconds() - std::time(nullptr);
    EXPECT_GT(lifetime, 23 * 3600);
    EXPECT_LE(lifetime, 24 * 3600 + 5);
    v1::User current;
    ASSERT_TRUE(users_
                    ->GetCurrentUser(Context(response.access_token()).get(),
                                     v1::GetCurrentUserRequest(), &current)
                    .ok());
    EXPECT_EQ(current.id(), created.id());
  }
  // Only a hash of the token is stored.
  EXPECT_EQ(database_
                ->Query("SELECT count(*) FROM user_sessions WHERE user_id = " +
                        std::to_string(created.id()) + " AND octet_length(token_hash) = 32")[0][0]
                .as<int>(),
            2);
}

TEST_F(UserServiceTest, WrongPasswordAndUnknownLoginGetTheSameAnswer) {
  SignedInUser dave = SignUp("dave");
  v1::LoginRequest wrong;
  wrong.set_login("dave");
  wrong.set_password("password-not-dave");
  v1::LoginResponse response;
  grpc::Status wrong_status = users_->Login(Context().get(), wrong, &response);
  v1::LoginRequest unknown;
  unknown.set_login("nobody-here");
  unknown.set_password("password-not-dave");
  grpc::Status unknown_status = users_->Login(Context().get(), unknown, &response);
  EXPECT_EQ(wrong_status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown_status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong_status.error_message(), unknown_status.error_message());
  v1::LoginRequest empty;
  EXPECT_EQ(users_->Login(Context().get(), empty, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(UserServiceTest, RepeatedFailuresLockANameWhetherOrNotItExists) {
  SignUp("guessed");
  v1::LoginResponse response;
  for (const std::string login : {"guessed", "nobody-at-all"}) {
    SCOPED_TRACE(login);
    v1::LoginRequest wrong;
    wrong.set_login(login);
    wrong.set_password("not-the-password");
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(users_->Login(Context().get(), wrong, &response).error_code(),
                StatusCode::UNAUTHENTICATED);
    }
    grpc::Status locked = users_->Login(Context().get(), wrong, &response);
    EXPECT_EQ(locked.error_code(), StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(locked.error_message().find("try again"), std::string::npos);
  }
  // Even the right password waits out the lockout.
  v1::LoginRequest right;
  right.set_login("guessed");
  right.set_password("password-guessed");
  EXPECT_EQ(users_->Login(Context().get(), right, &response).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
}

// Guesses count per account whichever name they use: alternating the email
// and the username does not double the guesses allowed. ChangePassword's
// check of the current password counts against the same account.
TEST_F(UserServiceTest, GuessesCountPerAccountWhicheverNameAndInChangePassword) {
  SignUp("twonames");
  auto login = [this](const std::string& name, const std::string& password) {
    v1::LoginRequest request;
    request.set_login(name);
    request.set_password(password);
    v1::LoginResponse response;
    return users_->Login(Context().get(), request, &response).error_code();
  };
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login(i % 2 == 0 ? "twonames" : "twonames@example.com", "not-the-password"),
              StatusCode::UNAUTHENTICATED);
  }
  for (const char* name : {"twonames", "twonames@example.com"}) {
    EXPECT_EQ(login(name, "password-twonames"), StatusCode::RESOURCE_EXHAUSTED) << name;
  }

  // An unknown name counts once however it is cased or composed.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login(i % 2 == 0 ? "\u00c9mile" : "e\u0301MILE", "not-the-password"),
              StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(login("\u00e9mile", "not-the-password"), StatusCode::RESOURCE_EXHAUSTED);

  SignedInUser holder = SignUp("stolentoken");
  google::protobuf::Empty empty;
  for (int i = 0; i < 5; ++i) {
    v1::ChangePasswordRequest guess;
    guess.set_current_password(absl::StrCat("guess-", i));
    guess.set_new_password("a-new-password");
    EXPECT_EQ(users_->ChangePassword(Context(holder.token).get(), guess, &empty).error_code(),
              StatusCode::PERMISSION_DENIED);
  }
  v1::ChangePasswordRequest right;
  right.set_current_password("password-stolentoken");
  right.set_new_password("a-new-password");
  EXPECT_EQ(users_->ChangePassword(Context(holder.token).get(), right, &empty).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(login("stolentoken", "password-stolentoken"), StatusCode::RESOURCE_EXHAUSTED)
      << "the account is locked for logins too";
}

// An account hashed at another bcrypt cost (the server's
// PLANTMON_BCRYPT_COST changed) is rehashed at the server's cost by its next
// successful login, so its logins come to take what an unknown name's do.
TEST_F(UserServiceTest, ALoginRehashesAPasswordHashedAtAnotherCost) {
  SignedInUser old = SignUp("oldcost");
  absl::StatusOr<auth::PasswordHasher> at_11 = auth::PasswordHasher::Create(11);
  ASSERT_TRUE(at_11.ok());
  absl::StatusOr<std::string> hash = at_11->Hash("password-oldcost");
  ASSERT_TRUE(hash.ok());
  const std::string id = std::to_string(old.user.id());
  database_->Query("UPDATE users SET password_hash = '" + *hash + "' WHERE id = " + id);
  auto stored_cost = [&] {
    return database_->Query("SELECT substr(password_hash, 5, 2) FROM users WHERE id = " + id)[0][0]
        .as<std::string>();
  };
  ASSERT_EQ(stored_cost(), "11");
  LoginToken("oldcost", "password-oldcost");
  EXPECT_EQ(stored_cost(), "10") << "the test server's cost";
  LoginToken("oldcost", "password-oldcost");  // the new hash verifies
}

// Login time must not tell which names have accounts, even after the
// server's bcrypt cost changed (docs/api.md): an account hashed at an older,
// higher cost, an account at the server's cost and unknown names take
// (in the median of 21 logins each, each against the others of its turn)
// within 20% of one another. The old account's first login pays its old cost
// once and rehashes it.
TEST_F(UserServiceTest, LoginTimeDoesNotTellWhichNamesHaveAccounts) {
  SignedInUser old = SignUp("timingold");
  SignedInUser current = SignUp("timingcurrent");
  absl::StatusOr<auth::PasswordHasher> at_12 = auth::PasswordHasher::Create(12);
  ASSERT_TRUE(at_12.ok());
  absl::StatusOr<std::string> hash = at_12->Hash("password-timingold");
  ASSERT_TRUE(hash.ok());
  database_->Query("UPDATE users SET password_hash = '" + *hash +
                   "' WHERE id = " + std::to_string(old.user.id()));
  auto request_for = [](const std::string& name, const std::string& password) {
    v1::LoginRequest request;
    request.set_login(name);
    request.set_password(password);
    return request;
  };
  // The three kinds take turns, so that a change in the machine's load (other
  // tests, builds) falls on all three alike rather than on whichever ran then;
  // and the turn order rotates, so that each kind follows each other kind as
  // often (whatever one login leaves the server doing afterwards falls on
  // all three alike too).
  std::vector<double> millis[3];
  for (int i = 0; i < 21; ++i) {
    const v1::LoginRequest requests[3] = {
        request_for("timingold", "password-timingold"),
        request_for("timingcurrent", "password-timingcurrent"),
        request_for(absl::StrCat("nosuchname", i), "password-nosuchname")};
    for (int turn = 0; turn < 3; ++turn) {
      const int kind = (turn + i) % 3;
      v1::LoginResponse response;
      const absl::Time start = absl::Now();
      const grpc::Status status = users_->Login(Context().get(), requests[kind], &response);
      millis[kind].push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      // Unknown names fail as wrong passwords do, never by the throttle.
      EXPECT_NE(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << requests[kind].login();
    }
  }
  auto median = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  // Each login against the median of its own turn's three: the three ran
  // back to back, so load that comes and goes between turns cancels out.
  std::vector<double> relative[3];
  for (size_t i = 0; i < millis[0].size(); ++i) {
    const double turn = median({millis[0][i], millis[1][i], millis[2][i]});
    for (int kind = 0; kind < 3; ++kind) relative[kind].push_back(millis[kind][i] / turn);
  }
  const double old_cost = median(relative[0]);
  const double current_cost = median(relative[1]);
  const double unknown = median(relative[2]);
  std::printf(
      "median login: old cost %.1f ms, current cost %.1f ms, unknown name %.1f ms; against "
      "their turn's median: %.3f, %.3f, %.3f\n",
      median(millis[0]), median(millis[1]), median(millis[2]), old_cost, current_cost, unknown);
  const double fastest = std::min({old_cost, current_cost, unknown});
  const double slowest = std::max({old_cost, current_cost, unknown});
  EXPECT_LT(slowest, fastest * 1.2)
      << "against their turn's median: old cost " << old_cost << ", current cost " << current_cost
      << ", unknown name " << unknown;
}

TEST_F(UserServiceTest, LogoutRevokesOnlyThatToken) {
  SignedInUser erin = SignUp("erin");
  std::string second = LoginToken("erin", "password-erin");
  google::protobuf::Empty empty;
  ASSERT_TRUE(users_->Logout(Context(erin.token).get(), v1::LogoutRequest(), &empty).ok());
  v1::User user;
  EXPECT_EQ(users_->GetCurrentUser(Context(erin.token).get(), {}, &user).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(users_->GetCurrentUser(Context(second).get(), {}, &user).ok());
}

TEST_F(UserServiceTest, ChangePasswordRevokesOtherSessionsAndNeedsTheCurrentPassword) {
  SignedInUser frank = SignUp("frank");
  std::string other = LoginToken("frank", "password-frank");
  v1::ChangePasswordRequest wrong;
  wrong.set_current_password("not-franks-password");
  wrong.set_new_password("brand-new-password");
  google::protobuf::Empty empty;
  EXPECT_EQ(users_->ChangePassword(Context(frank.token).get(), wrong, &empty).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::ChangePasswordRequest too_short;
  too_short.set_current_password("password-frank");
  too_short.set_new_password("short");
  EXPECT_EQ(users_->ChangePassword(Context(frank.token).get(), too_short, &empty).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::ChangePasswordRequest change;
  change.set_current_password("password-frank");
  change.set_new_password("brand-new-password");
  ASSERT_TRUE(users_->ChangePassword(Context(frank.token).get(), change, &empty).ok());
  v1::User user;
  EXPECT_TRUE(users_->GetCurrentUser(Context(frank.token).get(), {}, &user).ok());
  EXPECT_EQ(users_->GetCurrentUser(Context(other).get(), {}, &user).error_code(),
            StatusCode::UNAUTHENTICATED);
  v1::LoginRequest old_login;
  old_login.set_login("frank");
  old_login.set_password("password-frank");
  v1::LoginResponse response;
  EXPECT_EQ(users_->Login(Context().get(), old_login, &response).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(LoginToken("frank", "brand-new-password").empty());
}

TEST_F(UserServiceTest, ExpiredTokensAndDisabledAccountsAreRefused) {
  SignedInUser gina = SignUp("gina");
  std::string expiring = LoginToken("gina", "password-gina");
  database_->Query(
      "UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE id = "
      "(SELECT max(id) FROM user_sessions WHERE user_id = " +
      std::to_string(gina.user.id()) + ")");
  v1::User user;
  EXPECT_EQ(users_->GetCurrentUser(Context(expiring).get(), {}, &user).error_code(),
            StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(users_->GetCurrentUser(Context(gina.token).get(), {}, &user).ok());

  // An administrator disables the account: its tokens stop, it cannot log in.
  v1::UpdateUserRequest disable;
  disable.mutable_user()->set_id(gina.user.id());
  disable.mutable_user()->set_is_active(false);
  disable.mutable_update_mask()->add_paths("is_active");
  ASSERT_TRUE(users_->UpdateUser(Context(admin_->token).get(), disable, &user).ok());
  EXPECT_EQ(users_->GetCurrentUser(Context(gina.token).get(), {}, &user).error_code(),
            StatusCode::UNAUTHENTICATED);
  v1::LoginRequest login;
  login.set_login("gina");
  login.set_password("password-gina");
  v1::LoginResponse response;
  EXPECT_EQ(users_->Login(Context().get(), login, &response).error_code(),
            StatusCode::UNAUTHENTICATED);
}

TEST_F(UserServiceTest, UsersSeeThemselvesAndAdministratorsSeeEveryone) {
  SignedInUser hank = SignUp("hank");
  SignedInUser ivy = SignUp("ivy");
  v1::GetUserRequest get;
  get.set_id(ivy.user.id());
  v1::User user;
  EXPECT_EQ(users_->GetUser(Context(hank.token).get(), get, &user).error_code(),
            StatusCode::NOT_FOUND);
  ASSERT_TRUE(users_->GetUser(Context(ivy.token).get(), get, &user).ok());
  EXPECT_EQ(user.username(), "ivy");
  ASSERT_TRUE(users_->GetUser(Context(admin_->token).get(), get, &user).ok());

  v1::ListUsersResponse list;
  EXPECT_EQ(users_->ListUsers(Context(hank.token).get(), {}, &list).error_code(),
            StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(users_->ListUsers(Context(admin_->token).get(), {}, &list).ok());
  EXPECT_GE(list.users_size(), 3);

  v1::UpdateUserRequest escalate;
  escalate.mutable_user()->set_id(hank.user.id());
  escalate.mutable_user()->set_is_verified(true);
  escalate.mutable_update_mask()->add_paths("is_verified");
  EXPECT_EQ(users_->UpdateUser(Context(hank.token).get(), escalate, &user).error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(UserServiceTest, UpdateChangesOnlyMaskedFieldsAndRejectsBadMasks) {
  SignedInUser jack = SignUp("jack");
  v1::UpdateUserRequest request;
  request.mutable_user()->set_id(jack.user.id());
  request.mutable_user()->set_first_name("Jack");
  request.mutable_user()->set_last_name("Ignored");
  // Fields outside the mask are not validated either (docs/api.md).
  request.mutable_user()->set_phone_number(std::string(500, '9'));
  request.mutable_user()->set_email("not an email");
  request.mutable_update_mask()->add_paths("first_name");
  v1::User user;
  grpc::Status updated = users_->UpdateUser(Context(jack.token).get(), request, &user);
  ASSERT_TRUE(updated.ok()) << updated.error_message();
  EXPECT_EQ(user.first_name(), "Jack");
  EXPECT_FALSE(user.has_last_name());
  EXPECT_EQ(user.email(), "jack@example.com");

  for (const char* path : {"password_hash", "id", "created_at", "is_admin", "nonsense"}) {
    SCOPED_TRACE(path);
    v1::UpdateUserRequest bad;
    bad.mutable_user()->set_id(jack.user.id());
    bad.mutable_update_mask()->add_paths(path);
    grpc::Status status = users_->UpdateUser(Context(jack.token).get(), bad, &user);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(status.error_message().find(path), std::string::npos);
  }
  v1::UpdateUserRequest empty_mask;
  empty_mask.mutable_user()->set_id(jack.user.id());
  EXPECT_EQ(users_->UpdateUser(Context(jack.token).get(), empty_mask, &user).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(UserServiceTest, DeletingAnAccountRemovesEverythingItOwned) {
  SignedInUser kim = SignUp("kim");
  v1::DeviceType type = MakeDeviceType("Kim probe");
  v1::PlantType species = MakePlantType("Kim fern");
  MakeDevice(kim, type.id(), "kim-device-1");
  MakePlant(kim, species.id(), "Kim's fern");
  v1::DeleteUserRequest request;
  request.set_id(kim.user.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(users_->DeleteUser(Context(kim.token).get(), request, &empty).ok());
  const std::string id = std::to_string(kim.user.id());
  for (const char* table : {"users WHERE id", "devices WHERE user_id", "plants WHERE user_id",
                            "user_sessions WHERE user_id"}) {
    EXPECT_EQ(
        database_->Query(std::string("SELECT count(*) FROM ") + table + " = " + id)[0][0].as<int>(),
        0)
        << table;
  }
  v1::User user;
  EXPECT_EQ(users_->GetCurrentUser(Context(kim.token).get(), {}, &user).error_code(),
            StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace plantmon
