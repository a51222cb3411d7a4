#include "actors/node.hpp"

#include <dirent.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/io/all.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "actors/catalog_actor.hpp"
#include "actors/cluster_link.hpp"
#include "actors/cluster_tls.hpp"
#include "actors/channel_gateway.hpp"
#include "actors/journey_manager.hpp"
#include "actors/messages.hpp"
#include "actors/http_api.hpp"
#include "actors/http_outcomes.hpp"
#include "actors/node_context.hpp"
#include "actors/status_events.hpp"
#include "actors/store_actor.hpp"
#include "actors/tcp_gateway.hpp"
#include "actors/timer_service.hpp"
#include "waymark/links.hpp"
#include "waymark/json.hpp"
#include "waymark/catalog.hpp"
#include "waymark/cluster_auth.hpp"
#include "waymark/ops.hpp"
#include "waymark/recovery.hpp"

#include "waymark/journeys_dir.hpp"  // read_journeys_dir

static_assert(CAF_VERSION == 1706, "CAF 0.17.6 required");

namespace json = boost::json;

namespace waymark {

namespace {

/// Seeds journeys_dir (PRODUCT.md §11: ids with no version yet; what exists is
/// never replaced). Runs before any actor exists, so it may commit directly.
bool load_journeys_dir(NodeContext& ctx) {
  auto files = read_journeys_dir(ctx.config.journeys_dir);
  if (!files) {
    spdlog::error("[catalog] {}", files.error().message);
    return false;
  }
  auto seeded = seed_catalog(*ctx.catalog.get(), *files);
  if (!seeded) {
    spdlog::error("[catalog] {}", seeded.error().message);
    return false;
  }
  for (auto& line : seeded->kept)
    spdlog::info("[catalog] {}", line);
  for (auto& j : seeded->batch.journeys)
    spdlog::info("[catalog] journeys_dir: journey {} version {}", j.id, j.version);
  Batch b = std::move(seeded->batch);
  record_seed(b, ctx.clock->now());
  auto cat = seeded->catalog;
  // The catalog in use is stored as its generation (a change makes the next
  // one), so that inputs logged under it replay against it (store.hpp, log).
  if (!b.empty())
    cat = with_generation(*cat, cat->generation + 1);
  if (!b.empty() || !ctx.store->meta(catalog_blob_key(cat->generation)))
    add_generation(b, *cat);
  if (!b.empty()) {
    auto res = ctx.store->commit(b);
    if (!res) {
      spdlog::error("[catalog] storing journeys_dir failed: {}", res.error().message);
      return false;
    }
  }
  ctx.catalog.set(cat);
  return true;
}

/// Which partitions this node owns in the view and, when its member list
/// changed since it last took everything in (meta "intake_view"), which of its
/// records belong to partitions another member owns now (actors/cluster_handoff.hpp).
void start_ownership(NodeContext& ctx) {
  auto& view = *ctx.view;
  std::vector<bool> owned(view.partitions());
  for (uint32_t p = 0; p < view.partitions(); ++p)
    owned[p] = view.owner_of(p) == ctx.config.cluster_listen;
  bool taken_in = ctx.store->meta("intake_view") == view.hash();
  ctx.held_foreign = ctx.store->held_partitions(view.partitions(), [&](uint32_t p) { return !owned[p]; });
  ctx.ownership.init(std::move(owned), taken_in);
  if (!taken_in)
    spdlog::info("[cluster] view {} is new to this node: its partitions take events once no other member holds "
                 "records of them", view.hash());
  if (!ctx.held_foreign.empty())
    spdlog::info("[cluster] this node holds records of {} partitions other members own now: handing them over",
                 ctx.held_foreign.size());
}

bool write_ready_file(const std::string& data_dir, uint16_t tcp, uint16_t http) {
  std::string tmp = data_dir + "/ready.json.tmp", path = data_dir + "/ready.json";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json::serialize(json::object{{"tcp_port", tcp}, {"http_port", http}, {"pid", ::getpid()}}) << "\n";
    if (!out)
      return false;
  }
  return ::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int serve_node(const ServeOptions& opts) {
  auto loaded = load_config(opts.config_path, opts.config_given);
  if (!loaded) {
    spdlog::error("{}", loaded.error().message);
    return 1;
  }
  NodeContext ctx;
  ctx.config = std::move(*loaded);
  ctx.input_budget.set_max(ctx.config.limits.node_unacked_bytes_max);
  if (opts.data_dir)
    ctx.config.data_dir = *opts.data_dir;
  if (opts.clock)
    ctx.config.clock = *opts.clock;
  if (opts.log_level)
    ctx.config.log_level = *opts.log_level;
  if (ctx.config.clock != "system" && ctx.config.clock != "manual") {
    spdlog::error("--clock must be system or manual");
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(ctx.config.log_level));
  if (auto hp = parse_host_port(ctx.config.cluster_listen); ctx.config.clustered() && !hp) {
    spdlog::error("cluster.listen {} is not a host:port", ctx.config.cluster_listen);
    return 1;
  }
  // Off loopback the links need cluster.secret and cluster.tls (check_exposure
  // below); the TLS files are read now, not at the first connection (CAF-0.17.md §7c).
  if (ctx.config.clustered() && cluster_tls_enabled(ctx.config)) {
    if (auto err = cluster::check_tls_files(ctx.config.cluster_tls_cert, ctx.config.cluster_tls_key,
                                            ctx.config.cluster_tls_ca)) {
      spdlog::error("{}; refusing to start", err->message);
      return 1;
    }
  }
  if (auto err = check_exposure(ctx.config)) {
    spdlog::error("{}", err->message);
    return 1;
  }
  auto tcp_addr = parse_host_port(ctx.config.tcp_listen);
  auto http_addr = parse_host_port(ctx.config.http_listen);
  if (!tcp_addr || !http_addr) {
    spdlog::error("bad listen address");
    return 1;
  }
  ::mkdir(ctx.config.data_dir.c_str(), 0755);
  ::unlink((ctx.config.data_dir + "/ready.json").c_str());
  auto store = Store::open(ctx.config.data_dir, ctx.config.limits.map_size_mb);
  if (!store) {
    spdlog::error("cannot open the store in {}: {}", ctx.config.data_dir, store.error().message);
    return 1;
  }
  ctx.store = std::shared_ptr<Store>(std::move(*store));
  if (ctx.config.http_link_secret.empty()) {  // tracked links survive restarts: the key is kept in data_dir
    auto key = links::load_or_create_key(ctx.config.data_dir);
    if (!key) {
      spdlog::error("{}", key.error().message);
      return 1;
    }
    ctx.config.http_link_secret = *key;
  }
  Millis start = 0;
  if (ctx.config.clock == "manual") {
    start = Clock(false).now();
    if (auto saved = ctx.store->meta("clock"))
      start = std::stoll(*saved);
  }
  ctx.clock = std::make_shared<Clock>(ctx.config.clock == "manual", start);
  std::vector<std::string> warnings;
  {
    uint64_t generation = 0;
    if (auto g = ctx.store->meta("catalog_gen"))
      generation = std::stoull(*g);
    ctx.catalog.set(with_generation(*build_catalog(*ctx.store, ctx.config, warnings), generation));
  }
  for (auto& w : warnings)
    spdlog::warn("[catalog] {}", w);
  // Inputs logged after their customers' snapshots (a crash or kill -9) are
  // replayed into the stored states before anything is accepted.
  if (ctx.store->log_records() > 0) {
    auto t0 = std::chrono::steady_clock::now();
    auto rec = recover_log(*ctx.store, ctx.config, ctx.catalog.get());
    if (!rec) {
      spdlog::error("recovery of the input log failed: {}", rec.error().message);
      return 1;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (rec->inputs > 0 || rec->skipped > 0)
      spdlog::info("[recovery] {} logged inputs replayed into {} customers in {} ms ({} skipped)", rec->inputs,
                   rec->customers, ms, rec->skipped);
  }
  if (ctx.config.clustered()) {
    auto members = ctx.config.cluster_peers;
    members.push_back(ctx.config.cluster_listen);
    auto view = cluster::Membership::make(members, static_cast<uint32_t>(ctx.config.partitions));
    if (!view) {
      spdlog::error("cluster view: {}", view.error().message);
      return 1;
    }
    ctx.view = std::make_shared<const cluster::Membership>(std::move(*view));
    start_ownership(ctx);
  }
  // In a cluster the catalog leader (the view's first member) numbers every
  // generation: only it seeds journeys_dir; the others take its catalog when
  // they link to it, and take no events before that (PRODUCT.md §9).
  bool leader = !ctx.view || ctx.view->members().front() == ctx.config.cluster_listen;
  ctx.catalog_ready = leader;
  if (!leader && !ctx.config.journeys_dir.empty())
    spdlog::info("[catalog] journeys_dir is seeded by the catalog leader {}; this node takes its catalog",
                 ctx.view->members().front());
  if (leader && !load_journeys_dir(ctx))
    return 1;
  // With the log empty no input refers to an older catalog generation.
  if (ctx.store->log_records() == 0) {
    auto pruned = ctx.store->erase_meta_range(catalog_blob_key(0), catalog_blob_key(ctx.catalog.get()->generation));
    if (!pruned)
      spdlog::warn("[catalog] pruning old generations failed: {}", pruned.error().message);
  }

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", ctx.config.scheduler_threads);
  cfg.set("scheduler.policy", ctx.config.scheduler_policy == "stealing" ? caf::atom("stealing") : caf::atom("sharing"));
  cfg.set("middleman.workers", 0);
  // One read per socket per turn of the multiplexer: a connection that always
  // has data (its handler re-arms its read credit) would otherwise be read up
  // to 50 times (CAF's default, 50 x 64 KiB) before any other socket, accept,
  // write or ack, and starve them (issue #12 item 9).
  cfg.set("middleman.max-consecutive-reads", 1);
  register_wire_types(cfg);
  // Same on every member (a node with a connection timeout drops a peer that
  // sends no heartbeats): a frozen peer shows as down after 5 s.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
  // Never a second, plaintext BASP port on all interfaces (CAF-0.17.md §7c pitfall 5).
  cfg.set("middleman.enable-automatic-connections", false);
  cfg.load<caf::io::middleman>();
  if (ctx.config.clustered() && cluster_tls_enabled(ctx.config))
    configure_cluster_tls(cfg, ctx.config);
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    ctx.store_actor = spawn_store_actor(sys, &ctx);
    ctx.status_events = spawn_status_events(sys, &ctx);
    for (auto& [name, ch] : ctx.config.channels)
      ctx.gateways[name] = spawn_channel_gateway(sys, &ctx, name);
    std::vector<caf::actor> managers;
    for (int p = 0; p < ctx.config.partitions; ++p)
      managers.push_back(spawn_journey_manager(sys, &ctx, static_cast<size_t>(p)));
    ctx.router.set_local(std::move(managers), static_cast<uint32_t>(ctx.config.partitions));
    ctx.http_handler = make_http_api(sys, &ctx);  // before peers may relay requests to it
    if (ctx.config.clustered()) {  // before anything routes: the router learns the owners
      auto link = start_cluster(sys, &ctx);
      if (!link) {
        spdlog::error("cannot listen on cluster.listen {}: {}", ctx.config.cluster_listen, sys.render(link.error()));
        rc = 1;
      } else {
        ctx.cluster = *link;
      }
    }
    ctx.timer_service = spawn_timer_service(sys, &ctx);
    start_status_events(&ctx);
    start_daily_clv_fit(sys, &ctx);
    ctx.catalog_actor = sys.spawn(catalog_actor, &ctx);
    auto tcp = start_tcp_gateway(sys, &ctx, tcp_addr->host, tcp_addr->port);
    http::ServerOptions hopts;
    hopts.host = http_addr->host;
    hopts.port = http_addr->port;
    hopts.body_bytes_max = ctx.config.limits.request_bytes_max;
    hopts.connections_max = ctx.config.limits.http_connections_max;
    hopts.idle_timeout_s = static_cast<int>(ctx.config.limits.connection_idle_s);
    hopts.request_timeout_s = static_cast<int>(ctx.config.limits.connection_incomplete_s);
    http::Server http_server(hopts, ctx.http_handler);
    auto http_port = http_server.start();
    if (http_port && ctx.config.http_public_url.empty()) {  // derived from the port actually bound
      auto cat = std::make_shared<Catalog>(*ctx.catalog.get());
      cat->links.public_url = links::public_url_for(http_addr->host, *http_port);
      ctx.catalog.set(std::move(cat));
    }
    if (rc != 0) {
      // cluster.listen could not be bound (logged above)
    } else if (!tcp || !http_port) {
      spdlog::error("cannot listen: {}", !tcp ? sys.render(tcp.error()) : http_port.error().message);
      rc = 1;
    } else if (!write_ready_file(ctx.config.data_dir, tcp->second, *http_port)) {
      spdlog::error("cannot write {}/ready.json", ctx.config.data_dir);
      rc = 1;
    } else {
      spdlog::info("waymark node {} ready: tcp {}:{} http {}:{} data {} clock {}", ctx.config.node_id,
                   tcp_addr->host, tcp->second, http_addr->host, *http_port, ctx.config.data_dir, ctx.config.clock);
      int sig = 0;
      sigwait(&stop_signals, &sig);
      spdlog::info("signal {}: stopping", sig);
    }
    http_server.stop();
    // Stop in dependency order and wait for each stage, so that nothing still
    // routes through ctx (managers, gateways, store) once it is released:
    // connections first, then managers/timers/catalog, then gateways and store.
    caf::scoped_actor waiter{sys};
    auto stop_and_wait = [&](std::vector<caf::actor> actors, bool exit_msg) {
      size_t pending = 0;
      for (auto& a : actors) {
        if (!a)
          continue;
        waiter->monitor(a);
        ++pending;
        if (exit_msg)
          caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
        else
          caf::anon_send(a, shutdown_atom::value);
      }
      bool timed_out = false;
      while (pending > 0 && !timed_out)
        waiter->receive([&](const caf::down_msg&) { --pending; },
                        caf::after(std::chrono::seconds(5)) >> [&] { timed_out = true; });
      if (timed_out)
        spdlog::warn("shutdown: {} actors did not stop within 5 s", pending);
    };
    if (tcp)
      stop_and_wait({tcp->first}, false);
    std::vector<caf::actor> middle = ctx.router.local_managers();
    for (auto& f : ctx.router.forwarders())
      middle.push_back(f);
    middle.push_back(ctx.timer_service);
    middle.push_back(ctx.status_events);
    middle.push_back(ctx.catalog_actor);
    middle.push_back(ctx.merger);
    stop_and_wait(middle, false);
    std::vector<caf::actor> gateways;
    for (auto& [name, g] : ctx.gateways)
      gateways.push_back(g);
    stop_and_wait(gateways, false);
    stop_and_wait({ctx.store_actor}, true);
    if (ctx.cluster)
      stop_and_wait({ctx.cluster}, true);
    ctx.cluster = nullptr;
    ctx.merger = nullptr;
    ctx.http_handler = nullptr;
    ctx.router.clear();
    ctx.gateways.clear();
    ctx.store_actor = nullptr;
    ctx.timer_service = nullptr;
    ctx.status_events = nullptr;
    ctx.catalog_actor = nullptr;
    sys.await_actors_before_shutdown(false);  // pending delayed messages must not hold up exit
  }
  ::unlink((ctx.config.data_dir + "/ready.json").c_str());
  return rc;
}

}  // namespace waymark
