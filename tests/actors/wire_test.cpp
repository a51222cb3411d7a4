// The messages that may cross nodes survive CAF's binary serialization (what
// the middleman sends between nodes) field by field, JSON objects included,
// and a corrupted JSON field is refused rather than read as something else.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <algorithm>

#include "actors/messages.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

struct WireConfig : caf::actor_system_config {
  WireConfig() {
    register_wire_types(*this);
    set("scheduler.max-threads", 1);
  }
};

class Wire : public ::testing::Test {
protected:
  WireConfig cfg_;
  caf::actor_system sys_{cfg_};

  template <class T>
  std::vector<char> save(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys_, buf};
    EXPECT_FALSE(sink(x));
    return buf;
  }
  template <class T>
  caf::error load(const std::vector<char>& buf, T& out) {
    caf::binary_deserializer source{sys_, buf};
    return source(out);
  }
};

EventMsg sample(caf::actor origin) {
  EventMsg m;
  m.event.type = EventType::alias;
  m.event.user_id = "u-\xc3\xa9";  // UTF-8 kept as bytes
  m.event.anonymous_id = "anon-1";
  m.event.previous_id = "anon-0";
  m.event.message_id = "m-42";
  m.event.name = "Order Completed";
  m.event.timestamp = -62135596800000;  // 0001-01-01: the lowest accepted instant
  m.event.properties = json::parse(R"({"revenue":12.5,"items":[{"sku":"a","n":2}],"big":18446744073709551615,
                                       "neg":-9223372036854775808,"s":"\u0000\"x\"","nested":{"deep":{"er":[null,true]}}})")
                           .as_object();
  m.event.traits = json::object{{"email", "a@example.com"}};
  m.ack = AckTarget{std::move(origin), 7};
  m.route = "u-canonical";
  m.redirects = 3;  // alias redirects followed so far, also across owners
  return m;
}

TEST_F(Wire, AnEventMessageRoundTripsFieldByField) {
  auto origin = sys_.spawn([]() -> caf::behavior { return {[](int) {}}; });
  auto m = sample(origin);
  auto buf = save(m);
  EventMsg back;
  ASSERT_FALSE(load(buf, back));
  EXPECT_EQ(back.event.type, EventType::alias);
  EXPECT_EQ(back.event.user_id, m.event.user_id);
  EXPECT_EQ(back.event.anonymous_id, "anon-1");
  EXPECT_EQ(back.event.previous_id, "anon-0");
  EXPECT_EQ(back.event.message_id, "m-42");
  EXPECT_EQ(back.event.name, "Order Completed");
  EXPECT_EQ(back.event.timestamp, -62135596800000);
  EXPECT_EQ(back.event.properties, m.event.properties);
  EXPECT_EQ(back.event.properties.at("big").kind(), json::kind::uint64) << "number kinds survive";
  EXPECT_EQ(back.event.traits, m.event.traits);
  EXPECT_TRUE(back.event.context.empty());
  EXPECT_EQ(back.ack.origin, origin) << "the ack goes back to the same actor";
  EXPECT_EQ(back.ack.line, 7u);
  EXPECT_EQ(back.route, "u-canonical");
  EXPECT_EQ(back.redirects, 3u);
  caf::anon_send_exit(origin, caf::exit_reason::user_shutdown);
}

TEST_F(Wire, AcksAndNacksRoundTrip) {
  AckBatch a{{1, 2, 3, 18446744073709551615ull}};
  AckBatch a2;
  ASSERT_FALSE(load(save(a), a2));
  EXPECT_EQ(a2.lines, a.lines);
  NackBatch n;
  n.lines = {{4, "owner down; retry"}, {9, ""}};
  n.retry = false;
  NackBatch n2;
  ASSERT_FALSE(load(save(n), n2));
  EXPECT_EQ(n2.lines, n.lines);
  EXPECT_FALSE(n2.retry);
  std::vector<EventMsg> batch{sample(nullptr), sample(nullptr)};
  std::vector<EventMsg> batch2;
  ASSERT_FALSE(load(save(batch), batch2));
  ASSERT_EQ(batch2.size(), 2u);
  EXPECT_EQ(batch2[1].event.properties, batch[1].event.properties);
  EXPECT_FALSE(batch2[0].ack.origin) << "internal work has no origin";
}

TEST_F(Wire, ACorruptedJsonFieldIsADeserializationErrorNotAnotherValue) {
  auto buf = save(sample(nullptr));
  const std::string needle = R"({"email")";
  auto at = std::search(buf.begin(), buf.end(), needle.begin(), needle.end());
  ASSERT_NE(at, buf.end());
  *at = '[';  // the traits text is no longer an object
  EventMsg back;
  EXPECT_TRUE(load(buf, back));
  *at = '{';
  *(at + 1) = 'x';  // nor JSON
  EXPECT_TRUE(load(buf, back));
}

TEST_F(Wire, AMergeAcrossOwnersHandoffRoundTripsUnderAVersionedName) {
  Handoff h{"anon-\xc3\xa9", "user-7"};
  Handoff back;
  ASSERT_FALSE(load(save(h), back));
  EXPECT_EQ(back.id, "anon-\xc3\xa9");
  EXPECT_EQ(back.into, "user-7");
  EXPECT_EQ(sys_.config().type_names_by_rtti.at(typeid(Handoff)), "waymark.handoff.v1");
}

TEST_F(Wire, TheWireNamesAreRegisteredAndVersioned) {
  auto& names = sys_.config().type_names_by_rtti;
  EXPECT_EQ(names.at(typeid(EventMsg)), "waymark.event_msg.v2");
  EXPECT_EQ(names.at(typeid(AckBatch)), "waymark.ack_batch.v1");
  EXPECT_EQ(names.at(typeid(NackBatch)), "waymark.nack_batch.v1");
  EXPECT_EQ(caf::type_id<EventMsg>::value, caf::type_id<Event>::value + 2) << "one ID block";
  auto msg = caf::make_message(event_atom::value, sample(nullptr));
  EXPECT_NE(caf::to_string(msg).find("Order Completed"), std::string::npos) << "printable for logs";
}

TEST_F(Wire, ALinkProofRoundTripsWithBinaryNonceAndProof) {
  std::string nonce("\x00\xff\x10 nonce", 9), proof(32, '\x00');
  proof[31] = '\x7f';
  LinkAuth a{"127.0.0.1:7441", nonce, proof};
  LinkAuth back;
  ASSERT_FALSE(load(save(a), back));
  EXPECT_EQ(back.address, "127.0.0.1:7441");
  EXPECT_EQ(back.nonce, nonce) << "bytes, NULs included";
  EXPECT_EQ(back.proof, proof);
  EXPECT_EQ(sys_.config().type_names_by_rtti.at(typeid(LinkAuth)), "waymark.link_auth.v1");
}

}  // namespace
}  // namespace waymark
