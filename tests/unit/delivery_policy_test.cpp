// Pure pieces of delivery: token bucket, retry schedule, destination guard,
// channel config validation, Retry-After parsing and the SMTP message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "channel/delivery_policy.hpp"
#include "channel/net_guard.hpp"
#include "channel/providers/smtp/smtp_provider.hpp"
#include "channel/providers/webhook/webhook_provider.hpp"
#include "waymark/config.hpp"

namespace waymark {
namespace {

namespace json = boost::json;

TEST(TokenBucket, StartsWithBurstTokensThenRefillsAtTheRate) {
  TokenBucket b(5, 2, 0);
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  EXPECT_EQ(b.wait_ms(0), 200);
  EXPECT_FALSE(b.take(199));
  EXPECT_TRUE(b.take(200));
  EXPECT_FALSE(b.take(200));
}

TEST(TokenBucket, NeverHoldsMoreThanBurstAfterALongIdle) {
  TokenBucket b(10, 3, 0);
  int taken = 0;
  while (b.take(100000))
    ++taken;
  EXPECT_EQ(taken, 3);
}

TEST(TokenBucket, ARateOfZeroIsUnlimited) {
  TokenBucket b(0, 0, 0);
  for (int i = 0; i < 10000; ++i)
    ASSERT_TRUE(b.take(0));
  EXPECT_EQ(b.wait_ms(0), 0);
}

TEST(RetryDelay, DoublesWithJitterAndStaysUnderTheCap) {
  RetryPolicy p;
  p.backoff_base_ms = 100;
  p.backoff_max_ms = 1000;
  std::mt19937_64 rng(42);  // fixed seed: deterministic
  for (int n = 1; n <= 10; ++n) {
    int64_t full = std::min<int64_t>(1000, 100LL << (n - 1));
    for (int k = 0; k < 50; ++k) {
      auto d = retry_delay_ms(p, n, 0, rng);
      ASSERT_GE(d, full / 2) << n;
      ASSERT_LE(d, full) << n;
    }
  }
}

TEST(RetryDelay, NeverShorterThanRetryAfterButRetryAfterIsBounded) {
  RetryPolicy p;
  p.backoff_base_ms = 10;
  std::mt19937_64 rng(7);
  EXPECT_GE(retry_delay_ms(p, 1, 5000, rng), 5000);
  EXPECT_EQ(retry_delay_ms(p, 1, int64_t(1) << 40, rng), p.retry_after_max_ms);
}

TEST(RetryAfter, AcceptsSecondsAndHttpDates) {
  EXPECT_EQ(parse_retry_after_ms("3", 0), 3000);
  EXPECT_EQ(parse_retry_after_ms("", 0), 0);
  EXPECT_EQ(parse_retry_after_ms("soon", 0), 0);
  // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
  EXPECT_EQ(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470), 10000);
}

TEST(NetGuard, RecognisesPrivateLoopbackAndLinkLocalAddresses) {
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                         "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "100.64.0.1"})
    EXPECT_TRUE(private_ip_reason(ip)) << ip;
  for (const char* ip : {"8.8.8.8", "172.32.0.1", "93.184.216.34", "2606:4700::1111"})
    EXPECT_FALSE(private_ip_reason(ip)) << ip;
}

TEST(NetGuard, ChecksLiteralHostsOfUrls) {
  EXPECT_EQ(url_host("http://user:pw@[::1]:8080/x"), "::1");
  EXPECT_EQ(url_host("https://example.com:443/hook?a=b"), "example.com");
  EXPECT_TRUE(literal_private_destination("http://127.0.0.1:9000/push"));
  EXPECT_TRUE(literal_private_destination("http://LOCALHOST/push"));
  EXPECT_FALSE(literal_private_destination("https://hooks.example.com/push"));
}

Result<Config> channels(const std::string& text) { return config_from_json(json::parse(text)); }

TEST(ChannelConfig, AWebhookToALoopbackAddressIsRefusedUnlessAllowPrivate) {
  auto refused = channels(R"({"channels":{"push":{"provider":"webhook","url":"http://127.0.0.1:9000/push"}}})");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("allow_private"), std::string::npos) << refused.error().message;
  auto allowed = channels(
    R"({"channels":{"push":{"provider":"webhook","url":"http://127.0.0.1:9000/push","allow_private":true}}})");
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_TRUE(allowed->channels.at("push").allow_private);
  EXPECT_EQ(allowed->channels.at("push").url, "http://127.0.0.1:9000/push");
}

TEST(ChannelConfig, ProviderKeysAreTypedAndBounded) {
  auto ok = channels(R"({"channels":{"email":{"provider":"smtp","host":"mx.example.com","port":587,
    "from":"a@example.com","starttls":true,"username":"u","password":"p","timeout_ms":3000,"in_flight_max":4}}})");
  ASSERT_TRUE(ok) << ok.error().message;
  auto& e = ok->channels.at("email");
  EXPECT_EQ(e.port, 587);
  EXPECT_TRUE(e.starttls);
  EXPECT_EQ(e.timeout_ms, 3000);
  EXPECT_FALSE(channels(R"({"channels":{"email":{"provider":"smtp","host":"h"}}})"));
  EXPECT_FALSE(channels(R"({"channels":{"email":{"provider":"smtp","host":"h","from":"f","port":70000}}})"));
  EXPECT_FALSE(channels(R"({"channels":{"sms":{"in_flight_max":5000}}})"));
  EXPECT_FALSE(channels(R"({"channels":{"sms":{"backoff_base_ms":100,"backoff_max_ms":50}}})"));
  EXPECT_FALSE(channels(R"({"channels":{"push":{"provider":"webhook","url":"ftp://x"}}})"));
  EXPECT_FALSE(channels(R"({"channels":{"push":{"starttls":"yes"}}})"));
}

TEST(ChannelConfig, SmtpCredentialsNeedStarttlsUnlessTheServerIsOnLoopback) {
  auto clear = channels(R"({"channels":{"email":{"provider":"smtp","host":"mx.example.com","from":"a@example.com",
    "username":"u","password":"p"}}})");
  ASSERT_FALSE(clear);
  EXPECT_NE(clear.error().message.find("channels.email.username needs \"starttls\": true"), std::string::npos)
    << clear.error().message;
  EXPECT_TRUE(channels(R"({"channels":{"email":{"provider":"smtp","host":"mx.example.com","from":"a@example.com",
    "username":"u","password":"p","starttls":true}}})"));
  EXPECT_TRUE(channels(R"({"channels":{"email":{"provider":"smtp","host":"127.0.0.1","from":"a@example.com",
    "username":"u","password":"p"}}})"));
}

