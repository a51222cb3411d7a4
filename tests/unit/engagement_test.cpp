// Engagement feedback (PRODUCT.md §10), the pure parts: the delivery record
// the routes read, the reaction events they build (names, deterministic
// messageIds, properties), the engine counting reactions at the step that
// sent the message, tracked links in a real send step, and the per-step rates
// of the journey stats view.
#include <gtest/gtest.h>

#include "waymark/engagement.hpp"
#include "waymark/engine.hpp"
#include "waymark/journey_stats.hpp"
#include "waymark/links.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

TEST(Engagement, TheDeliveryRecordGivesCustomerStepAndLinks) {
  auto d = engagement::delivery_info(
      "d1", R"({"status":"delivered","channel":"email","attempts":1,"at":"2026-11-02T12:00:00Z","customer":"u1",
                "journey":"welcome","version":2,"step":"hello","links":["https://a.example/x","https://b.example/"]})");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->id, "d1");
  EXPECT_EQ(d->customer, "u1");
  EXPECT_EQ(d->channel, "email");
  EXPECT_EQ(d->journey, "welcome");
  EXPECT_EQ(d->version, 2);
  EXPECT_EQ(d->step, "hello");
  EXPECT_EQ(d->links, (std::vector<std::string>{"https://a.example/x", "https://b.example/"}));
  auto older = engagement::delivery_info("d2", R"({"status":"pending","channel":"sms","customer":"u2"})");
  ASSERT_TRUE(older) << "a record written before links were kept has none";
  EXPECT_TRUE(older->links.empty());
  EXPECT_FALSE(engagement::delivery_info("d3", R"({"status":"pending"})"));
  EXPECT_FALSE(engagement::delivery_info("d4", "not json"));
}

TEST(Engagement, TypesMapToMessageEventNames) {
  EXPECT_EQ(engagement::event_name("opened"), "Message Opened");
  EXPECT_EQ(engagement::event_name("clicked"), "Message Clicked");
  EXPECT_EQ(engagement::event_name("bounced"), "Message Bounced");
  EXPECT_EQ(engagement::event_name("complained"), "Message Complained");
  EXPECT_EQ(engagement::event_name("unsubscribed"), "Message Unsubscribed");
  EXPECT_EQ(engagement::event_name("delivered"), "Message Delivered");
  EXPECT_EQ(engagement::event_name("failed"), "Message Failed");
  EXPECT_EQ(engagement::event_name("dead"), "Message Dead");
  EXPECT_FALSE(engagement::event_name("Opened"));
  EXPECT_FALSE(engagement::event_name("read"));
  for (const char* t : {"opened", "clicked", "bounced", "complained", "unsubscribed"})
    EXPECT_TRUE(engagement::is_callback_type(t)) << t;
  for (const char* t : {"delivered", "failed", "dead", "", "OPENED"})
    EXPECT_FALSE(engagement::is_callback_type(t)) << t << ": statuses come from the gateways, not callbacks";
}

TEST(Engagement, ReactionEventsHaveDeterministicMessageIdsAndTheDeliveryAsProperties) {
  engagement::DeliveryInfo d{"d9", "u1", "email", "welcome", 3, "hello", {}};
  Event e = engagement::reaction_event(d, "opened", 1234);
  EXPECT_EQ(e.type, EventType::track);
  EXPECT_EQ(e.customer_key(), "u1");
  EXPECT_EQ(e.name, "Message Opened");
  EXPECT_EQ(e.message_id, "waymark:d9:opened");
  EXPECT_EQ(e.timestamp, 1234);
  EXPECT_EQ(json::value(e.properties), (json::value{{"delivery_id", "d9"}, {"journey", "welcome"}, {"version", 3},
                                                    {"step", "hello"}, {"channel", "email"}}));
  Event click = engagement::reaction_event(d, "clicked", 1234, 2);
  EXPECT_EQ(click.message_id, "waymark:d9:clicked") << "one click per delivery, whichever link";
  EXPECT_EQ(click.properties.at("url_index"), 2);
  EXPECT_EQ(engagement::reaction_event(d, "dead", 1).message_id, "waymark:d9:dead");
}

TEST(Engagement, OnlyReactionsWithACompleteDeliveryAreCountedPerStep) {
  engagement::DeliveryInfo d{"d9", "u1", "email", "welcome", 3, "hello", {}};
  auto c = engagement::step_count(engagement::reaction_event(d, "bounced", 1));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->journey, "welcome");
  EXPECT_EQ(c->version, 3);
  EXPECT_EQ(c->step, "hello");
  EXPECT_EQ(c->counter, "engagement:bounced");
  EXPECT_FALSE(engagement::step_count(engagement::reaction_event(d, "delivered", 1)))
      << "final statuses are counted by the store (delivery:<status>)";
  Event no_version = engagement::reaction_event(d, "opened", 1);
  no_version.properties.erase("version");
  EXPECT_FALSE(engagement::step_count(no_version));
  Event renamed = engagement::reaction_event(d, "opened", 1);
  renamed.name = "Message Read";
  EXPECT_FALSE(engagement::step_count(renamed));
}

