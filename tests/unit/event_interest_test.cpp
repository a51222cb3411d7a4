// Which events a catalog's journeys react to (src/core/event_interest.cpp):
// a final delivery status becomes a "Message <Status>" event only when one
// of them could.
#include <gtest/gtest.h>

#include "waymark/event_interest.hpp"
#include "waymark/journey.hpp"

namespace waymark {
namespace {

JourneyPtr journey(const char* text) {
  ValidationContext vc;
  vc.channels = {"email"};
  std::vector<ValidationError> errors;
  auto j = parse_journey(boost::json::parse(text), vc, errors);
  EXPECT_TRUE(j) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  return j;
}

Catalog catalog_of(std::initializer_list<const char*> journeys) {
  Catalog cat;
  int n = 0;
  for (const char* text : journeys)
    cat.journeys["j" + std::to_string(++n)].versions.push_back(journey(text));
  return cat;
}

TEST(EventInterest, NamesEveryEventAJourneyWaitsForEntersOnExitsOnCountsOrConverts) {
  auto cat = catalog_of({R"({"id":"j1","entry":{"event":"Trial Started"},
    "exit":[{"event":"Unsubscribed"},{"when":{"path":"traits.plan","op":"eq","value":"pro"}}],
    "goal":{"event":"Upgraded"},
    "start":"w","steps":{
      "w":{"type":"wait_event","event":"Message Clicked","timeout":"1d","next":"b","timeout_next":"b"},
      "b":{"type":"branch","cases":[{"when":{"count":{"event":"Feature Used","within":"7d"},"op":"gte","value":1},
           "next":"done"}],"default":"done"},
      "done":{"type":"exit"}}})"});
  auto in = event_interest(cat);
  EXPECT_FALSE(in.every) << "an exit on traits alone does not care about a status event";
  EXPECT_EQ(in.names, (std::set<std::string>{"Trial Started", "Unsubscribed", "Upgraded", "Message Clicked",
                                             "Feature Used", "Order Completed"}));
  EXPECT_FALSE(in.wants("Message Delivered"));
  EXPECT_TRUE(in.wants("Message Clicked"));
}

TEST(EventInterest, AConditionAloneThatReadsTheEventOrCountsWantsEveryEvent) {
  auto reads_event = catalog_of({R"({"id":"j1","entry":{"event":"Go"},
    "exit":[{"when":{"path":"event.name","op":"eq","value":"Message Delivered"}}],
    "start":"done","steps":{"done":{"type":"exit"}}})"});
  EXPECT_TRUE(event_interest(reads_event).wants("Message Delivered"));
  auto counts = catalog_of({R"({"id":"j1","entry":{"when":{"count":{"event":"Login","within":"1d"},"op":"eq","value":0}},
    "start":"done","steps":{"done":{"type":"exit"}}})"});
  EXPECT_TRUE(event_interest(counts).every);
  auto wait_on_status = catalog_of({R"({"id":"j1","entry":{"event":"Go"},"start":"w","steps":{
    "w":{"type":"wait_event","event":"Message Delivered","timeout":"1h","next":"done","timeout_next":"done"},
    "done":{"type":"exit"}}})"});
  auto in = event_interest(wait_on_status);
  EXPECT_FALSE(in.every);
  EXPECT_TRUE(in.wants("Message Delivered"));
  EXPECT_FALSE(in.wants("Message Failed"));
}

}  // namespace
}  // namespace waymark
