// Cluster link security, pure parts (include/waymark/cluster_auth.hpp): the
// HMAC primitive against RFC 4231, the link proof against vectors computed
// with the openssl CLI (`printf '<message>' | openssl dgst -sha256 -hmac
// '<secret>'`), the up-front cluster.tls file check, the socket scan and the
// handshake clock.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "support/temp_dir.hpp"
#include "waymark/cluster_auth.hpp"

namespace waymark::cluster {
namespace {

TEST(ClusterAuth, HmacSha256MatchesRfc4231TestCases1And2) {
  // RFC 4231 §4.2: key = 20 bytes of 0x0b, data = "Hi There".
  EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // RFC 4231 §4.3: key = "Jefe", data = "what do ya want for nothing?".
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ClusterAuth, HmacSha256MatchesRfc4231TestCase6WithAKeyLongerThanABlock) {
  // RFC 4231 §4.7: key = 131 bytes of 0xaa (hashed first), data as below.
  EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

const std::string kSecret = "correct horse battery staple";
const std::string kNonce(32, 'N');

TEST(ClusterAuth, TheDialersProofIsTheHmacOfLabelRoleNonceAndBothAddresses) {
  // printf 'waymark-cluster-link-v1\ndialer\n<32 x N>127.0.0.1:7441\n127.0.0.1:7440' | openssl dgst -sha256 -hmac ...
  EXPECT_EQ(to_hex(link_proof(kSecret, LinkRole::dialer, kNonce, "127.0.0.1:7441", "127.0.0.1:7440")),
            "bbec7291de9b023947334272af29dabbba85b06387e2438f2e8d293f42c599e1");
}

TEST(ClusterAuth, TheListenersProofIsBoundToItsRoleAndTheAddressesTheOtherWayRound) {
  EXPECT_EQ(to_hex(link_proof(kSecret, LinkRole::listener, kNonce, "127.0.0.1:7440", "127.0.0.1:7441")),
            "419563df3db706509dbf52a9c1389e6812729960b5e0ed4e86d8522a285510b1");
  // The same nonce answered in the other role, or for other addresses, or with
  // another secret, is another proof.
  auto dialer = link_proof(kSecret, LinkRole::dialer, kNonce, "127.0.0.1:7440", "127.0.0.1:7441");
  auto listener = link_proof(kSecret, LinkRole::listener, kNonce, "127.0.0.1:7440", "127.0.0.1:7441");
  EXPECT_FALSE(proof_matches(listener, dialer)) << "a listener's answer cannot be reflected as a dialer's proof";
  EXPECT_FALSE(proof_matches(dialer, link_proof(kSecret, LinkRole::dialer, kNonce, "127.0.0.1:7442", "127.0.0.1:7441")));
  EXPECT_FALSE(proof_matches(dialer, link_proof(kSecret + "x", LinkRole::dialer, kNonce, "127.0.0.1:7440",
                                                "127.0.0.1:7441")));
  EXPECT_TRUE(proof_matches(dialer, link_proof(kSecret, LinkRole::dialer, kNonce, "127.0.0.1:7440", "127.0.0.1:7441")));
}

TEST(ClusterAuth, AnEmptyOrTruncatedProofNeverMatches) {
  auto p = link_proof(kSecret, LinkRole::dialer, kNonce, "a:1", "b:2");
  EXPECT_FALSE(proof_matches(p, ""));
  EXPECT_FALSE(proof_matches(p, p.substr(0, 31)));
  EXPECT_FALSE(proof_matches("", ""));
}

TEST(ClusterAuth, NoncesAre32FreshRandomBytes) {
  auto a = random_bytes(kNonceBytes), b = random_bytes(kNonceBytes);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(ClusterAuth, TlsFileCheckNamesTheKeyAndFileThatCannotBeUsed) {
  it::TempDir dir("waymark-tlscheck-");
  auto missing = dir / "missing.pem";
  auto garbage = dir / "garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  auto e = check_tls_files(missing, garbage, garbage);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("cluster.tls.cert " + missing + ": cannot read"), std::string::npos) << e->message;
  e = check_tls_files(garbage, garbage, garbage);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("cluster.tls.cert " + garbage + ": not a PEM certificate"), std::string::npos)
    << e->message;
}

/// A connected pair over loopback: the listening socket, the client end and
/// the accepted end.
struct Pair {
  int listener = -1, client = -1, accepted = -1;
  uint16_t port = 0;
  Pair() {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener, 4);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a);
    accepted = ::accept(listener, nullptr, nullptr);
  }
  ~Pair() {
    ::close(client);
    ::close(accepted);
    ::close(listener);
  }
  std::string client_end() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(client, reinterpret_cast<sockaddr*>(&a), &len);
    return "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  }
};

TEST(ClusterAuth, TheScanFindsTheAcceptedConnectionOnThePortAndNotTheListenerOrTheClient) {
  Pair p;
  auto found = connections_on_port(p.port);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].fd, p.accepted);
  EXPECT_EQ(found[0].peer, p.client_end());
}