TEST(ChannelConfig, CaFileMustBeAReadableFile) {
  auto missing = channels(R"({"channels":{"push":{"provider":"webhook","url":"https://hooks.example.com/x",
    "ca_file":"/nonexistent/ca.pem"}}})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("channels.push.ca_file '/nonexistent/ca.pem' is not a readable file"),
            std::string::npos)
    << missing.error().message;
  EXPECT_FALSE(channels(R"({"channels":{"push":{"provider":"webhook","url":"https://h.example.com","ca_file":"/tmp"}}})"));
  EXPECT_FALSE(channels(R"({"channels":{"push":{"provider":"webhook","url":"https://h.example.com","ca_file":7}}})"));
  char path[] = "/tmp/waymark-ca-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto ok = channels(R"({"channels":{"email":{"provider":"smtp","host":"mx.example.com","from":"a@example.com",
    "starttls":true,"ca_file":")" + std::string(path) + R"("}}})");
  ::unlink(path);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->channels.at("email").ca_file, path);
}

TEST(SmtpMessage, CarriesTheMessageIdDerivedFromTheKeyAndRefusesHeaderInjection) {
  json::object rec{{"id", "d0123abc"}, {"to", "ada@example.com"}, {"at", "2030-01-15T03:00:00Z"},
                   {"journey", "j"}, {"step", "s"},
                   {"content", json::object{{"subject", "Grüße"}, {"body", "line1\nline2"}}}};
  auto m = smtp_message(rec, "Waymark <noreply@example.com>");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_NE(m->find("Message-ID: <d0123abc@waymark>\r\n"), std::string::npos) << *m;
  EXPECT_NE(m->find("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"), std::string::npos) << *m;
  EXPECT_NE(m->find("Date: Tue, 15 Jan 2030 03:00:00 +0000\r\n"), std::string::npos) << *m;
  EXPECT_NE(m->find("\r\n\r\nline1\r\nline2"), std::string::npos) << *m;
  rec["to"] = "a@b.c\r\nBcc: victim@example.com";
  EXPECT_FALSE(smtp_message(rec, "x@example.com"));
  EXPECT_EQ(message_id_for("a b<c>"), "<a_b_c_@waymark>");
}

}  // namespace
}  // namespace waymark
