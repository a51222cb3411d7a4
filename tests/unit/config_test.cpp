// Config parsing (PRODUCT.md §3, config/README.md): defaults, errors naming
// the key, and the refusal to expose a listener without credentials.
#include <gtest/gtest.h>

#include <string>

#include "waymark/config.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

std::string error_of(const std::string& text) {
  auto c = config_from_json(json::parse(text));
  return c ? std::string() : c.error().message;
}

TEST(Config, AnEmptyDocumentGivesTheDocumentedDefaults) {
  auto c = config_from_json(json::object{});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->tcp_listen, "127.0.0.1:7400");
  EXPECT_EQ(c->http_listen, "127.0.0.1:7480");
  EXPECT_EQ(c->data_dir, "data");
  EXPECT_EQ(c->partitions, 256);
  EXPECT_EQ(c->limits.line_bytes_max, 1u << 20);
  EXPECT_EQ(c->limits.event_bytes_max, 32u * 1024);
  EXPECT_EQ(c->limits.connection_unacked_max, 65536u);
  for (const char* ch : {"email", "sms", "push", "webhook", "inapp"})
    EXPECT_EQ(c->channels.at(ch).provider, "file") << ch;
}

TEST(Config, UnknownKeysAndWrongTypesNameTheKey) {
  EXPECT_NE(error_of(R"({"colour":"red"})").find("colour"), std::string::npos);
  EXPECT_NE(error_of(R"({"limits":{"line_bytes":5}})").find("limits.line_bytes"), std::string::npos);
  EXPECT_NE(error_of(R"({"limits":{"line_bytes_max":"big"}})").find("line_bytes_max"), std::string::npos);
  EXPECT_NE(error_of(R"({"limits":{"line_bytes_max":10}})").find("line_bytes_max"), std::string::npos)
    << "below the documented minimum";
  EXPECT_NE(error_of(R"({"channels":{"email":{"provider":"pigeon"}}})").find("provider"), std::string::npos);
  EXPECT_NE(error_of(R"({"clock":"sundial"})").find("clock"), std::string::npos);
  EXPECT_NE(error_of(R"({"scheduler":{"policy":"random"}})").find("scheduler.policy"), std::string::npos);
}

TEST(Config, ListenAddressesMustBeHostAndPort) {
  EXPECT_TRUE(parse_host_port("127.0.0.1:7400"));
  EXPECT_TRUE(parse_host_port("0.0.0.0:0"));
  EXPECT_FALSE(parse_host_port("127.0.0.1"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:99999"));
  EXPECT_FALSE(parse_host_port(":x"));
}

TEST(Config, AListenerOffLoopbackNeedsCredentials) {
  auto c = config_from_json(json::parse(R"({"tcp":{"listen":"0.0.0.0:7400"}})"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(check_exposure(*c));
  c->write_keys = {"k"};
  EXPECT_FALSE(check_exposure(*c));
  auto h = config_from_json(json::parse(R"({"http":{"listen":"0.0.0.0:7480"},"auth":{"write_keys":["k"]}})"));
  ASSERT_TRUE(h);
  EXPECT_TRUE(check_exposure(*h)) << "the admin API would be open";
  h->admin_tokens = {"t"};
  EXPECT_FALSE(check_exposure(*h));
  auto local = config_from_json(json::object{});
  EXPECT_FALSE(check_exposure(*local));
  EXPECT_TRUE(is_loopback_host("127.0.0.2"));
  EXPECT_FALSE(is_loopback_host("127.attacker.example")) << "a host name that merely starts with 127.";
  auto named = config_from_json(json::parse(R"({"tcp":{"listen":"127.attacker.example:7400"}})"));
  ASSERT_TRUE(named);
  EXPECT_TRUE(check_exposure(*named));
}

}  // namespace
}  // namespace waymark
