#include "waymark/roles.hpp"

#include <algorithm>

namespace waymark {

const char* to_string(Role r) {
  switch (r) {
    case Role::viewer: return "viewer";
    case Role::editor: return "editor";
    case Role::approver: return "approver";
    case Role::admin: return "admin";
  }
  return "admin";
}

std::optional<Role> parse_role(std::string_view s) {
  for (Role r : {Role::viewer, Role::editor, Role::approver, Role::admin})
    if (s == to_string(r))
      return r;
  return std::nullopt;
}

namespace {

bool same_bytes(std::string_view given, const std::string& candidate) {
  unsigned diff = given.size() == candidate.size() && !candidate.empty() ? 0u : 1u;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(candidate.empty() ? 0 : candidate[i % candidate.size()]);
  return diff == 0;
}

}  // namespace

std::optional<Caller> caller_for(std::string_view token, const std::vector<AdminToken>& tokens) {
  const AdminToken* found = nullptr;
  for (const auto& t : tokens)
    if (same_bytes(token, t.token) && !found)
      found = &t;
  if (!found)
    return std::nullopt;
  return Caller{found->name, found->role, found->teams};
}

std::string template_refusal(const Caller& c, const std::string& team) {
  if (c.role == Role::admin)
    return "";
  if (!has_role(c, Role::editor))
    return "changing templates needs the editor role";
  if (team.empty() || std::find(c.teams.begin(), c.teams.end(), team) != c.teams.end())
    return "";
  return "template of team '" + team + "': only editors of that team or admins may change it";
}

std::string approval_refusal(const Caller& c, const std::string& author) {
  if (!has_role(c, Role::approver))
    return "approving needs the approver role";
  if (c.name == author)
    return "nobody approves their own draft ('" + author + "' wrote it)";
  return "";
}

}  // namespace waymark
