// Config errors beyond config_test.cpp (PRODUCT.md §3): every section's
// wrong types and unknown keys name the key, listen addresses are checked
// where they are read, channels and limits are bounded, a file that cannot be
// read or parsed is an error, and exposure is judged per listener.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "waymark/config.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

std::string error_of(const std::string& text) {
  auto c = config_from_json(json::parse(text));
  return c ? std::string("ok") : c.error().message;
}

::testing::AssertionResult names(const std::string& text, const std::string& key) {
  const std::string message = error_of(text);
  if (message != "ok" && message.find(key) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text << " -> " << message << " (expected a mention of " << key << ")";
}

TEST(ConfigErrors, ABadListenAddressNamesItsSection) {
  EXPECT_TRUE(names(R"({"tcp":{"listen":"localhost"}})", "tcp.listen"));
  EXPECT_TRUE(names(R"({"http":{"listen":"127.0.0.1:http"}})", "http.listen"));
  EXPECT_TRUE(names(R"({"cluster":{"listen":"127.0.0.1:70000"}})", "cluster.listen"));
  EXPECT_TRUE(names(R"({"tcp":{"listen":"[::1:7400"}})", "tcp.listen"));
  EXPECT_TRUE(names(R"({"tcp":{"listen":7400}})", "tcp.listen"));
  EXPECT_TRUE(names(R"({"tcp":{"port":7400}})", "tcp.port"));
  EXPECT_TRUE(names(R"({"tcp":"127.0.0.1:7400"})", "tcp"));
}

TEST(ConfigErrors, ListenAddressesAcceptIpv6AndNamesAndKeepThePort) {
  auto v6 = parse_host_port("[::1]:7400");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7400);
  auto named = parse_host_port("localhost:0");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->host, "localhost");
  EXPECT_EQ(named->port, 0);
  EXPECT_FALSE(parse_host_port("[::1]7400"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:-1"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:123456"));
  EXPECT_FALSE(parse_host_port(""));
}

TEST(ConfigErrors, WrongTypesInEverySectionNameTheKey) {
  EXPECT_TRUE(names(R"({"node":"n1"})", "node"));
  EXPECT_TRUE(names(R"({"node":{"id":1}})", "node.id"));
  EXPECT_TRUE(names(R"({"node":{"name":"x"}})", "node.name"));
  EXPECT_TRUE(names(R"({"data_dir":5})", "data_dir"));
  EXPECT_TRUE(names(R"({"journeys_dir":["a"]})", "journeys_dir"));
  EXPECT_TRUE(names(R"({"auth":[]})", "auth"));
  EXPECT_TRUE(names(R"({"auth":{"write_keys":"k"}})", "auth.write_keys"));
  EXPECT_TRUE(names(R"({"auth":{"admin_tokens":[1]}})", "auth.admin_tokens"));
  EXPECT_TRUE(names(R"({"auth":{"keys":[]}})", "auth.keys"));
  EXPECT_TRUE(names(R"({"cluster":{"peers":"a:1"}})", "cluster.peers"));
  EXPECT_TRUE(names(R"({"cluster":{"partitions":"many"}})", "cluster.partitions"));
  EXPECT_TRUE(names(R"({"cluster":{"partitions":0}})", "cluster.partitions"));
  EXPECT_TRUE(names(R"({"scheduler":{"threads":0}})", "scheduler.threads"));
  EXPECT_TRUE(names(R"({"limits":[]})", "limits"));
  EXPECT_TRUE(names(R"({"limits":{"json_depth_max":1}})", "limits.json_depth_max"));
  EXPECT_TRUE(names(R"({"limits":{"dedup_window_s":-5}})", "limits.dedup_window_s"));
  EXPECT_TRUE(names(R"({"channels":[]})", "channels"));
  EXPECT_EQ(error_of("[]").find("object") == std::string::npos, false);
}

TEST(ConfigErrors, ChannelErrorsNameTheChannelAndTheKey) {
  EXPECT_TRUE(names(R"({"channels":{"email":"file"}})", "channels.email"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"provider":"file","colour":"red"}}})", "channels.email.colour"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"rate_per_s":"fast"}}})", "channels.email.rate_per_s"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"in_flight_max":0}}})", "channels.email.in_flight_max"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"html_escape":"yes"}}})", "channels.email.html_escape"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"frequency_cap":{"max":0,"per":"1d"}}}})", "frequency_cap"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"frequency_cap":{"max":3,"per":"daily"}}}})", "frequency_cap.per"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"quiet_hours":{"start":"25:00","end":"08:00"}}}})", "quiet_hours"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"quiet_hours":{"start":"08:00","end":"08:00"}}}})", "quiet_hours"));
  EXPECT_TRUE(names(R"({"channels":{"Email":{}}})", "Email"));
  EXPECT_TRUE(names(R"({"channels":{"push":{"provider":"webhook"}}})", "channels.push.url"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"provider":"smtp","host":"127.0.0.1"}}})", "channels.email"));
}

