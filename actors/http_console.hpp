// The web console (PRODUCT.md §11): GET / answers the page, GET
// /console/{file} its scripts and styles, all embedded in the binary
// (actors/console_assets.hpp). Access::open: the files hold no data; the
// page calls the admin API with the token the user types in.
#pragma once

#include "http/router.hpp"

namespace waymark {

/// The headers every console file is served with: a strict
/// Content-Security-Policy (scripts, styles and API calls from this origin
/// only; no inline script, no frames), nosniff, no referrer.
const std::vector<std::pair<std::string, std::string>>& console_security_headers();

void add_console_routes(http::Router& router);

}  // namespace waymark
