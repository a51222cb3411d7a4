#include "waymark/recovery.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <unordered_map>

#include "waymark/catalog.hpp"
#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string header(char kind, Millis now, uint64_t generation) {
  std::string out;
  out.push_back(kind);
  put_be64(out, static_cast<uint64_t>(now));
  put_be64(out, generation);
  return out;
}

}  // namespace

std::string encode_event_input(const Event& e, Millis now, uint64_t generation) {
  auto out = header(LoggedInput::event, now, generation);
  serialize_event(e, out);
  return out;
}

std::string encode_timer_input(const std::string& timer_id, Millis now, uint64_t generation) {
  return header(LoggedInput::timer, now, generation) + timer_id;
}

Result<LoggedInput> decode_input(std::string_view bytes) {
  if (bytes.size() < 17 || (bytes[0] != LoggedInput::event && bytes[0] != LoggedInput::timer))
    return make_error("bad_log_record", "not a logged input");
  LoggedInput in;
  in.kind = static_cast<LoggedInput::Kind>(bytes[0]);
  in.now = static_cast<Millis>(get_be64(bytes.data() + 1));
  in.generation = get_be64(bytes.data() + 9);
  auto body = bytes.substr(17);
  if (in.kind == LoggedInput::timer) {
    in.timer_id = std::string(body);
    return in;
  }
  std::error_code ec;
  auto v = parse_stored_json(body, ec);
  if (ec)
    return make_error("bad_log_record", ec.message());
  auto e = event_from_json(v, in.now);
  if (!e)
    return e.error();
  in.ev = std::move(*e);
  return in;
}

Decision apply_input(CustomerState& s, const Catalog& cat, const LoggedInput& in) {
  return in.kind == LoggedInput::timer ? on_timer(s, cat, in.timer_id, in.now) : on_event(s, cat, in.ev, in.now);
}

Result<RecoveryReport> recover_log(Store& store, const Config& config, const CatalogPtr& current,
                                   const std::string* only) {
  RecoveryReport report;
  auto records = store.unsnapshotted(only);
  // Every input is covered once these states are stored: the log may then be
  // trimmed (empty commits trim it, a bounded slice each).
  auto covered = [&]() -> Result<RecoveryReport> {
    if (only)
      return report;
    store.log_recovered();
    for (uint64_t left = store.log_records(), before = left + 1; left > 0 && left < before; left = store.log_records()) {
      before = left;
      auto res = store.commit(Batch{});
      if (!res)
        return res.error();
    }
    return report;
  };
  if (records.empty())
    return covered();
  // Catalogs by generation, built from the sources stored with each change.
  std::map<uint64_t, CatalogPtr> catalogs;
  auto catalog_for = [&](uint64_t g) -> CatalogPtr {
    auto it = catalogs.find(g);
    if (it != catalogs.end())
      return it->second;
    CatalogPtr cat;
    if (current && current->generation == g)
      cat = current;
    else if (auto blob = store.meta(catalog_blob_key(g))) {
      std::vector<std::string> warnings;
      cat = catalog_from_blob(*blob, config, g, warnings);
    }
    if (!cat) {
      spdlog::warn("[recovery] no stored catalog for generation {}; replaying against the current one", g);
      cat = current;
    }
    return catalogs[g] = cat;
  };
  // Customers in the order of their first record; each replayed from its snapshot.
  std::vector<std::string> order;
  std::unordered_map<std::string, std::vector<const LogRecord*>> by_customer;
  for (auto& r : records) {
    auto& list = by_customer[r.customer];
    if (list.empty())
      order.push_back(r.customer);
    list.push_back(&r);
  }
  Batch batch;
  auto commit = [&]() -> std::optional<Error> {
    if (batch.customers.empty())
      return std::nullopt;
    auto res = store.commit(batch);
    batch = Batch{};
    if (!res)
      return res.error();
    return std::nullopt;
  };
  for (auto& id : order) {
    CustomerState s;
    s.id = id;
    if (auto raw = store.get_customer(id)) {
      std::error_code ec;
      auto v = parse_stored_json(*raw, ec);
      auto parsed = ec ? Result<CustomerState>(make_error("bad_json", ec.message())) : customer_from_json(v);
      if (!parsed) {
        spdlog::error("[recovery] customer {}: stored state unreadable; {} logged inputs not replayed", id,
                      by_customer[id].size());
        report.skipped += by_customer[id].size();
        continue;
      }
      s = std::move(*parsed);
    }
    CustomerWrite w;
    w.customer = id;
    for (auto* r : by_customer[id]) {
      auto in = decode_input(r->input);
      if (!in) {
        spdlog::error("[recovery] customer {}: log record {} unreadable ({}); skipped", id, r->seq,
                      in.error().message);
        ++report.skipped;
        continue;
      }
      auto cat = catalog_for(in->generation);
      try {
        apply_input(s, *cat, *in);  // its outbox entries, timers and stats were committed with the record
      } catch (const std::exception& ex) {
        // The engine threw where it did not the first time (it is pure, so
        // this is a bug): keep the input out rather than stop the node.
        spdlog::error("[recovery] customer {}: log record {} failed to replay ({}); skipped", id, r->seq, ex.what());
        ++report.skipped;
        continue;
      }
      if (in->kind == LoggedInput::event && !in->ev.message_id.empty())
        w.dedup_ids.emplace_back(in->ev.message_id, in->now);
      ++report.inputs;
    }
    w.state_json = serialize_state(s);
    batch.customers.push_back(std::move(w));
    ++report.customers;
    if (batch.customers.size() >= 4096)
      if (auto err = commit())
        return *err;
  }
  if (auto err = commit())
    return *err;
  return covered();
}

}  // namespace waymark
