// Multi-touch attribution (PRODUCT.md §10): shares the credit of each
// conversion in a time range among the touches that preceded it.
//
// Rules, for every model:
// - A conversion counts when from <= at < to. Each one looks back on its own:
//   its touches are those of the same customer with
//   at - lookback <= touch.at < at (the bound back is inclusive; a touch at the
//   very instant of the conversion does not count, since a send in the same
//   instant cannot have caused it and is usually the conversion's own reaction).
//   An earlier conversion does not cut the path.
// - Touches are ordered by (at, delivery_id): the first and the last touch are
//   well defined when several share an instant.
// - A conversion with no touch in its lookback is counted in `unattributed`
//   and credits no group. The credits of any other conversion sum to 1 and its
//   value is shared the same way.
// - Groups with no credit are left out; groups are sorted by name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waymark/outcomes/types.hpp"
#include "waymark/result.hpp"

namespace waymark::outcomes {

enum class Model { first, last, linear, time_decay, position, markov };

/// What credit is gathered under. `step` groups are "<journey>/<step>" (step
/// ids are only unique within a journey).
enum class GroupBy { journey, channel, step, template_id };

/// "first", "last", "linear", "time_decay", "position", "markov"; nullopt else.
std::optional<Model> parse_model(std::string_view name);
/// "journey", "channel", "step", "template"; nullopt else.
std::optional<GroupBy> parse_group_by(std::string_view name);

constexpr Millis kDay = 24LL * 3600 * 1000;

struct AttributionQuery {
  Model model = Model::last;
  GroupBy by = GroupBy::channel;
  Millis from = 0;               // conversions in [from, to)
  Millis to = 0;
  Millis lookback = 30 * kDay;   // > 0
  Millis half_life = 7 * kDay;   // > 0; time_decay weight 2^(-age/half_life)
};

/// Markov attribution solves one linear system per group; more groups than
/// this are refused (error "too_many_groups") to keep the work bounded.
constexpr size_t kMarkovGroupsMax = 200;

struct GroupCredit {
  std::string group;
  double conversions = 0;  // credited conversions (fractions)
  double value = 0;        // credited value
};

struct AttributionReport {
  int64_t conversions = 0;   // conversions in [from, to)
  int64_t unattributed = 0;  // of those, with no touch in their lookback
  std::vector<GroupCredit> groups;
};

/// Attributes `conversions` to `touches` (flat lists, any order, any
/// customers) under `q`. Errors ("bad_range", "bad_lookback",
/// "bad_half_life", "too_many_groups") change nothing and carry a message.
///
/// Models: first / last (all credit to one touch); linear (equal shares);
/// time_decay (weight 2^(-(conversion.at - touch.at)/half_life), normalised);
/// position (one touch 100 %, two 50/50, else 40 % first, 40 % last, 20 %
/// evenly over the touches between); markov (see markov_shares below): the
/// attributed conversions and their total value are shared by the groups'
/// removal-effect shares.
Result<AttributionReport> attribute(const std::vector<Touch>& touches,
                                    const std::vector<Conversion>& conversions,
                                    const AttributionQuery& q);

/// One path through the Markov chain: the groups of a customer's touches in
/// time order (repeats kept), ending in conversion or not.
struct Path {
  std::vector<std::string> groups;
  bool converted = false;
};

/// First-order Markov chain over `paths` with states start, each group,
/// conversion and null (every path starts at start and ends in conversion or
/// null; transition probabilities are the observed frequencies). P(conv) is
/// the probability of absorbing in conversion from start, solved exactly on
/// the transient states. The removal effect of group g is
/// 1 - P(conv with g made a null state) / P(conv). Returns each group's share
/// of the removal effects (they sum to 1), sorted by group name; empty when no
/// path converts. Empty paths are ignored.
Result<std::vector<std::pair<std::string, double>>> markov_shares(const std::vector<Path>& paths);

}  // namespace waymark::outcomes