TEST(ConfigErrors, ChannelPoliciesAreReadIntoWhatTheEngineChecks) {
  auto c = config_from_json(json::parse(R"({"channels":{"email":{"frequency_cap":{"max":3,"per":"1d"},
    "quiet_hours":{"start":"21:00","end":"08:00"}},"sms":{}}})"));
  ASSERT_TRUE(c) << c.error().message;
  const ChannelPolicy& email = c->channels.at("email").policy;
  ASSERT_TRUE(email.frequency_cap);
  EXPECT_EQ(email.frequency_cap->first, 3);
  EXPECT_EQ(email.frequency_cap->second, 86400000);
  ASSERT_TRUE(email.quiet_hours);
  EXPECT_EQ(email.quiet_hours->start_minute, 21 * 60);
  EXPECT_EQ(email.quiet_hours->end_minute, 8 * 60);
  EXPECT_TRUE(email.html_escape);
  EXPECT_EQ(email.address_trait, "email");
  EXPECT_EQ(c->channels.at("sms").policy.address_trait, "phone");
  EXPECT_FALSE(c->channels.at("sms").policy.html_escape);
  EXPECT_EQ(c->channels.size(), 2u) << "a channels section replaces the defaults";
}

TEST(ConfigErrors, AnEventLimitAboveTheLineLimitIsCappedToIt) {
  auto c = config_from_json(json::parse(R"({"limits":{"line_bytes_max":1024,"event_bytes_max":4096}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->limits.event_bytes_max, 1024u);
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/waymark-config-XXXXXX";
    int fd = ::mkstemp(tmpl);
    path = tmpl;
    std::ofstream(path) << text;
    if (fd >= 0)
      ::close(fd);
  }
  ~TempFile() { std::filesystem::remove(path); }
};

TEST(ConfigErrors, AFileThatIsMissingOrBrokenIsReportedWithItsPath) {
  auto absent = load_config("/nonexistent/waymark.json", false);
  ASSERT_TRUE(absent) << "an optional file that is missing gives the defaults";
  EXPECT_EQ(absent->tcp_listen, "127.0.0.1:7400");
  auto required = load_config("/nonexistent/waymark.json", true);
  ASSERT_FALSE(required);
  EXPECT_NE(required.error().message.find("/nonexistent/waymark.json"), std::string::npos);
  TempFile broken(R"({"tcp": {"listen": )");
  auto bad = load_config(broken.path, true);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(broken.path), std::string::npos);
  TempFile unknown(R"({"tpc": {}})");
  auto typo = load_config(unknown.path, true);
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("tpc"), std::string::npos);
  TempFile good(R"({"node": {"id": "n7"}})");
  auto ok = load_config(good.path, true);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->node_id, "n7");
}

TEST(ConfigErrors, ExposureIsJudgedPerListenerAndLoopbackNamesAreTrusted) {
  for (const char* local : {"127.0.0.1:7400", "127.1.2.3:7400", "localhost:7400", "[::1]:7400"}) {
    Config c = default_config();
    c.tcp_listen = local;
    c.http_listen = local;
    EXPECT_FALSE(check_exposure(c)) << local;
  }
  for (const char* open : {"0.0.0.0:7400", "[::]:7400", "192.0.2.10:7400", "example.com:7400"}) {
    Config c = default_config();
    c.tcp_listen = open;
    auto e = check_exposure(c);
    ASSERT_TRUE(e) << open;
    EXPECT_NE(e->message.find("tcp.listen"), std::string::npos);
    EXPECT_NE(e->message.find("write_keys"), std::string::npos);
  }
  Config http_only = default_config();
  http_only.http_listen = "0.0.0.0:7480";
  http_only.admin_tokens = {"t"};
  auto e = check_exposure(http_only);
  ASSERT_TRUE(e) << "the ingest endpoints would be open";
  EXPECT_NE(e->message.find("http.listen"), std::string::npos);
}

