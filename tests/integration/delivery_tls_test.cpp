// TLS of the smtp (STARTTLS + AUTH) and webhook (https) providers against
// local TLS servers whose CA the test makes at run time (support/tls.hpp).
// The right CA and credentials deliver; an untrusted certificate, a server
// that does not offer STARTTLS and wrong credentials do not, and no password
// or mail ever crosses the wire in clear. Loopback servers are reachable
// because the smtp provider has no destination guard and the test webhook
// channel sets allow_private (delivery_helpers.hpp).
#include <gtest/gtest.h>

#include "integration/delivery_helpers.hpp"
#include "support/fixtures.hpp"
#include "support/http_receiver.hpp"
#include "support/smtp_server.hpp"
#include "support/tls.hpp"

namespace waymark::it {
namespace {

using namespace delivery;

constexpr const char* kUser = "waymark-mailer";
constexpr const char* kPassword = "s3cret-pw";

std::vector<std::string> signup(const std::string& user) {
  return {identify(user, {{"email", user + "@example.com"}, {"first_name", "Ada"}}), track(user, "Signed Up")};
}

class DeliveryTls : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok()) << pki_.error();
    ASSERT_TRUE(tls_.ok()) << "server TLS context";
  }

  json::object secure_smtp(uint16_t port, const std::string& ca_file, const std::string& password = kPassword) {
    return smtp_channel(port, {{"starttls", true},
                               {"username", kUser},
                               {"password", password},
                               {"ca_file", ca_file},
                               {"attempts_max", 3}});
  }

  TestPki pki_;
  TlsServerContext tls_{pki_.cert_file(), pki_.key_file()};
};

/// Runs a node with the given channels, sends `lines`, waits until nothing is pending.
::testing::AssertionResult run_until_final(Node& node, const std::vector<std::string>& lines, bool email) {
  if (!node.start())
    return ::testing::AssertionFailure() << "node did not start";
  auto deployed = email ? deploy(node, {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate},
                                 {fixtures::kOnboardingJourney})
                        : deploy(node, {kPingTemplate}, {kPingJourney});
  if (!deployed)
    return deployed;
  if (auto acked = send_all_acked(node, lines); !acked)
    return acked;
  return node.wait_outbox_drained();
}

NodeOptions with_channel(const char* name, json::object channel) {
  NodeOptions o;
  o.config["channels"] = json::object{{name, std::move(channel)}};
  return o;
}

TEST_F(DeliveryTls, SmtpWithStarttlsAndAuthDeliversInsideTlsWithTheRightCaAndCredentials) {
  SmtpServer smtp;
  smtp.offer_starttls(tls_.get());
  smtp.require_auth(kUser, kPassword);
  ASSERT_TRUE(smtp.start());
  Node node(with_channel("email", secure_smtp(smtp.port(), pki_.ca_file())));
  ASSERT_TRUE(run_until_final(node, signup("u1"), true));

  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "delivered") << d[0];
  auto mails = smtp.mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_TRUE(mails[0].over_tls);
  EXPECT_EQ(mails[0].auth_user, kUser);
  EXPECT_EQ(mails[0].rcpt_to.at(0), "u1@example.com");
  auto auths = smtp.auth_attempts();
  ASSERT_EQ(auths.size(), 1u);
  EXPECT_TRUE(auths[0].over_tls);
  EXPECT_TRUE(auths[0].accepted);
  EXPECT_EQ(smtp.tls_failures(), 0u);

  // A second mail reuses the authenticated TLS session (no new handshake or AUTH).
  ASSERT_TRUE(send_all_acked(node, signup("u2")));
  ASSERT_TRUE(smtp.wait_for(2, 5000));
  EXPECT_TRUE(smtp.mails().at(1).over_tls);
  EXPECT_EQ(smtp.mails().at(1).auth_user, kUser);
  EXPECT_EQ(smtp.connections(), 1u);
  EXPECT_EQ(smtp.auth_attempts().size(), 1u);
}

TEST_F(DeliveryTls, SmtpRefusesAServerCertificateItsCaDidNotSignAndSendsNoCredentials) {
  SmtpServer smtp;
  smtp.offer_starttls(tls_.get());
  smtp.require_auth(kUser, kPassword);
  ASSERT_TRUE(smtp.start());
  Node node(with_channel("email", secure_smtp(smtp.port(), pki_.other_ca_file())));
  ASSERT_TRUE(run_until_final(node, signup("u1"), true));

  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "dead") << d[0];
  EXPECT_EQ(int_at(d[0], "attempts"), 3) << d[0];
  EXPECT_NE(str_at(d[0], "detail").find("certificate"), std::string::npos) << d[0];
  EXPECT_GE(smtp.tls_failures(), 1u) << "the client never tried the handshake";
  EXPECT_TRUE(smtp.auth_attempts().empty()) << "credentials were sent to an untrusted server";
  EXPECT_TRUE(smtp.mails().empty());
}

