#include "actors/cluster_handoff.hpp"

#include <spdlog/spdlog.h>

#include <set>
#include <sstream>

#include "actors/messages.hpp"

namespace waymark {

namespace {

constexpr size_t kChunkRecords = 1000;
constexpr auto kChunkTimeout = std::chrono::seconds(15);

struct sender_state {
  std::string cursor;
  uint64_t records = 0;
  static constexpr const char* name = "handoff_sender";
};
using sender_actor = caf::stateful_actor<sender_state>;

KeyTest moving_test(NodeContext* ctx, const std::vector<uint32_t>& partitions) {
  std::set<uint32_t> set(partitions.begin(), partitions.end());
  return [ctx, set](std::string_view key) { return set.count(ctx->router.partition_of(key)) > 0; };
}

KeyTest stays_test(NodeContext* ctx) {
  return [ctx](std::string_view key) { return ctx->ownership.owns(ctx->router.partition_of(key)); };
}

void finish(sender_actor* self, NodeContext* ctx, const std::string& peer, const std::vector<uint32_t>& partitions,
            caf::actor report_to) {
  self->request(ctx->store_actor, kChunkTimeout, handoff_atom::value, partitions)
    .then(
      [=](uint64_t erased) {
        {
          std::lock_guard<std::mutex> g(ctx->held_mu);
          for (auto p : partitions)
            ctx->held_foreign.erase(p);
        }
        ctx->metrics.cluster_handoffs_out.fetch_add(partitions.size(), std::memory_order_relaxed);
        spdlog::info("[cluster] handed partitions {} to {}: {} records sent, {} erased here",
                     partitions_text(partitions), peer, self->state.records, erased);
        self->send(report_to, handoff_atom::value, peer, true);
        self->quit();
      },
      [=](caf::error& err) {
        spdlog::error("[cluster] erasing partitions handed to {} failed: {}", peer, self->system().render(err));
        self->send(report_to, handoff_atom::value, peer, false);
        self->quit();
      });
}

void send_next(sender_actor* self, NodeContext* ctx, const std::string& peer, caf::actor link,
               const std::vector<uint32_t>& partitions, caf::actor report_to) {
  auto chunk = ctx->store->export_chunk(moving_test(ctx, partitions), stays_test(ctx), self->state.cursor,
                                       kChunkRecords);
  if (!chunk) {
    spdlog::error("[cluster] reading partitions for {} failed: {}", peer, chunk.error().message);
    self->send(report_to, handoff_atom::value, peer, false);
    return self->quit();
  }
  auto n = chunk->records.size();
  auto next = chunk->next;
  self->request(link, kChunkTimeout, handoff_atom::value, std::move(*chunk))
    .then(
      [=](bool) {
        self->state.records += n;
        ctx->metrics.cluster_handoff_records_out.fetch_add(n, std::memory_order_relaxed);
        if (next.empty())
          return finish(self, ctx, peer, partitions, report_to);
        self->state.cursor = next;
        send_next(self, ctx, peer, link, partitions, report_to);
      },
      [=](caf::error& err) {
        spdlog::warn("[cluster] handing partitions to {} stopped: {}", peer, self->system().render(err));
        self->send(report_to, handoff_atom::value, peer, false);
        self->quit();
      });
}

}  // namespace

std::vector<uint32_t> held_for(NodeContext* ctx, const std::string& member) {
  std::vector<uint32_t> out;
  std::lock_guard<std::mutex> g(ctx->held_mu);
  for (auto p : ctx->held_foreign)
    if (ctx->view && ctx->view->owner_of(p) == member)
      out.push_back(p);
  return out;
}

caf::actor spawn_handoff_sender(caf::actor_system& sys, NodeContext* ctx, const std::string& peer, caf::actor link,
                                std::vector<uint32_t> partitions, caf::actor report_to) {
  // Detached: it reads LMDB between messages.
  return sys.spawn<caf::detached>([=](sender_actor* self) {
    spdlog::info("[cluster] handing partitions {} to {}", partitions_text(partitions), peer);
    send_next(self, ctx, peer, link, partitions, report_to);
  });
}

std::string partitions_text(const std::vector<uint32_t>& ps) {
  std::string out;
  for (auto p : ps)
    out += (out.empty() ? "" : ",") + std::to_string(p);
  return out;
}

std::vector<uint32_t> parse_partitions(const std::string& text) {
  std::vector<uint32_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ','))
    if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos && part.size() < 10)
      out.push_back(static_cast<uint32_t>(std::stoul(part)));
  return out;
}

}  // namespace waymark