TEST(ClusterAuth, TheHandshakeClockDropsWhatDidNotFinishInTimeAndOnlyThat) {
  using namespace std::chrono_literals;
  HandshakeClock clock(1000ms);
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  std::vector<Connection> seen{{7, "10.0.0.1:5000"}, {8, "10.0.0.2:5000"}};
  EXPECT_TRUE(clock.overdue(t0, seen).empty());
  clock.finished("10.0.0.2:5000");
  EXPECT_TRUE(clock.overdue(t0 + 999ms, seen).empty()) << "999 ms < the 1000 ms bound";
  auto late = clock.overdue(t0 + 1000ms, seen);
  ASSERT_EQ(late.size(), 1u) << "the finished link stays";
  EXPECT_EQ(late[0].fd, 7);
  // A new connection (another fd) counts from when it is first seen.
  std::vector<Connection> next{{9, "10.0.0.3:6000"}};
  EXPECT_TRUE(clock.overdue(t0 + 1500ms, next).empty());
  EXPECT_EQ(clock.tracked(), 1u) << "connections no longer seen are forgotten";
  EXPECT_EQ(clock.overdue(t0 + 2500ms, next).size(), 1u);
  // A finished peer address is forgotten with its connection: the same
  // address on a later connection must finish again.
  clock.finished("10.0.0.3:6000");
  EXPECT_TRUE(clock.overdue(t0 + 2600ms, next).empty());
  clock.overdue(t0 + 2700ms, {});
  EXPECT_TRUE(clock.overdue(t0 + 2800ms, next).empty()) << "seen anew: its clock restarts";
  EXPECT_EQ(clock.overdue(t0 + 3800ms, next).size(), 1u);
}

TEST(ClusterAuth, PastSixteenUnfinishedConnectionsTheOldestAreDroppedBeforeTheBound) {
  using namespace std::chrono_literals;
  HandshakeClock clock(5000ms, 16);
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  std::vector<Connection> seen;
  for (int i = 0; i < 16; ++i)
    seen.push_back({100 + i, "10.0.1.1:" + std::to_string(4000 + i)});
  EXPECT_TRUE(clock.overdue(t0, seen).empty()) << "16 waiting handshakes are allowed";
  // Three more arrive 10 ms later, and a member's finished link besides: 19
  // unfinished, so the 3 oldest (first seen at t0; fds 100, 101, 102 in scan
  // order) go, long before the 5 s bound.
  for (int i = 16; i < 19; ++i)
    seen.push_back({100 + i, "10.0.1.1:" + std::to_string(4000 + i)});
  seen.push_back({7, "10.0.0.9:5000"});
  clock.finished("10.0.0.9:5000");
  auto dropped = clock.overdue(t0 + 10ms, seen);
  ASSERT_EQ(dropped.size(), 3u);
  EXPECT_EQ(dropped[0].fd, 100);
  EXPECT_EQ(dropped[1].fd, 101);
  EXPECT_EQ(dropped[2].fd, 102);
  EXPECT_TRUE(dropped[0].crowded);
  EXPECT_FALSE(clock.overdue(t0 + 5000ms, seen).at(0).crowded) << "at the bound they go for time";
}

}  // namespace
}  // namespace waymark::cluster
