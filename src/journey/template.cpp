// Message templates: "{{ path }}" and "{{path|fallback}}" placeholders over
// traits.*, entry.* and event.*. Parsing validates the placeholders once;
// rendering is pure and reports the first unresolvable placeholder instead of
// producing a message with a hole in it.
#include "waymark/template.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <optional>
#include <string_view>

namespace waymark {
namespace json = boost::json;

namespace {

constexpr size_t kIdLengthMax = 128;

struct Placeholder {
  std::string_view path;
  std::optional<std::string_view> fallback;  // text after the first '|', trimmed
};

// A template text cut into literal text, placeholders and links, in order.
struct Piece {
  bool placeholder = false;
  std::string_view text;  // literal text (when !placeholder), the target URL of a link
  Placeholder ph;
  bool link = false;      // {{link "<text>"}}
};

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool valid_root(std::string_view path) {
  if (path == "delivery.id")
    return true;
  for (std::string_view root : {"traits.", "entry.", "event."}) {
    if (path.substr(0, root.size()) != root) continue;
    const std::string_view rest = path.substr(root.size());
    return !rest.empty() && rest.front() != '.' && rest.back() != '.' &&
           rest.find("..") == std::string_view::npos && rest.find(' ') == std::string_view::npos;
  }
  return false;
}

// `link "<url>"`: the target and, when it cannot be one, why; nullopt when
// `inner` is not a link at all.
std::optional<std::pair<std::string_view, std::optional<std::string>>> link_target(std::string_view inner) {
  constexpr std::string_view kw = "link";
  if (inner.substr(0, kw.size()) != kw || inner.size() == kw.size() ||
      (inner[kw.size()] != ' ' && inner[kw.size()] != '\t' && inner[kw.size()] != '"'))
    return std::nullopt;
  const std::string_view arg = trim(inner.substr(kw.size()));
  if (arg.size() < 2 || arg.front() != '"' || arg.back() != '"' ||
      arg.substr(1, arg.size() - 2).find('"') != std::string_view::npos)
    return std::make_pair(arg, std::optional<std::string>("bad link: expected {{link \"https://...\"}}"));
  const std::string_view url = arg.substr(1, arg.size() - 2);
  return std::make_pair(url, links::target_problem(url));
}

// Splits `text` into pieces; on a malformed placeholder returns the message.
std::optional<std::string> split(std::string_view text, std::vector<Piece>& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    const size_t stray = text.find("}}", pos);
    if (stray < open) return "unbalanced '}}' at offset " + std::to_string(stray);
    if (open == std::string_view::npos) {
      out.push_back(Piece{false, text.substr(pos), {}});
      break;
    }
    if (open > pos) out.push_back(Piece{false, text.substr(pos, open - pos), {}});
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return "unclosed '{{' at offset " + std::to_string(open);
    const std::string_view inner = text.substr(open + 2, close - open - 2);
    if (inner.find("{{") != std::string_view::npos) {
      return "unclosed '{{' at offset " + std::to_string(open);
    }
    if (auto link = link_target(trim(inner))) {
      if (auto problem = link->second)
        return *problem;
      out.push_back(Piece{false, link->first, {}, true});
      pos = close + 2;
      continue;
    }
    Placeholder ph;
    const size_t bar = inner.find('|');
    ph.path = trim(inner.substr(0, bar));
    if (bar != std::string_view::npos) ph.fallback = trim(inner.substr(bar + 1));
    if (ph.path.empty()) return "empty placeholder at offset " + std::to_string(open);
    if (!valid_root(ph.path)) {
      return "bad placeholder '" + std::string(ph.path) +
             "' (use traits.*, entry.*, event.*, delivery.id or link \"https://...\")";
    }
    out.push_back(Piece{true, {}, ph});
    pos = close + 2;
  }
  return std::nullopt;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kIdLengthMax) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const json::value* navigate(const json::object* root, std::string_view rest) {
  const json::value* cur = nullptr;
  while (root) {
    const size_t dot = rest.find('.');
    cur = root->if_contains(rest.substr(0, dot));
    if (!cur || dot == std::string_view::npos) return cur;
    root = cur->if_object();
    rest = rest.substr(dot + 1);
  }
  return nullptr;
}

const json::value* lookup(std::string_view path, const RenderContext& ctx, json::value& scratch) {
  if (path == "delivery.id") {
    if (ctx.delivery_id.empty())
      return nullptr;
    scratch = json::string(ctx.delivery_id);
    return &scratch;
  }
  const size_t dot = path.find('.');
  const std::string_view root = path.substr(0, dot);
  const std::string_view rest = path.substr(dot + 1);
  if (root == "traits") return navigate(ctx.traits, rest);
  if (root == "entry") return navigate(ctx.entry, rest);
  if (root == "event") return navigate(ctx.event, rest);
  return nullptr;
}

// Integral doubles print without ".0"; others in shortest round-trip form.
std::string format_double(double d) {
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15) {
    return std::to_string(static_cast<int64_t>(d));
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

std::string to_text(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string: return std::string(v.get_string());
    case json::kind::int64: return std::to_string(v.get_int64());
    case json::kind::uint64: return std::to_string(v.get_uint64());
    case json::kind::double_: return format_double(v.get_double());
    case json::kind::bool_: return v.get_bool() ? "true" : "false";
    default: return json::serialize(v);
  }
}

void append_escaped(std::string& out, std::string_view s, bool html_escape) {
  if (!html_escape) {
    out.append(s);
    return;
  }
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

// Renders one part; returns the placeholder path that has no value, if any.
// Link targets are appended to `links`, in order.
std::optional<std::string> render_text(std::string_view text, const RenderContext& ctx,
                                       bool html_escape, std::string& out, std::vector<std::string>& links) {
  std::vector<Piece> pieces;
  if (split(text, pieces)) return std::string("(malformed template)");
  json::value scratch;
  for (const Piece& p : pieces) {
    if (p.link) {
      const std::string url = ctx.links && !ctx.delivery_id.empty()
                                  ? links::tracked_url(*ctx.links, ctx.delivery_id, links.size(), p.text)
                                  : std::string(p.text);
      append_escaped(out, url, html_escape);
      links.emplace_back(p.text);
      continue;
    }
    if (!p.placeholder) {
      out.append(p.text);
      continue;
    }
    const json::value* v = lookup(p.ph.path, ctx, scratch);
    if (v && !v->is_null()) {
      append_escaped(out, to_text(*v), html_escape);
    } else if (p.ph.fallback) {
      append_escaped(out, *p.ph.fallback, html_escape);
    } else {
      return std::string(p.ph.path);
    }
  }
  return std::nullopt;
}

}  // namespace

TemplatePtr parse_template(const json::value& v, std::vector<ValidationError>& errors) {
  const size_t before = errors.size();
  auto add = [&](std::string path, std::string message) {
    errors.push_back(ValidationError{std::move(path), std::move(message)});
  };
  if (!v.is_object()) {
    add("", "expected a JSON object");
    return nullptr;
  }
  auto t = std::make_shared<Template>();
  t->source = v.get_object();
  for (const auto& kv : v.get_object()) {
    const std::string key(kv.key());
    if (!kv.value().is_string()) {
      add(key, "expected string");
      continue;
    }
    const std::string_view text = kv.value().get_string();
    if (key == "id") {
      if (valid_id(text)) t->id = std::string(text);
      else add(key, "bad id '" + std::string(text) + "' (use 1-128 of A-Z a-z 0-9 _ . -)");
    } else if (key == "channel") {
      t->channel = std::string(text);
    } else if (key == "team") {
      // who may change it (PRODUCT.md §11), not a part of the message
    } else {
      std::vector<Piece> pieces;
      if (auto problem = split(text, pieces)) add(key, *problem);
      t->parts.emplace_back(key, std::string(text));
    }
  }
  if (!v.get_object().contains("id")) add("id", "missing required field 'id'");
  if (errors.size() != before) return nullptr;
  return t;
}

TemplatePtr validate_template(const json::value& v, const std::set<std::string>& channels,
                              std::vector<ValidationError>& errors) {
  const size_t before = errors.size();
  auto t = parse_template(v, errors);
  if (!v.is_object())
    return nullptr;
  for (const auto& kv : v.get_object()) {
    const std::string_view key = kv.key();
    const bool part = std::find(std::begin(kTemplateParts), std::end(kTemplateParts), key) != std::end(kTemplateParts);
    if (key != "id" && key != "channel" && key != "team" && !part)
      errors.push_back({std::string(key), "unknown field '" + std::string(key) +
                                            "' (a template has id, channel, team, subject, body, html, text, title)"});
  }
  // The team that owns it (PRODUCT.md §11): only its editors (or admins) change it.
  if (const json::value* team = v.get_object().if_contains("team")) {
    const bool ok = team->is_string() && !team->get_string().empty() && team->get_string().size() <= 64 &&
                    std::string_view(team->get_string()).find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") ==
                      std::string_view::npos;
    if (!ok)
      errors.push_back({"team", "must be a team name [a-z0-9_-]{1,64}"});
  }
  const json::value* channel = v.get_object().if_contains("channel");
  if (!channel)
    errors.push_back({"channel", "missing required field 'channel'"});
  else if (channel->is_string() && !channels.count(std::string(channel->get_string())))
    errors.push_back({"channel", "unknown channel '" + std::string(channel->get_string()) + "'"});
  if (errors.size() != before)
    return nullptr;
  return t;
}

RenderResult render(const Template& t, const RenderContext& ctx, bool html_escape) {
  RenderResult result;
  for (const auto& [name, text] : t.parts) {
    std::string out;
    // A subject is a mail header, shown as plain text: "&amp;" there would reach
    // the reader as is. Header safety (CR/LF) is the SMTP provider's job.
    const bool escape = html_escape && name != "subject";
    if (auto missing = render_text(text, ctx, escape, out, result.links)) {
      result.missing_path = *missing;
      result.content.clear();
      result.links.clear();
      return result;
    }
    result.content[name] = out;
  }
  result.ok = true;
  return result;
}

}  // namespace waymark
