// The destination guard (src/channel/net_guard.*): which addresses a webhook
// may not reach without allow_private, at connect time (socket addresses) and
// at start (literal hosts of configured URLs), table-driven.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "channel/net_guard.hpp"

namespace waymark {
namespace {

struct Case {
  const char* ip;
  const char* reason;  // a part of the reason; nullptr = public
};

std::optional<std::string> sockaddr_reason_of(const std::string& ip) {
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  if (inet_pton(AF_INET6, ip.c_str(), &s6.sin6_addr) == 1)
    return private_sockaddr_reason(reinterpret_cast<const sockaddr*>(&s6));
  sockaddr_in s4{};
  s4.sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, ip.c_str(), &s4.sin_addr), 1) << ip;
  return private_sockaddr_reason(reinterpret_cast<const sockaddr*>(&s4));
}

void expect_class(const Case& c, const std::optional<std::string>& got, const std::string& what) {
  if (!c.reason) {
    EXPECT_FALSE(got) << what << " " << c.ip << ": " << got.value_or("");
    return;
  }
  ASSERT_TRUE(got) << what << " " << c.ip << " was taken for a public address";
  EXPECT_NE(got->find(c.reason), std::string::npos) << what << " " << c.ip << ": " << *got;
}

// Canonical addresses: what libcurl is about to connect to.
const Case kAddresses[] = {
  {"127.0.0.1", "loopback"},
  {"10.1.2.3", "private"},
  {"172.16.0.1", "private"},
  {"192.168.1.1", "private"},
  {"169.254.169.254", "link-local"},
  {"100.64.0.1", "CGNAT"},
  {"0.0.0.0", "non-unicast"},
  {"224.0.0.1", "non-unicast"},
  {"8.8.8.8", nullptr},
  {"172.32.0.1", nullptr},
  {"::1", "loopback"},
  {"::", "unspecified"},
  {"fe80::1", "link-local"},
  {"fd00::1", "ULA"},
  {"fec0::1", "site-local"},
  {"feff::1", "site-local"},
  {"ff02::1", "multicast"},
  {"2606:4700::1111", nullptr},
  // IPv4-mapped ::ffff:a.b.c.d
  {"::ffff:127.0.0.1", "IPv4-mapped address ::ffff:127.0.0.1 of loopback address 127.0.0.1"},
  {"::ffff:169.254.169.254", "link-local"},
  {"::ffff:8.8.8.8", nullptr},
  // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
  {"::127.0.0.1", "IPv4-compatible address ::127.0.0.1 of loopback address 127.0.0.1"},
  {"::10.0.0.1", "private"},
  {"::169.254.169.254", "link-local"},
  {"::8.8.8.8", nullptr},
  // IPv4-translated ::ffff:0:a.b.c.d
  {"::ffff:0:127.0.0.1", "IPv4-translated"},
  {"::ffff:0:8.8.8.8", nullptr},
  // NAT64 well-known prefix 64:ff9b::/96
  {"64:ff9b::7f00:1", "NAT64 address 64:ff9b::7f00:1 of loopback address 127.0.0.1"},
  {"64:ff9b::a9fe:a9fe", "link-local address 169.254.169.254"},
  {"64:ff9b::192.168.0.1", "private"},
  {"64:ff9b::8.8.8.8", nullptr},
  // Local-use NAT64 64:ff9b:1::/48: the operator's own translator
  {"64:ff9b:1::8.8.8.8", "local-use NAT64"},
  {"64:ff9b:1:ffff::1", "local-use NAT64"},
  // 6to4 2002:AABB:CCDD::/48
  {"2002:7f00:1::1", "6to4 address 2002:7f00:1::1 of loopback address 127.0.0.1"},
  {"2002:a00:1::", "private address 10.0.0.1"},
  {"2002:a9fe:a9fe::1", "link-local"},
  {"2002:808:808::1", nullptr},
  // Teredo 2001:0::/32: server address, client address inverted in the last 32 bits
  {"2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo address 2001:0:4136:e378:8000:63bf:80ff:fffe of loopback address 127.0.0.1"},
  {"2001:0:4136:e378:8000:63bf:f5ff:fffe", "private address 10.0.0.1"},
  {"2001:0:a00:1:8000:63bf:f7f7:f7f7", "private address 10.0.0.1"},
  {"2001:0:4136:e378:8000:63bf:f7f7:f7f7", nullptr},
  {"2001:db9::1", nullptr},
};

TEST(NetGuard, ClassifiesSocketAddressesByTheirEmbeddedIpv4Address) {
  for (const auto& c : kAddresses)
    expect_class(c, sockaddr_reason_of(c.ip), "sockaddr");
}

TEST(NetGuard, ClassifiesAddressTextLikeSocketAddresses) {
  for (const auto& c : kAddresses)
    expect_class(c, private_ip_reason(c.ip), "text");
}

// Literals the resolver (inet_aton) and libcurl turn into an address.
const Case kNonCanonical[] = {
  {"127.1", "loopback"},
  {"127.0.1", "loopback"},
  {"0x7f000001", "loopback"},
  {"0X7F.0.0.1", "loopback"},
  {"2130706433", "loopback"},
  {"0177.0.0.1", "loopback"},
  {"017700000001", "loopback"},
  {"10.1", "private"},
  {"0xa9fea9fe", "link-local"},
  {"3232235521", "private"},
  {"0", "non-unicast"},
  {"fe80::1%eth0", "link-local"},
  {"134744072", nullptr},  // 8.8.8.8
  {"hooks.example.com", nullptr},
  {"127.attacker.example", nullptr},
};

TEST(NetGuard, ReadsNonCanonicalIpv4LiteralsAsTheResolverDoes) {
  for (const auto& c : kNonCanonical)
    expect_class(c, private_ip_reason(c.ip), "text");
}

const Case kUrls[] = {
  {"http://127.0.0.1:9000/push", "loopback"},
  {"http://127.1:9000/push", "loopback"},
  {"http://0x7f000001/push", "loopback"},
  {"http://2130706433/push", "loopback"},
  {"http://0177.0.0.1/push", "loopback"},
  {"http://user:pw@0x7f.1:80/push", "loopback"},
  {"http://%31%32%37.0.0.1/push", "loopback"},
  {"http://127.0.0.1./push", "loopback"},
  {"http://localhost./push", "loopback"},
  {"http://LOCALHOST/push", "loopback"},
  {"http://a.b.localhost/push", "loopback"},
  {"http://[::1]:8080/push", "loopback"},
  {"http://[::ffff:7f00:1]/push", "loopback"},
  {"http://[64:ff9b::a9fe:a9fe]/latest/meta-data", "link-local"},
  {"http://[2002:a9fe:a9fe::]/", "link-local"},
  {"http://[::127.0.0.1]/", "loopback"},
  {"http://[fec0::1]/", "site-local"},
  {"http://[fe80::1%25eth0]/", "link-local"},
  {"http://169.254.169.254/latest/meta-data", "link-local"},
  {"https://hooks.example.com/push", nullptr},
  {"https://8.8.8.8/push", nullptr},
  {"https://134744072/push", nullptr},
  {"https://[2606:4700::1111]/push", nullptr},
};

TEST(NetGuard, RefusesUrlsWhoseLiteralHostIsPrivateInAnySpelling) {
  for (const auto& c : kUrls)
    expect_class(c, literal_private_destination(c.ip), "url");
}

}  // namespace
}  // namespace waymark