struct EngagementEngine : ::testing::Test {
  Catalog cat;
  CustomerState s;
  Millis now = 1'700'000'000'000;

  EngagementEngine() {
    cat.channels["email"] = ChannelPolicy{"email", "email", true, std::nullopt, std::nullopt};
    cat.links = LinkKeys{"https://t.example.com", "test-link-secret-0123"};
    std::vector<ValidationError> errors;
    cat.templates["welcome"] = parse_template(
        json::parse(R"J({"id":"welcome","channel":"email","subject":"Hi",
                        "body":"Go: {{link \"https://example.com/pricing?utm=1\"}} (ref {{delivery.id}})"})J"),
        errors);
    ValidationContext vctx;
    vctx.channels = {"email"};
    auto j = parse_journey(json::parse(R"({"id":"welcome","entry":{"event":"Signed Up"},"start":"hello","steps":{
        "hello":{"type":"send","channel":"email","template":"welcome","next":"wait"},
        "wait":{"type":"wait_event","event":"Message Clicked",
                "when":{"path":"event.properties.step","op":"eq","value":"hello"},"next":"done"},
        "done":{"type":"exit"}}})"),
                           vctx, errors);
    EXPECT_TRUE(j) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
    auto jp = std::make_shared<Journey>(*j);
    jp->version = 1;
    cat.journeys["welcome"].versions.push_back(jp);
    s.traits = json::object{{"email", "a@b.c"}};
  }

  Event track(const std::string& name) {
    Event e;
    e.user_id = "u1";
    e.name = name;
    e.timestamp = now;
    return e;
  }
};

int64_t counted(const Decision& d, const std::string& step, const std::string& counter) {
  int64_t n = 0;
  for (auto& st : d.stats)
    if (st.step == step && st.counter == counter)
      n += st.n;
  return n;
}

TEST_F(EngagementEngine, ASentLinkIsTrackedAndItsClickIsCountedAtTheStepAndEndsTheWait) {
  Decision sent = on_event(s, cat, track("Signed Up"), now);
  ASSERT_EQ(sent.deliveries.size(), 1u);
  const Delivery& d = sent.deliveries[0];
  EXPECT_EQ(d.links, (std::vector<std::string>{"https://example.com/pricing?utm=1"}));
  const std::string expected = "Go: https://t.example.com/r/" + d.id + "/0/" +
                               links::signature("test-link-secret-0123", d.id, 0, "https://example.com/pricing?utm=1") +
                               " (ref " + d.id + ")";
  EXPECT_EQ(d.content.at("body").as_string(), expected);
  ASSERT_EQ(s.instances.size(), 1u);
  EXPECT_EQ(s.instances[0].step, "wait");

  engagement::DeliveryInfo info{d.id, "u1", "email", "welcome", 1, "hello", d.links};
  Decision opened = on_event(s, cat, engagement::reaction_event(info, "opened", now), now);
  EXPECT_EQ(counted(opened, "hello", "engagement:opened"), 1);
  EXPECT_EQ(s.instances.size(), 1u) << "an open does not end a wait for a click";
  Decision clicked = on_event(s, cat, engagement::reaction_event(info, "clicked", now, 0), now);
  EXPECT_EQ(counted(clicked, "hello", "engagement:clicked"), 1);
  EXPECT_TRUE(s.instances.empty()) << "the click ended the wait and the journey exited";
}

TEST_F(EngagementEngine, AReactionNamingAnUnknownJourneyIsNotCounted) {
  engagement::DeliveryInfo info{"dx", "u1", "email", "nope", 1, "hello", {}};
  Decision d = on_event(s, cat, engagement::reaction_event(info, "opened", now), now);
  EXPECT_TRUE(d.stats.empty());
}

TEST(EngagementStats, RatesAreReactionCountsOverSentPerStep) {
  auto key = [](const std::string& step, const std::string& counter) {
    return std::string("1") + '\0' + step + '\0' + counter;
  };
  std::map<std::string, int64_t> counters{
      {key("hello", "sent"), 4},           {key("hello", "engagement:opened"), 2},
      {key("hello", "engagement:clicked"), 1}, {key("hello", "engagement:bounced"), 1},
      {key("wait", "visited"), 3},
  };
  json::object s = journey_stats_json(counters, 1);
  const auto& hello = s.at("steps").at("hello").as_object();
  EXPECT_EQ(hello.at("engagement"), (json::value{{"opened", 2}, {"clicked", 1}, {"bounced", 1}}));
  EXPECT_EQ(hello.at("rates"), (json::value{{"open", 0.5}, {"click", 0.25}, {"bounce", 0.25}, {"complaint", 0.0},
                                            {"unsubscribe", 0.0}}));
  EXPECT_FALSE(s.at("steps").at("wait").as_object().contains("rates")) << "only steps that sent have rates";
}

}  // namespace
}  // namespace waymark
