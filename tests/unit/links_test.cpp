// Tracked links and {{delivery.id}} (PRODUCT.md §10 "Engagement feedback"):
// signing (src/links/links.cpp), the link key kept in the data dir, the
// http.public_url / http.link_secret config keys, and links in templates
// (src/journey/template.cpp). Signatures are checked against vectors made
// with Python's hmac module: HMAC-SHA256(key, "<delivery>\x1f<n>\x1f<url>"),
// first 16 bytes, base64url without padding.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "waymark/config.hpp"
#include "waymark/links.hpp"
#include "waymark/template.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

const std::string kKey = "test-link-secret-0123";
const std::string kPricing1 = "https://example.com/pricing?utm=1";
const std::string kPricing2 = "https://example.com/pricing?utm=2";

TEST(Links, Base64UrlFollowsRfc4648WithoutPadding) {
  EXPECT_EQ(links::base64url(""), "");
  EXPECT_EQ(links::base64url("f"), "Zg");
  EXPECT_EQ(links::base64url("fo"), "Zm8");
  EXPECT_EQ(links::base64url("foo"), "Zm9v");
  EXPECT_EQ(links::base64url("foob"), "Zm9vYg");
  EXPECT_EQ(links::base64url("\xfb\xff"), "-_8") << "62 and 63 are '-' and '_'";
}

TEST(Links, SignaturesMatchFixedVectors) {
  EXPECT_EQ(links::signature(kKey, "d0123abc", 0, kPricing1), "5kDs1qDHvBiQM3mPuuf6kQ");
  EXPECT_EQ(links::signature(kKey, "d0123abc", 1, kPricing1), "BZZqWAym8ZgVWS2sUgPjBA");
  EXPECT_EQ(links::signature(kKey, "d0123abc", 0, kPricing2), "FQ2zzYloffAwpyMuwSkcZQ");
  EXPECT_EQ(links::signature(kKey, "d0123abc", 2, kPricing2), "IsEUIqT_RWiks1COJOIySw");
}

TEST(Links, VerifyAcceptsOnlyTheExactDeliveryIndexTargetAndKey) {
  EXPECT_TRUE(links::verify(kKey, "d0123abc", 0, kPricing1, "5kDs1qDHvBiQM3mPuuf6kQ"));
  EXPECT_FALSE(links::verify(kKey, "d0123abc", 0, kPricing1, "5kDs1qDHvBiQM3mPuuf6kR")) << "one character off";
  EXPECT_FALSE(links::verify(kKey, "d0123abc", 1, kPricing1, "5kDs1qDHvBiQM3mPuuf6kQ")) << "another n";
  EXPECT_FALSE(links::verify(kKey, "d0123abd", 0, kPricing1, "5kDs1qDHvBiQM3mPuuf6kQ")) << "another delivery";
  EXPECT_FALSE(links::verify(kKey, "d0123abc", 0, kPricing2, "5kDs1qDHvBiQM3mPuuf6kQ")) << "another target";
  EXPECT_FALSE(links::verify("another-secret-key", "d0123abc", 0, kPricing1, "5kDs1qDHvBiQM3mPuuf6kQ"));
  EXPECT_FALSE(links::verify(kKey, "d0123abc", 0, kPricing1, "5kDs1qDHvBiQM3mPuuf6k")) << "truncated";
  EXPECT_FALSE(links::verify(kKey, "d0123abc", 0, kPricing1, "")) << "empty";
  EXPECT_FALSE(links::verify("", "d0123abc", 0, kPricing1, links::signature("", "d0123abc", 0, kPricing1)))
      << "no key, no valid link";
}

TEST(Links, TrackedUrlIsPublicUrlSlashRDeliveryIndexSignature) {
  LinkKeys keys{"http://mail.example:7480", kKey};
  EXPECT_EQ(links::tracked_url(keys, "d0123abc", 1, kPricing1),
            "http://mail.example:7480/r/d0123abc/1/BZZqWAym8ZgVWS2sUgPjBA");
}

