// Message templates (PRODUCT.md §7): {{path}} and {{path|fallback}} over
// traits.*, entry.* and event.*; HTML-escaped for email. Also (§10)
// {{delivery.id}} and {{link "https://…"}}, a signed click-tracking URL.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "waymark/condition.hpp"
#include "waymark/links.hpp"

namespace waymark {

struct Template {
  std::string id;
  std::string channel;  // may be empty = any channel
  // Every string field of the template JSON other than id/channel is a
  // renderable part, e.g. subject, body, title, text, html.
  std::vector<std::pair<std::string, std::string>> parts;
  boost::json::object source;
};

using TemplatePtr = std::shared_ptr<const Template>;

/// Parses {"id","channel","subject","body",...}. Errors have paths ("body").
/// Rejects unbalanced "{{" / "}}" and empty placeholders. Lenient about the
/// channel and the part names: stored templates are read with it, so a
/// template is never lost to a later change of the configured channels.
TemplatePtr parse_template(const boost::json::value& v, std::vector<ValidationError>& errors);

/// The parts a template may have besides id and channel (PRODUCT.md §7).
inline constexpr const char* kTemplateParts[] = {"subject", "body", "html", "text", "title"};

/// parse_template for a deploy (PUT /api/templates, journeys_dir, `waymark
/// validate`): also requires `channel`, one of `channels`, and refuses any
/// field other than id, channel and kTemplateParts, each with its path.
TemplatePtr validate_template(const boost::json::value& v, const std::set<std::string>& channels,
                              std::vector<ValidationError>& errors);

struct RenderContext {
  const boost::json::object* traits = nullptr;  // traits.*
  const boost::json::object* entry = nullptr;   // entry.* (Event::to_json of the entry event)
  const boost::json::object* event = nullptr;   // event.* (null when a timer fired)
  std::string delivery_id;                      // {{delivery.id}} ("" = no value)
  const LinkKeys* links = nullptr;  // {{link}} renders tracked URLs; null = the target as is
};

struct RenderResult {
  bool ok = false;
  std::string missing_path;     // set when !ok: first placeholder with no value, no fallback
  boost::json::object content;  // part name -> rendered text
  std::vector<std::string> links;  // {{link}} targets, index n = the link's n (template order)
};

/// Renders every part. Values: strings as is, numbers/bools as JSON text.
/// `html_escape` escapes & < > " ' in substituted values (not in the template).
/// Links are numbered from 0 across the parts, in the template's part order.
RenderResult render(const Template& t, const RenderContext& ctx, bool html_escape);

}  // namespace waymark
