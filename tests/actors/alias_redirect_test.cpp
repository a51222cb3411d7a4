// Alias redirects never loop (issue #12, item 4): even when the stored alias
// links point at each other (x -> y, y -> x: no merge makes them; a store
// written by an older build or by hand could hold them), an event for either
// id is nacked "alias redirect loop" after a bounded number of hops instead
// of circling between the managers for good, and other customers flow on.
#include <gtest/gtest.h>

#include "actors/actor_fixture.hpp"

namespace waymark::actor_test {
namespace {

class AliasRedirect : public ActorNode {
protected:
  void before_actors() override {
    Batch b;
    b.customers.push_back(CustomerWrite{});
    b.customers.back().customer = "y";
    b.customers.back().aliases_from = {"x"};
    b.customers.push_back(CustomerWrite{});
    b.customers.back().customer = "x";
    b.customers.back().aliases_from = {"y"};
    auto res = ctx_.store->commit(b);
    ASSERT_TRUE(res) << res.error().message;
    ASSERT_EQ(ctx_.store->resolve_alias("x"), std::optional<std::string>("y"));
    ASSERT_EQ(ctx_.store->resolve_alias("y"), std::optional<std::string>("x"));
  }
};

TEST_F(AliasRedirect, AnEventForIdsWhoseStoredAliasesPointAtEachOtherIsNackedInsteadOfCircling) {
  uint64_t line = 0;
  for (const char* id : {"x", "y", "x"}) {
    auto a = send(id, "E", ++line);
    ASSERT_FALSE(a.timed_out) << id << ": no answer (the event circles between redirects)";
    EXPECT_FALSE(a.acked);
    EXPECT_NE(a.nack.find("alias redirect loop"), std::string::npos) << a.nack;
  }
  EXPECT_TRUE(send("z", "E", ++line).acked) << "other customers flow on";
  EXPECT_EQ(ctx_.metrics.nack_counts()["alias_loop"], 3u);
}

}  // namespace
}  // namespace waymark::actor_test
