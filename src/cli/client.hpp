// Shared by the CLI commands outside admin.cpp: one GET of the admin API.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.hpp"

namespace waymark::cli {

/// GETs `target` and parses a JSON object. On failure prints the error (named
/// `what`) and sets `status`; with --json prints the body, sets status 0 and
/// returns nullopt.
std::optional<boost::json::object> get_json_object(const ClientArgs& args, const std::string& target,
                                                   const std::string& what, int& status);

}  // namespace waymark::cli