TEST(Links, TargetsMustBeAbsoluteHttpUrlsWithAHost) {
  EXPECT_FALSE(links::target_problem("https://example.com/a?b=1#c"));
  EXPECT_FALSE(links::target_problem("http://example.com"));
  EXPECT_FALSE(links::target_problem("https://user@example.com:8443/x"));
  for (const char* bad : {"ftp://example.com/", "example.com/a", "/relative", "https://", "https:///path",
                          "https://exa mple.com/", "javascript:alert(1)", "https://e.com/\"x", "https://e.com/<a>",
                          "HTTPS://example.com/", "https://:80/"})
    EXPECT_TRUE(links::target_problem(bad)) << bad;
  EXPECT_TRUE(links::target_problem("https://e.com/" + std::string(links::kTargetBytesMax, 'a')));
}

TEST(Links, PublicUrlIsNormalisedAndDerivedFromTheListener) {
  EXPECT_EQ(*links::normalize_public_url("https://t.example.com/"), "https://t.example.com");
  EXPECT_EQ(*links::normalize_public_url("https://t.example.com/mail"), "https://t.example.com/mail");
  EXPECT_FALSE(links::normalize_public_url("t.example.com"));
  EXPECT_FALSE(links::normalize_public_url("https://t.example.com/?a=1"));
  EXPECT_EQ(links::public_url_for("127.0.0.1", 7480), "http://127.0.0.1:7480");
  EXPECT_EQ(links::public_url_for("0.0.0.0", 80), "http://127.0.0.1:80");
  EXPECT_EQ(links::public_url_for("::", 7480), "http://[::1]:7480");
  EXPECT_EQ(links::public_url_for("::1", 7480), "http://[::1]:7480");
}

TEST(Links, TheKeyIsMadeOnceInTheDataDirWithMode0600) {
  char tmpl[] = "/tmp/waymark-links-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  const std::string dir = tmpl;
  auto first = links::load_or_create_key(dir);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->size(), 64u) << "32 random bytes as hex";
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/link_secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = links::load_or_create_key(dir);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, *first) << "the same key on the next start: old links keep working";
  std::ofstream(dir + "/link_secret") << "not hex\n";
  auto bad = links::load_or_create_key(dir);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("link_secret"), std::string::npos);
  ::unlink((dir + "/link_secret").c_str());
  ::rmdir(dir.c_str());
}

TEST(Links, ConfigKeysAreParsedWithBounds) {
  auto defaults = config_from_json(json::parse("{}"));
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->http_public_url, "") << "derived from http.listen at start";
  EXPECT_EQ(defaults->http_link_secret, "") << "made in the data dir at start";
  auto set = config_from_json(json::parse(
      R"({"http":{"listen":"127.0.0.1:7480","public_url":"https://t.example.com/","link_secret":"0123456789abcdef"}})"));
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->http_public_url, "https://t.example.com");
  EXPECT_EQ(set->http_link_secret, "0123456789abcdef");
  for (const char* bad : {R"({"http":{"public_url":"t.example.com"}})", R"({"http":{"public_url":7}})",
                          R"({"http":{"link_secret":"short"}})", R"({"http":{"link_secret":""}})"}) {
    auto c = config_from_json(json::parse(bad));
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("http."), std::string::npos) << c.error().message;
  }
  auto long_secret = json::object{{"http", json::object{{"link_secret", std::string(1025, 'k')}}}};
  EXPECT_FALSE(config_from_json(long_secret));
}

std::vector<ValidationError> errors_of(const json::object& o) {
  std::vector<ValidationError> errors;
  EXPECT_FALSE(parse_template(o, errors));
  return errors;
}

