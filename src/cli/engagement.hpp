// `waymark journey ID`: the engagement table (PRODUCT.md §10) of the steps
// that sent messages: sent, delivered, opens, clicks, bounces and their rates.
#pragma once

#include <boost/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace waymark::cli {

/// Prints nothing when no step sent anything. `order` lists the steps to show.
void print_engagement(std::ostream& out, const boost::json::object& steps_stats, const std::vector<std::string>& order);

/// A rate (fraction) as a percentage with one decimal: 0.25 -> "25.0%"; "-" when missing.
std::string rate_text(const boost::json::object& rates, const char* key);

}  // namespace waymark::cli
