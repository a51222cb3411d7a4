// Journey versions with approval, and the audit log (PRODUCT.md §11): the pure
// rules the catalog actor and the admin routes apply. No CAF, no LMDB.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>

#include "waymark/engine.hpp"
#include "waymark/result.hpp"
#include "waymark/roles.hpp"
#include "waymark/store.hpp"
#include "waymark/time.hpp"

namespace waymark {

// ---- versions --------------------------------------------------------------------

/// A version's record (journey_versions): who wrote it when, and when it went
/// live and on whose approval (absent keys: not yet / not needed).
boost::json::object version_record(const std::string& author, Millis created_at);

/// Status of version `v` of a journey whose live version is `live` (0 = none),
/// given its record (an empty object for versions stored before records
/// existed, which all went live when deployed):
///   "live", "superseded" (was live, replaced), "draft" (newer than live,
///   waiting for approval) or "passed_over" (a draft older than the live
///   version: never live, no longer approvable).
std::string version_status(int v, int live, const boost::json::object& record);

/// The step-level difference from `from` to `to` (journey definitions):
/// {"added":[ids],"removed":[ids],"changed":[ids]} (step ids sorted), plus
/// "fields_changed": top-level keys other than "steps" that differ.
boost::json::object step_diff(const boost::json::object& from, const boost::json::object& to);

/// Why version `v` of `entry` may not be approved by `who` (with `record`,
/// the draft's record): {status, message}; nullopt when it may.
struct Refusal {
  int status = 409;
  std::string message;
};
std::optional<Refusal> approval_problem(const JourneyEntry& entry, int v, const boost::json::object& record,
                                        const Caller& who);

// ---- audit log -------------------------------------------------------------------

/// One audit entry {"at","who","role","action","object","before","after"};
/// `at` on the node's clock. The caller's role is recorded with its name.
AuditPut audit_entry(Millis at, const Caller& who, const std::string& action, const std::string& object,
                     boost::json::value before, boost::json::value after);

/// The caller recorded for what the node does itself (seeding journeys_dir).
Caller seed_caller();

/// Adds to a journeys_dir seed batch the version records (author "seed", live
/// at once) and one audit entry per journey or template it stores.
void record_seed(Batch& b, Millis now);

/// GET /api/audit?from=T&to=T&journey=ID&limit=N&after=CURSOR.
struct AuditQuery {
  Millis from = kTimeMin;
  Millis to = kTimeMax;  // inclusive
  std::string journey;   // "" = every object
  size_t limit = 100;
  std::string after;  // a page's "next"
};
inline constexpr size_t kAuditLimitMax = 1000;
/// Reads the query; a bad value is an error naming the parameter.
Result<AuditQuery> parse_audit_query(const std::map<std::string, std::string>& query);
/// True when the entry (JSON text) concerns the query's journey (or any, when none).
bool audit_keeps(const AuditQuery& q, const std::string& entry);

}  // namespace waymark
