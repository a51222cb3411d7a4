// Who may do what on the admin API (PRODUCT.md §11): roles, teams, and the
// person behind a token. Pure rules over plain structs; the HTTP router
// applies the role a route needs, the catalog the team and approval rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waymark {

/// Cumulative: each role may do what the ones before it may.
enum class Role { viewer = 0, editor = 1, approver = 2, admin = 3 };

const char* to_string(Role r);
std::optional<Role> parse_role(std::string_view s);

/// One entry of auth.admin_tokens. A bare-string entry is {token, "admin", admin, {}}.
struct AdminToken {
  std::string token;
  std::string name;
  Role role = Role::admin;
  std::vector<std::string> teams;
};

/// The person calling the admin API: a token's name, role and teams; without
/// tokens (loopback only) everyone is "anonymous", an admin.
struct Caller {
  std::string name = "anonymous";
  Role role = Role::admin;
  std::vector<std::string> teams;
};

/// Names no token may take: they stand for the node itself in the audit log.
inline constexpr std::string_view kSeedName = "seed";
inline constexpr std::string_view kAnonymousName = "anonymous";

/// The caller a bearer token stands for, nullopt when no entry has it. Compares
/// every byte of every token (no early exit), like http::credential_in.
std::optional<Caller> caller_for(std::string_view token, const std::vector<AdminToken>& tokens);

inline bool has_role(const Caller& c, Role needed) { return c.role >= needed; }

/// Why `c` may not change a template owned by `team` ("" = no team), or "" when
/// it may: admins always; editors (and above) when the template has no team or
/// `team` is one of theirs.
std::string template_refusal(const Caller& c, const std::string& team);

/// Why `c` may not approve a draft written by `author`, or "" when it may:
/// an approver (or admin) who is not the author.
std::string approval_refusal(const Caller& c, const std::string& author);

}  // namespace waymark
