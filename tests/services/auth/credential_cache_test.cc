#include "services/auth/credential_cache.h"

#include <gtest/gtest.h>

namespace plantmon::auth {
namespace {

Caller SessionCaller(int64_t user_id, int64_t session_id) {
  Caller caller;
  caller.user.set_id(user_id);
  caller.session_id = session_id;
  return caller;
}

Caller KeyCaller(int64_t user_id, int64_t api_key_id) {
  Caller caller;
  caller.user.set_id(user_id);
  caller.api_key_id = api_key_id;
  return caller;
}

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(CredentialCacheTest, HoldsNothingUntilTrusted) {
  CredentialCache cache(10, absl::Seconds(30));
  cache.Put(cache.generation(), "t", SessionCaller(1, 1), absl::InfiniteFuture(), kNow);
  EXPECT_FALSE(cache.Find("t", kNow).has_value());
  cache.SetTrusted(true);
  cache.Put(cache.generation(), "t", SessionCaller(1, 1), absl::InfiniteFuture(), kNow);
  ASSERT_TRUE(cache.Find("t", kNow).has_value());
  EXPECT_EQ(cache.Find("t", kNow)->session_id, 1);
  // Losing the notifications empties it and turns it off.
  cache.SetTrusted(false);
  EXPECT_FALSE(cache.Find("t", kNow).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CredentialCacheTest, EntriesLapseAtTheTtlOrTheTokensExpiryWhicheverIsFirst) {
  CredentialCache cache(10, absl::Seconds(30));
  cache.SetTrusted(true);
  cache.Put(cache.generation(), "long", SessionCaller(1, 1), kNow + absl::Hours(1), kNow);
  cache.Put(cache.generation(), "short", SessionCaller(1, 2), kNow + absl::Seconds(5), kNow);
  EXPECT_TRUE(cache.Find("long", kNow + absl::Seconds(29)).has_value());
  EXPECT_FALSE(cache.Find("long", kNow + absl::Seconds(30)).has_value());
  EXPECT_TRUE(cache.Find("short", kNow + absl::Seconds(4)).has_value());
  EXPECT_FALSE(cache.Find("short", kNow + absl::Seconds(5)).has_value());
}

TEST(CredentialCacheTest, ForgetsBySessionKeyAndUser) {
  CredentialCache cache(10, absl::Seconds(30));
  cache.SetTrusted(true);
  cache.Put(cache.generation(), "s1", SessionCaller(1, 11), absl::InfiniteFuture(), kNow);
  cache.Put(cache.generation(), "s2", SessionCaller(1, 12), absl::InfiniteFuture(), kNow);
  cache.Put(cache.generation(), "k1", KeyCaller(1, 21), absl::InfiniteFuture(), kNow);
  cache.Put(cache.generation(), "other", SessionCaller(2, 31), absl::InfiniteFuture(), kNow);
  cache.Forget(CredentialKind::kSession, 11);
  EXPECT_FALSE(cache.Find("s1", kNow).has_value());
  EXPECT_TRUE(cache.Find("s2", kNow).has_value());
  cache.Forget(CredentialKind::kApiKey, 21);
  EXPECT_FALSE(cache.Find("k1", kNow).has_value());
  cache.Forget(CredentialKind::kUser, 1);
  EXPECT_FALSE(cache.Find("s2", kNow).has_value());
  EXPECT_TRUE(cache.Find("other", kNow).has_value());
}

// A revocation that lands while the database is being read must win over the
// (older) answer the read brings back.
TEST(CredentialCacheTest, ALookupThatStartedBeforeARevocationIsNotStored) {
  CredentialCache cache(10, absl::Seconds(30));
  cache.SetTrusted(true);
  const uint64_t ticket = cache.generation();
  cache.Forget(CredentialKind::kSession, 11);
  cache.Put(ticket, "s1", SessionCaller(1, 11), absl::InfiniteFuture(), kNow);
  EXPECT_FALSE(cache.Find("s1", kNow).has_value());
}

TEST(CredentialCacheTest, StaysWithinItsBound) {
  CredentialCache cache(3, absl::Seconds(30));
  cache.SetTrusted(true);
  for (int i = 0; i < 20; ++i) {
    cache.Put(cache.generation(), "t" + std::to_string(i), SessionCaller(1, i),
              absl::InfiniteFuture(), kNow);
    EXPECT_LE(cache.size(), 3u);
  }
  EXPECT_TRUE(cache.Find("t19", kNow).has_value());
}

}  // namespace
}  // namespace plantmon::auth
