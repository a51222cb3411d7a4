// The stored and exported form of touches and conversions (PRODUCT.md §10):
// one JSON object each, the line `GET /api/export/...` streams. Pure.
#pragma once

#include <string>
#include <string_view>

#include "waymark/outcomes/clv.hpp"
#include "waymark/outcomes/types.hpp"
#include "waymark/result.hpp"

namespace waymark::outcomes {

/// {"delivery_id","customer","channel","journey","version","step","template","variant","at"}
/// with "at" in RFC 3339.
std::string touch_json(const Touch& t);
/// {"customer","event","value","at"} with "at" in RFC 3339.
std::string conversion_json(const Conversion& c);

/// The inverse of touch_json / conversion_json (error "bad_record" otherwise).
Result<Touch> touch_from_json(std::string_view text);
Result<Conversion> conversion_from_json(std::string_view text);

/// Goal and conversion values are kept as whole millionths in int64 counters,
/// so sums are exact and the same in any order (per partition, per node).
/// Values beyond +/-9e12 are clamped there.
int64_t to_micros(double value);
double from_micros(int64_t micros);

/// A CLV fit as stored in meta "clv_params": {"r","alpha","a","b","p","q","gamma"}, and back
/// (error "bad_record" when a parameter is missing or not a positive number).
std::string clv_params_json(const ClvParams& p);
Result<ClvParams> clv_params_from_json(std::string_view text);

}  // namespace waymark::outcomes