TEST_F(DeliveryTls, SmtpWithStarttlsNeverFallsBackToClearWhenTheServerDoesNotOfferIt) {
  SmtpServer smtp;  // no STARTTLS; offers AUTH PLAIN in clear, to catch a client that would use it
  smtp.require_auth(kUser, kPassword);
  ASSERT_TRUE(smtp.start());
  Node node(with_channel("email", secure_smtp(smtp.port(), pki_.ca_file())));
  ASSERT_TRUE(run_until_final(node, signup("u1"), true));

  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "dead") << d[0];
  EXPECT_EQ(int_at(d[0], "attempts"), 3) << d[0];
  EXPECT_NE(str_at(d[0], "detail").find("STARTTLS"), std::string::npos) << d[0];
  EXPECT_GE(smtp.connections(), 1u);
  EXPECT_TRUE(smtp.auth_attempts().empty()) << "the password was sent in clear";
  EXPECT_TRUE(smtp.mails().empty()) << "the mail was sent in clear";
}

TEST_F(DeliveryTls, SmtpWithWrongCredentialsFailsWithoutSendingTheMail) {
  SmtpServer smtp;
  smtp.offer_starttls(tls_.get());
  smtp.require_auth(kUser, kPassword);
  ASSERT_TRUE(smtp.start());
  Node node(with_channel("email", secure_smtp(smtp.port(), pki_.ca_file(), "wrong-pw")));
  ASSERT_TRUE(run_until_final(node, signup("u1"), true));

  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "failed") << d[0];
  EXPECT_NE(str_at(d[0], "detail").find("535"), std::string::npos) << d[0];
  auto auths = smtp.auth_attempts();
  ASSERT_EQ(auths.size(), 1u);
  EXPECT_TRUE(auths[0].over_tls);
  EXPECT_FALSE(auths[0].accepted);
  EXPECT_TRUE(smtp.mails().empty());
}

TEST_F(DeliveryTls, HttpsWebhookIsDeliveredWhenTheChannelTrustsTheReceiversCa) {
  HttpReceiver rx;
  ASSERT_TRUE(rx.start_https(tls_.get()));
  ASSERT_EQ(rx.url().rfind("https://127.0.0.1:", 0), 0u) << rx.url();
  Node node(with_channel("push", webhook_channel(rx.url(), {{"ca_file", pki_.ca_file()}})));
  ASSERT_TRUE(run_until_final(node, ping_lines(1, 1), false));

  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "delivered") << d[0];
  ASSERT_EQ(rx.count(), 1u);
  EXPECT_EQ(rx.requests()[0].header("idempotency-key"), str_at(d[0], "id"));
  EXPECT_EQ(rx.tls_failures(), 0u);
}

TEST_F(DeliveryTls, HttpsWebhookWithAnUntrustedCertificateIsRetriedThenDeadAndNothingIsSent) {
  HttpReceiver rx;
  ASSERT_TRUE(rx.start_https(tls_.get()));
  for (const std::string& ca : {pki_.other_ca_file(), std::string()}) {  // another CA; the system store
    SCOPED_TRACE(ca.empty() ? "system CA store" : "another CA");
    json::object extra{{"attempts_max", 3}};
    if (!ca.empty())
      extra["ca_file"] = ca;
    Node node(with_channel("push", webhook_channel(rx.url(), extra)));
    ASSERT_TRUE(run_until_final(node, ping_lines(1, 1), false));
    auto d = deliveries_of(node, "u1");
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(str_at(d[0], "status"), "dead") << d[0];
    EXPECT_EQ(int_at(d[0], "attempts"), 3) << d[0];
    EXPECT_NE(str_at(d[0], "detail").find("transport: SSL peer certificate"), std::string::npos) << d[0];
    EXPECT_NE(str_at(d[0], "detail").find("certificate problem"), std::string::npos) << d[0];
  }
  EXPECT_GE(rx.tls_failures(), 2u);
  EXPECT_EQ(rx.count(), 0u) << "a request reached an untrusted server";
}

}  // namespace
}  // namespace waymark::it
