#include "actors/channel_gateway.hpp"

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "channel/provider.hpp"

namespace json = boost::json;

namespace waymark {

struct gateway_state {
  std::unique_ptr<Provider> provider;
  std::set<std::string> held;  // ids the provider already has (crash recovery)
  uint64_t last_seq = 0;       // highest outbox seq handed to the provider
  bool busy = false;           // a batch is being recorded in the store
  bool more = false;           // new entries arrived while busy
  bool broken = false;
  static constexpr const char* name = "channel_gateway";
};

namespace {

using self_ptr = caf::stateful_actor<gateway_state>*;

void pull(self_ptr self, NodeContext* ctx, const std::string& channel) {
  auto& st = self->state;
  if (st.busy || st.broken) {
    st.more = true;
    return;
  }
  st.more = false;
  auto recs = ctx->store->outbox_scan(channel, st.last_seq, ctx->config.limits.delivery_batch_max);
  if (recs.empty())
    return;
  std::vector<json::object> to_send;
  std::vector<size_t> sent_index;  // index into recs of each to_send entry
  std::vector<DeliveryUpdate> updates(recs.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    auto& u = updates[i];
    u.channel = channel;
    u.seq = recs[i].seq;
    std::error_code ec;
    auto v = json::parse(recs[i].record, ec);
    if (ec || !v.is_object()) {
      u.status = "failed";
      u.detail = "unreadable outbox record";
      continue;
    }
    auto& o = v.get_object();
    if (auto* id = o.if_contains("id"); id && id->is_string())
      u.id = std::string(id->get_string());
    u.attempts = 1;
    if (st.held.erase(u.id)) {
      u.status = "delivered";
      u.detail = "recovered after restart";
      continue;
    }
    to_send.push_back(std::move(o));
    sent_index.push_back(i);
  }
  auto outcomes = to_send.empty() ? std::vector<DeliveryOutcome>{} : st.provider->deliver(to_send);
  bool retry_all = false;
  for (size_t k = 0; k < outcomes.size(); ++k) {
    auto& u = updates[sent_index[k]];
    switch (outcomes[k].status) {
      case DeliveryOutcome::Status::delivered: u.status = "delivered"; break;
      case DeliveryOutcome::Status::failed: u.status = "failed"; break;
      case DeliveryOutcome::Status::unknown: u.status = "unknown"; break;
      case DeliveryOutcome::Status::retry: retry_all = true; break;
    }
    u.detail = outcomes[k].detail;
  }
  if (retry_all) {
    // The file provider fails whole batches; try again shortly, nothing recorded.
    spdlog::warn("[gateway={}] provider asked to retry: {}", channel, outcomes.front().detail);
    self->delayed_send(self, std::chrono::seconds(1), outbox_atom::value);
    st.more = false;
    return;
  }
  st.last_seq = recs.back().seq;
  Batch b;
  for (auto& u : updates) {
    if (u.status == "delivered")
      ctx->metrics.deliveries_written.fetch_add(1, std::memory_order_relaxed);
    else
      ctx->metrics.deliveries_failed.fetch_add(1, std::memory_order_relaxed);
    b.deliveries.push_back(std::move(u));
  }
  b.meta = st.provider->checkpoint();
  auto n = recs.size();
  st.busy = true;
  self->request(ctx->store_actor, caf::infinite, batch_atom::value, std::move(b))
    .then(
      [=](bool) {
        auto& st = self->state;
        st.busy = false;
        auto& pending = ctx->metrics.deliveries_pending;
        auto cur = pending.load();
        while (!pending.compare_exchange_weak(cur, cur >= n ? cur - n : 0)) {
        }
        pull(self, ctx, channel);  // keep draining until the outbox is empty
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.busy = false;
        spdlog::error("[gateway={}] recording deliveries failed: {}", channel, self->system().render(err));
        // Not recorded: the entries stay in the outbox; with the provider's
        // checkpoint not advanced they are redelivered only after recovery.
        st.broken = true;
      });
}

}  // namespace

caf::behavior channel_gateway(self_ptr self, NodeContext* ctx, std::string channel) {
  auto cfg = ctx->config.channels.at(channel);
  auto prov = make_provider(cfg, ctx->config.data_dir);
  if (!prov) {
    spdlog::error("[gateway={}] {}", channel, prov.error().message);
    self->state.broken = true;
  } else {
    self->state.provider = std::move(*prov);
    auto held = self->state.provider->recover(*ctx->store);
    if (!held) {
      spdlog::error("[gateway={}] recovery failed: {}", channel, held.error().message);
      self->state.broken = true;
    } else {
      self->state.held = std::move(*held);
    }
  }
  // Count what is already waiting (from before a restart).
  ctx->metrics.deliveries_pending.fetch_add(ctx->store->outbox_depth(channel), std::memory_order_relaxed);
  self->send(self, outbox_atom::value);
  return {
    [=](outbox_atom) { pull(self, ctx, channel); },
    [=](shutdown_atom) { self->quit(); },
  };
}

caf::actor spawn_channel_gateway(caf::actor_system& sys, NodeContext* ctx, std::string channel) {
  return sys.spawn<caf::detached>(channel_gateway, ctx, std::move(channel));
}

}  // namespace waymark
