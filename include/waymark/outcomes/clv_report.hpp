// Predicted customer value summed per journey and split variant (GET
// /api/clv "by_journey"): a customer counts toward every journey (and
// variant) that touched it. Sums merge by addition across partitions/nodes.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "waymark/outcomes/types.hpp"

namespace waymark::outcomes {

class ClvByJourney {
public:
  /// One customer's predicted value and its touches (any order, repeats fine).
  void add(const std::vector<Touch>& touches, double predicted);
  void merge(const ClvByJourney& other);
  /// [{"journey","customers","predicted","variants":[{"variant","customers","predicted"}]}], by journey id.
  boost::json::array to_json() const;
  /// merge() of another's to_json() (a cluster member's sums); false, and
  /// nothing added, when `v` is not such an array.
  bool merge_json(const boost::json::value& v);

private:
  struct Sum {
    int64_t customers = 0;
    double predicted = 0;
  };
  std::map<std::string, Sum> journeys_;
  std::map<std::pair<std::string, std::string>, Sum> variants_;  // (journey, "step:variant")
};

}  // namespace waymark::outcomes
