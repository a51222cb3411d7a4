// Credential parsing and comparison used by the HTTP API's auth
// (src/http/router.hpp): Bearer tokens, Basic-auth write keys (Segment sends
// base64("key:")), and the constant-time membership check.
#include <gtest/gtest.h>

#include "http/router.hpp"

namespace waymark::http {
namespace {

Request with_authorization(const std::string& value) {
  Request r;
  r.headers["authorization"] = value;
  return r;
}

TEST(HttpCredentials, ABearerTokenIsReadWhateverTheSchemeCase) {
  EXPECT_EQ(bearer_token(with_authorization("Bearer adm-1")), "adm-1");
  EXPECT_EQ(bearer_token(with_authorization("bearer adm-1")), "adm-1");
  EXPECT_FALSE(bearer_token(with_authorization("Basic YWRtLTE6")));
  EXPECT_FALSE(bearer_token(Request{}));
}

TEST(HttpCredentials, TheBasicUserNameIsTheWriteKeyAndThePasswordIsIgnored) {
  EXPECT_EQ(basic_auth_user(with_authorization("Basic d2stdGVzdDo=")), "wk-test");     // "wk-test:"
  EXPECT_EQ(basic_auth_user(with_authorization("Basic d2stdGVzdDpwdw==")), "wk-test");  // "wk-test:pw"
  EXPECT_FALSE(basic_auth_user(with_authorization("Basic !!not-base64!!")));
  EXPECT_FALSE(basic_auth_user(with_authorization("Bearer d2stdGVzdDo=")));
}

TEST(HttpCredentials, ACredentialMatchesOnlyAnIdenticalAcceptedOne) {
  std::vector<std::string> accepted{"alpha-key", "beta"};
  EXPECT_TRUE(credential_in("alpha-key", accepted));
  EXPECT_TRUE(credential_in("beta", accepted));
  EXPECT_FALSE(credential_in("alpha-ke", accepted)) << "a prefix is not the key";
  EXPECT_FALSE(credential_in("alpha-keyy", accepted));
  EXPECT_FALSE(credential_in("betabeta", accepted)) << "a repetition is not the key";
  EXPECT_FALSE(credential_in("", accepted));
  EXPECT_FALSE(credential_in("beta", {}));
  EXPECT_FALSE(credential_in("", {""})) << "an empty configured key never matches";
}

}  // namespace
}  // namespace waymark::http