TEST(TemplateLinks, ValidationRefusesLinksThatAreNotAbsoluteHttpUrlsWithThePartAsPath) {
  auto e = errors_of({{"id", "t"}, {"subject", "ok"}, {"body", "see {{link \"ftp://example.com/x\"}}"}});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].path, "body");
  EXPECT_NE(e[0].message.find("not an absolute http(s) URL"), std::string::npos) << e[0].message;
  e = errors_of({{"id", "t"}, {"html", "{{link \"/pricing\"}}"}});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].path, "html");
  e = errors_of({{"id", "t"}, {"body", "{{link https://example.com/}}"}});
  ASSERT_EQ(e.size(), 1u) << "the URL must be quoted";
  EXPECT_NE(e[0].message.find("bad link"), std::string::npos);
  e = errors_of({{"id", "t"}, {"body", "{{link \"https://a.com/\" \"https://b.com/\"}}"}});
  ASSERT_EQ(e.size(), 1u) << "one URL per link";
  e = errors_of({{"id", "t"}, {"body", "{{delivery.other}}"}});
  ASSERT_EQ(e.size(), 1u) << "delivery.id is the only delivery field";
}

RenderResult render_with(const json::object& tmpl, const std::string& delivery, const LinkKeys* keys, bool html) {
  std::vector<ValidationError> errors;
  auto t = parse_template(tmpl, errors);
  EXPECT_TRUE(t) << (errors.empty() ? "" : errors.front().message);
  json::object traits{{"name", "Ana"}};
  RenderContext ctx{&traits, nullptr, nullptr, delivery, keys};
  return render(*t, ctx, html);
}

TEST(TemplateLinks, LinksAreNumberedFromZeroInTemplateOrderAcrossParts) {
  LinkKeys keys{"http://mail.example:7480", kKey};
  json::object tmpl{{"id", "t"},
                    {"subject", "Hi {{traits.name}}"},
                    {"body", "A {{link \"" + kPricing1 + "\"}} B {{ link  \"" + kPricing1 + "\" }}"},
                    {"html", "<a href=\"{{link \"" + kPricing2 + "\"}}\">go</a> ref {{delivery.id}}"}};
  auto r = render_with(tmpl, "d0123abc", &keys, true);
  ASSERT_TRUE(r.ok) << r.missing_path;
  EXPECT_EQ(r.content.at("subject").as_string(), "Hi Ana");
  EXPECT_EQ(r.content.at("body").as_string(),
            "A http://mail.example:7480/r/d0123abc/0/5kDs1qDHvBiQM3mPuuf6kQ"
            " B http://mail.example:7480/r/d0123abc/1/BZZqWAym8ZgVWS2sUgPjBA");
  EXPECT_EQ(r.content.at("html").as_string(),
            "<a href=\"http://mail.example:7480/r/d0123abc/2/IsEUIqT_RWiks1COJOIySw\">go</a> ref d0123abc");
  EXPECT_EQ(r.links, (std::vector<std::string>{kPricing1, kPricing1, kPricing2}));
}

TEST(TemplateLinks, WithoutKeysOrDeliveryALinkRendersItsTargetAndDeliveryIdNeedsAFallback) {
  json::object tmpl{{"id", "t"}, {"body", "{{link \"" + kPricing1 + "\"}} {{delivery.id|preview}}"}};
  auto r = render_with(tmpl, "", nullptr, false);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content.at("body").as_string(), kPricing1 + " preview");
  auto missing = render_with({{"id", "t"}, {"body", "{{delivery.id}}"}}, "", nullptr, false);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.missing_path, "delivery.id");
  EXPECT_TRUE(missing.links.empty());
}

TEST(TemplateLinks, AHtmlEscapedPublicUrlStaysAValidAttribute) {
  LinkKeys keys{"https://t.example.com/m&x", kKey};
  auto r = render_with({{"id", "t"}, {"body", "{{link \"" + kPricing1 + "\"}}"}}, "d0123abc", &keys, true);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content.at("body").as_string(), "https://t.example.com/m&amp;x/r/d0123abc/0/5kDs1qDHvBiQM3mPuuf6kQ");
}

}  // namespace
}  // namespace waymark
