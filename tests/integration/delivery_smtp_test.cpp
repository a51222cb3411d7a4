// The smtp provider against a real SMTP server on loopback, and channel
// isolation: a slow webhook receiver delays neither e-mail nor acks.
#include <gtest/gtest.h>

#include "integration/delivery_helpers.hpp"
#include "support/fixtures.hpp"
#include "support/http_receiver.hpp"
#include "support/smtp_server.hpp"

namespace waymark::it {
namespace {

using namespace delivery;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::vector<std::string> signup(const std::string& user, const std::string& email, const std::string& name) {
  return {identify(user, {{"email", email}, {"first_name", name}}), track(user, "Signed Up")};
}

TEST(DeliverySmtp, TheServerReceivesThePersonalisedMailWithTheRightRecipientAndMessageId) {
  SmtpServer smtp;
  ASSERT_TRUE(smtp.start());
  NodeOptions o;
  o.config["channels"] = json::object{{"email", smtp_channel(smtp.port())}};
  Node node(o);
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate}, {fixtures::kOnboardingJourney}));
  ASSERT_TRUE(send_all_acked(node, signup("u1", "ada@example.com", "Ada")));
  ASSERT_TRUE(smtp.wait_for(1, 5000));
  ASSERT_TRUE(node.wait_outbox_drained());

  auto mail = smtp.mails().at(0);
  auto deliveries = deliveries_of(node, "u1");
  ASSERT_EQ(deliveries.size(), 1u);
  const std::string key = str_at(deliveries[0], "id");
  EXPECT_EQ(mail.mail_from, "noreply@waymark.test");
  ASSERT_EQ(mail.rcpt_to.size(), 1u);
  EXPECT_EQ(mail.rcpt_to[0], "ada@example.com");
  EXPECT_EQ(mail.header("to"), "<ada@example.com>");
  EXPECT_EQ(mail.header("from"), "Waymark <noreply@waymark.test>");
  EXPECT_EQ(mail.header("subject"), "Welcome, Ada");
  EXPECT_EQ(mail.header("message-id"), "<" + key + "@waymark>");
  EXPECT_NE(mail.body.find("Hello Ada, thanks for signing up."), std::string::npos) << mail.body;
  EXPECT_EQ(str_at(deliveries[0], "status"), "delivered") << deliveries[0];
  EXPECT_EQ(smtp.mails().size(), 1u);

  // A second mail reuses the connection (no new TCP + EHLO per mail).
  ASSERT_TRUE(send_all_acked(node, signup("u2", "bob@example.com", "Bob")));
  ASSERT_TRUE(smtp.wait_for(2, 5000));
  EXPECT_EQ(smtp.connections(), 1u);
}

TEST(DeliverySmtp, AConnectionLostAfterTheDataIsRecordedAsUnknownAndNotResent) {
  SmtpServer smtp;
  ASSERT_TRUE(smtp.start());
  smtp.drop_after_data(1);
  NodeOptions o;
  o.config["channels"] = json::object{{"email", smtp_channel(smtp.port())}};
  Node node(o);
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate}, {fixtures::kOnboardingJourney}));
  ASSERT_TRUE(send_all_acked(node, signup("u1", "ada@example.com", "Ada")));
  ASSERT_TRUE(smtp.wait_for(1, 5000));
  ASSERT_TRUE(node.wait_outbox_drained());  // the outcome is final: nothing left to resend
  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "unknown") << d[0];
  EXPECT_EQ(int_at(d[0], "attempts"), 1) << d[0];
  auto mails = smtp.mails();
  ASSERT_EQ(mails.size(), 1u) << "resent after an unknown outcome";
  EXPECT_FALSE(mails[0].acknowledged);
}

TEST(DeliverySmtp, AReceiverTakingTwoSecondsPerRequestDelaysNeitherEmailNorAcks) {
  HttpReceiver slow([](const ReceivedRequest&, size_t) { return Reply{200, {}, "ok", 2000}; });
  ASSERT_TRUE(slow.start());
  SmtpServer smtp;
  ASSERT_TRUE(smtp.start());
  NodeOptions o;
  o.config["channels"] = json::object{{"push", webhook_channel(slow.url(), {{"in_flight_max", 2}})},
                                      {"email", smtp_channel(smtp.port())}};
  Node node(o);
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate, fixtures::kWelcomeTemplate, fixtures::kReminderTemplate},
                     {kPingJourney, fixtures::kOnboardingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 10)));
  ASSERT_TRUE(slow.wait_for(2, 5000));  // both push slots are now stuck for 2 s

  auto t0 = Clock::now();
  ASSERT_TRUE(send_all_acked(node, signup("m1", "grace@example.com", "Grace"), 1000));
  auto ack_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
  ASSERT_TRUE(smtp.wait_for(1, 1000)) << "e-mail waited for the slow webhook";
  auto mail_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
  EXPECT_LT(ack_ms, 500);
  EXPECT_LT(mail_ms, 1000);
  EXPECT_EQ(slow.count(), 2u) << "the push channel was not actually stuck during the measurement";
  EXPECT_EQ(smtp.mails().at(0).rcpt_to.at(0), "grace@example.com");
}

}  // namespace
}  // namespace waymark::it
