// Message dispatch to many small CAF actors (issue #5, bench/micro): one
// message to each of N event-based actors per iteration, on a 2-thread
// work-sharing scheduler like the node's default. Measures the actor runtime
// alone (no journey work), i.e. the ceiling a per-customer actor design has.
#include <benchmark/benchmark.h>

#include <atomic>
#include <caf/all.hpp>
#include <thread>
#include <vector>

namespace {

caf::behavior counting_actor(caf::event_based_actor* self, std::atomic<uint64_t>* seen) {
  return {[=](int64_t) { seen->fetch_add(1, std::memory_order_relaxed); }};
}

void BM_DispatchToActors(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};
  sys.await_actors_before_shutdown(false);
  std::atomic<uint64_t> seen{0};
  std::vector<caf::actor> actors;
  actors.reserve(n);
  for (size_t i = 0; i < n; ++i)
    actors.push_back(sys.spawn(counting_actor, &seen));
  uint64_t expected = 0;
  for (auto _ : state) {
    for (auto& a : actors)
      caf::anon_send(a, int64_t{1});
    expected += n;
    while (seen.load(std::memory_order_relaxed) < expected)
      std::this_thread::yield();  // waiting for the scheduler to drain (benchmark only)
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  actors.clear();
}
BENCHMARK(BM_DispatchToActors)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