TEST(ConfigErrors, NumbersAreWholeWhereCountedAndBoundedAbove) {
  EXPECT_TRUE(names(R"({"limits":{"live_customers_max":1.5}})", "limits.live_customers_max"));
  EXPECT_NE(error_of(R"({"limits":{"live_customers_max":1.5}})").find("whole number"), std::string::npos);
  EXPECT_TRUE(names(R"({"limits":{"customer_idle_s":1e300}})", "limits.customer_idle_s"));
  EXPECT_TRUE(names(R"({"limits":{"json_depth_max":1025}})", "limits.json_depth_max"));
  EXPECT_NE(error_of(R"({"limits":{"json_depth_max":5000}})").find("<= 1024"), std::string::npos);
  EXPECT_EQ(error_of(R"({"limits":{"json_depth_max":1024,"live_customers_max":100000}})"), "ok");
  EXPECT_TRUE(names(R"({"cluster":{"partitions":1e20}})", "cluster.partitions"));
  EXPECT_TRUE(names(R"({"scheduler":{"threads":100000}})", "scheduler.threads"));
}

TEST(ConfigErrors, InputLogLimitsAreBoundedWholeNumbers) {
  EXPECT_TRUE(names(R"({"limits":{"snapshot_every":0}})", "limits.snapshot_every"));
  EXPECT_NE(error_of(R"({"limits":{"snapshot_every":4097}})").find("<= 4096"), std::string::npos);
  EXPECT_TRUE(names(R"({"limits":{"snapshot_every":2.5}})", "limits.snapshot_every"));
  EXPECT_TRUE(names(R"({"limits":{"snapshot_every":"16"}})", "limits.snapshot_every"));
  EXPECT_TRUE(names(R"({"limits":{"log_records_max":1023}})", "limits.log_records_max"));
  EXPECT_TRUE(names(R"({"limits":{"log_records_max":[1]}})", "limits.log_records_max"));
  auto c = config_from_json(json::parse(R"({"limits":{"snapshot_every":1,"log_records_max":1024}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->limits.snapshot_every, 1u);
  EXPECT_EQ(c->limits.log_records_max, 1024u);
  auto defaults = config_from_json(json::parse("{}"));
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->limits.snapshot_every, 16u);
  EXPECT_EQ(defaults->limits.log_records_max, 200000u);
}

// Issue #12: spans are subtracted from or added to now; past 100 years they
// could overflow (a frequency cap "per" of 9223372036854775s parsed).
TEST(ConfigErrors, SpansAreBoundedToAHundredYears) {
  EXPECT_TRUE(names(R"({"channels":{"email":{"frequency_cap":{"max":3,"per":"9223372036854775s"}}}})",
                    "frequency_cap.per"));
  EXPECT_NE(error_of(R"({"channels":{"email":{"frequency_cap":{"max":3,"per":"36526d"}}}})").find("100 years"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"channels":{"email":{"frequency_cap":{"max":3,"per":"36525d"}}}})"), "ok");
  for (const char* key : {"customer_idle_s", "history_age_s", "dedup_window_s"}) {
    EXPECT_TRUE(names(std::string(R"({"limits":{")") + key + R"(":3155760001}})", std::string("limits.") + key));
    EXPECT_EQ(error_of(std::string(R"({"limits":{")") + key + R"(":3155760000}})"), "ok") << key;
  }
}

TEST(ConfigErrors, ConnectionBoundsHaveDefaultsAndAreBounded) {
  auto defaults = config_from_json(json::parse("{}"));
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->limits.http_connections_max, 1000u);
  EXPECT_EQ(defaults->limits.connection_idle_s, 60);
  EXPECT_EQ(defaults->limits.connection_incomplete_s, 10);
  EXPECT_EQ(defaults->limits.node_unacked_bytes_max, 64u << 20);
  EXPECT_TRUE(names(R"({"limits":{"http_connections_max":0}})", "limits.http_connections_max"));
  EXPECT_TRUE(names(R"({"limits":{"http_connections_max":100001}})", "limits.http_connections_max"));
  EXPECT_TRUE(names(R"({"limits":{"connection_idle_s":0}})", "limits.connection_idle_s"));
  EXPECT_TRUE(names(R"({"limits":{"connection_idle_s":86401}})", "limits.connection_idle_s"));
  EXPECT_TRUE(names(R"({"limits":{"connection_incomplete_s":0.5}})", "limits.connection_incomplete_s"));
  EXPECT_TRUE(names(R"({"limits":{"connection_incomplete_s":3601}})", "limits.connection_incomplete_s"));
  EXPECT_TRUE(names(R"({"limits":{"node_unacked_bytes_max":65535}})", "limits.node_unacked_bytes_max"));
  EXPECT_TRUE(names(R"({"limits":{"node_unacked_bytes_max":"1G"}})", "limits.node_unacked_bytes_max"));
  auto c = config_from_json(json::parse(
    R"({"limits":{"http_connections_max":5,"connection_idle_s":2,"connection_incomplete_s":1,"node_unacked_bytes_max":65536}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->limits.http_connections_max, 5u);
  EXPECT_EQ(c->limits.connection_idle_s, 2);
  EXPECT_EQ(c->limits.connection_incomplete_s, 1);
  EXPECT_EQ(c->limits.node_unacked_bytes_max, 65536u);
}

TEST(ConfigErrors, PolicyObjectsRefuseUnknownKeysAndNamesMustNotBeEmpty) {
  EXPECT_TRUE(names(R"({"channels":{"email":{"provider":"file","frequency_cap":{"max":3,"per":"1d","pre":"1h"}}}})",
                    "channels.email.frequency_cap.pre"));
  EXPECT_TRUE(names(R"({"channels":{"email":{"provider":"file","quiet_hours":{"start":"21:00","end":"08:00","tz":"UTC"}}}})",
                    "channels.email.quiet_hours.tz"));
  EXPECT_TRUE(names(R"({"node":{"id":""}})", "node.id"));
  EXPECT_TRUE(names(R"({"data_dir":""})", "data_dir"));
}

}  // namespace
}  // namespace waymark

namespace waymark {
namespace {

TEST(ConfigCluster, TheClusterKeysAreReadAndBounded) {
  auto c = config_from_json(boost::json::parse(R"({"cluster":{"listen":"127.0.0.1:7441","peers":["127.0.0.1:7442"],
    "partitions":64,"forward_timeout_ms":500,"handshake_timeout_ms":800,"secret":"0123456789abcdef",
    "tls":{"cert":"n1.pem","key":"n1.key","ca":"ca.pem"}}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->clustered());
  EXPECT_EQ(c->forward_timeout_ms, 500);
  EXPECT_EQ(c->handshake_timeout_ms, 800);
  EXPECT_EQ(c->cluster_tls_ca, "ca.pem");
  EXPECT_EQ(default_config().forward_timeout_ms, 2000) << "PRODUCT.md §3";
  EXPECT_FALSE(default_config().clustered());
  EXPECT_TRUE(names(R"({"cluster":{"forward_timeout_ms":0}})", "cluster.forward_timeout_ms"));
  EXPECT_TRUE(names(R"({"cluster":{"forward_timeout_ms":1.5}})", "cluster.forward_timeout_ms"));
  EXPECT_TRUE(names(R"({"cluster":{"handshake_timeout_ms":"1s"}})", "cluster.handshake_timeout_ms"));
  EXPECT_TRUE(names(R"({"cluster":{"secret":"short"}})", "cluster.secret"));
  EXPECT_TRUE(names(R"({"cluster":{"tls":{"cert":"a","key":"b"}}})", "cluster.tls"));
  EXPECT_TRUE(names(R"({"cluster":{"tls":{"cert":"a","key":"b","ca":"c","crl":"d"}}})", "cluster.tls.crl"));
  EXPECT_TRUE(names(R"({"cluster":{"tls":"on"}})", "cluster.tls"));
  EXPECT_TRUE(names(R"({"cluster":{"peers":["127.0.0.1:7440"]}})", "twice")) << "a peer equal to cluster.listen";
  EXPECT_TRUE(names(R"({"cluster":{"peers":["127.0.0.1"]}})", "cluster.peers"));
}

TEST(ConfigCluster, AClusterListenerOffLoopbackNeedsASecretAndTls) {
  auto exposed = [](const std::string& extra) {
    auto c = config_from_json(boost::json::parse(
        R"({"cluster":{"listen":"10.1.1.1:7440","peers":["10.1.1.2:7440"])" + extra + "}}"));
    EXPECT_TRUE(c) << c.error().message;
    auto e = check_exposure(*c);
    return e ? e->message : std::string("ok");
  };
  EXPECT_NE(exposed("").find("cluster.secret or cluster.tls"), std::string::npos) << exposed("");
  EXPECT_NE(exposed(R"(,"secret":"0123456789abcdef")").find("refusing"), std::string::npos);
  EXPECT_EQ(exposed(R"(,"secret":"0123456789abcdef","tls":{"cert":"a","key":"b","ca":"c"})"), "ok");
  auto loopback = config_from_json(boost::json::parse(R"({"cluster":{"peers":["127.0.0.1:7441"]}})"));
  ASSERT_TRUE(loopback);
  EXPECT_FALSE(check_exposure(*loopback)) << "a loopback cluster is for tests and one-machine trials";
}

}  // namespace
}  // namespace waymark
