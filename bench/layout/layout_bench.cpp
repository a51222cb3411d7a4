// Storage layout benchmark (issue #5: "a storage layout chosen by measurement").
//
// Measures, on a real LMDB environment on disk with an fsync per commit (the
// node's durability), what one event's durable write costs under these layouts,
// all on a database already holding `--customers` states:
//
//   inplace        the node's layout: put the whole state at the customer's key
//                  (random position) + put a dedup key (customer, messageId)
//   inplace-nodedup the state put alone (what the dedup put costs in place)
//   inplace-colocated the dedup key in the customers tree right after the
//                  customer's state key (customer\0m<id>), so both puts land on
//                  the same leaf page
//   inplace-merged the same without the separate dedup put (the messageId kept
//                  inside the state document, a few bytes larger)
//   log-full       a write-ahead log inside LMDB: append the whole state under a
//                  sequence number (MDB_APPEND, always the rightmost page) + the
//                  dedup put; every --checkpoint commits, the newest state of
//                  each customer in the log is put in place and the log prefix
//                  is deleted (the checkpoint's time is counted)
//   log-delta      append only a delta (--delta-bytes, e.g. the event or the
//                  state change) + the dedup put; a customer's full state is put
//                  in place every --snapshot-every events (the replay on
//                  rehydration is not counted: it favours this layout)
//   log-only       log-delta without the dedup put: the messageId rides in the
//                  delta and is found by the replay (the next step after log-delta)
//
// Events are spread uniformly over the customers (the headline's worst case:
// no customer repeats within a batch). Prints writes/s per layout as the median
// (min-max) of --runs runs, each on a fresh environment.
#include <lmdb.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  uint64_t customers = 100000;
  uint64_t events = 200000;
  uint64_t batch = 1024;
  size_t state_bytes = 2000;
  size_t delta_bytes = 250;
  uint64_t snapshot_every = 8;
  uint64_t checkpoint = 16;
  int runs = 3;
  std::string dir = "/tmp";
  bool nometasync = false;  // MDB_NOMETASYNC: one flush per commit, the meta page rides on the next one
};

[[noreturn]] void die(const char* what, int rc) {
  std::fprintf(stderr, "layout_bench: %s: %s\n", what, mdb_strerror(rc));
  std::exit(1);
}

void check(const char* what, int rc) {
  if (rc)
    die(what, rc);
}

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

std::string customer_key(uint64_t i) { return "c" + std::to_string(i); }

/// The dedup key of event `seq` of customer key `ck` (the node's customer\0messageId shape).
std::string dedup_key(const std::string& ck, uint64_t seq) { return ck + '\0' + "m" + std::to_string(seq); }

MDB_val val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

struct Env {
  MDB_env* env = nullptr;
  MDB_dbi customers = 0, dedup = 0, log = 0;
  std::string dir;

  Env(const std::string& parent, unsigned flags) {
    std::string tmpl = parent + "/waymark-layout-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      die("mkdtemp", errno);
    dir = tmpl;
    check("env_create", mdb_env_create(&env));
    mdb_env_set_maxdbs(env, 4);
    mdb_env_set_mapsize(env, size_t{8} << 30);
    check("env_open", mdb_env_open(env, dir.c_str(), MDB_NOTLS | flags, 0644));
    MDB_txn* txn;
    check("txn_begin", mdb_txn_begin(env, nullptr, 0, &txn));
    check("dbi customers", mdb_dbi_open(txn, "customers", MDB_CREATE, &customers));
    check("dbi dedup", mdb_dbi_open(txn, "dedup", MDB_CREATE, &dedup));
    check("dbi log", mdb_dbi_open(txn, "log", MDB_CREATE, &log));
    check("txn_commit", mdb_txn_commit(txn));
  }
  ~Env() {
    mdb_env_close(env);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
};

// xorshift64*: a fixed, cheap sequence of customers, the same for every layout.
struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
};

void populate(Env& e, const Options& o, const std::string& state) {
  MDB_txn* txn;
  check("txn_begin", mdb_txn_begin(e.env, nullptr, 0, &txn));
  for (uint64_t i = 0; i < o.customers; ++i) {
    std::string k = customer_key(i);
    MDB_val kv = val(k), vv = val(state);
    check("populate put", mdb_put(txn, e.customers, &kv, &vv, 0));
  }
  check("populate commit", mdb_txn_commit(txn));
}

enum class Layout { inplace, inplace_nodedup, inplace_colocated, inplace_merged, log_full, log_delta, log_only };
const char* name(Layout l) {
  switch (l) {
    case Layout::inplace: return "inplace";
    case Layout::inplace_nodedup: return "inplace-nodedup";
    case Layout::inplace_colocated: return "inplace-colocated";
    case Layout::inplace_merged: return "inplace-merged";
    case Layout::log_full: return "log-full";
    case Layout::log_delta: return "log-delta";
    case Layout::log_only: return "log-only";
  }
  return "?";
}
constexpr Layout kLayouts[] = {Layout::inplace,  Layout::inplace_nodedup, Layout::inplace_colocated,
                               Layout::inplace_merged, Layout::log_full,  Layout::log_delta,
                               Layout::log_only};

struct RunResult {
  double writes_per_s = 0;
  double file_mb = 0;
};

RunResult run(Layout layout, const Options& o) {
  Env e(o.dir, o.nometasync ? MDB_NOMETASYNC : 0u);
  const std::string state(o.state_bytes, 's');
  const std::string merged_state(o.state_bytes + 40, 's');  // + a few messageIds inside the document
  const std::string delta(o.delta_bytes, 'd');
  populate(e, o, state);
  Rng rng;
  uint64_t seq = 0, commits = 0;
  std::vector<uint32_t> since_snapshot(o.customers, 0);
  auto put = [](MDB_txn* txn, MDB_dbi dbi, const std::string& k, const std::string& v, unsigned flags = 0) {
    MDB_val kv = val(k), vv = val(v);
    check("put", mdb_put(txn, dbi, &kv, &vv, flags));
  };
  auto t0 = Clock::now();
  for (uint64_t done = 0; done < o.events;) {
    MDB_txn* txn;
    check("txn_begin", mdb_txn_begin(e.env, nullptr, 0, &txn));
    uint64_t n = std::min(o.batch, o.events - done);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t c = rng.next() % o.customers;
      std::string ck = customer_key(c);
      ++seq;
      switch (layout) {
        case Layout::inplace:
          put(txn, e.customers, ck, state);
          put(txn, e.dedup, dedup_key(ck, seq), be64(seq));
          break;
        case Layout::inplace_nodedup:
          put(txn, e.customers, ck, state);
          break;
        case Layout::inplace_colocated:
          put(txn, e.customers, ck, state);
          put(txn, e.customers, dedup_key(ck, seq), be64(seq));
          break;
        case Layout::inplace_merged:
          put(txn, e.customers, ck, merged_state);
          break;
        case Layout::log_full:
          put(txn, e.log, be64(seq), ck + '\0' + state, MDB_APPEND);
          put(txn, e.dedup, dedup_key(ck, seq), be64(seq));
          break;
        case Layout::log_delta:
        case Layout::log_only:
          put(txn, e.log, be64(seq), ck + '\0' + delta, MDB_APPEND);
          if (layout == Layout::log_delta)
            put(txn, e.dedup, dedup_key(ck, seq), be64(seq));
          if (++since_snapshot[c] >= o.snapshot_every) {
            since_snapshot[c] = 0;
            put(txn, e.customers, ck, state);
          }
          break;
      }
    }
    done += n;
    ++commits;
    // log-full's checkpoint: newest state per customer in place, then drop the prefix.
    if (layout == Layout::log_full && (commits % o.checkpoint == 0 || done == o.events)) {
      MDB_cursor* cur;
      check("cursor", mdb_cursor_open(txn, e.log, &cur));
      std::unordered_map<std::string, std::string> newest;
      MDB_val k, v;
      for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        std::string rec(static_cast<const char*>(v.mv_data), v.mv_size);
        size_t z = rec.find('\0');
        newest[rec.substr(0, z)] = rec.substr(z + 1);
      }
      for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST))
        check("cursor_del", mdb_cursor_del(cur, 0));
      mdb_cursor_close(cur);
      for (auto& [ck, st] : newest)
        put(txn, e.customers, ck, st);
    }
    // log-delta: deltas older than every customer's snapshot are not needed; trim
    // what is older than snapshot_every commits' worth of events (a generous bound).
    if ((layout == Layout::log_delta || layout == Layout::log_only) && seq > o.snapshot_every * o.customers) {
      uint64_t keep_from = seq - o.snapshot_every * o.customers;
      MDB_cursor* cur;
      check("cursor", mdb_cursor_open(txn, e.log, &cur));
      MDB_val k, v;
      for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) {
        uint64_t s = 0;
        for (size_t i = 0; i < 8; ++i)
          s = s << 8 | static_cast<unsigned char>(static_cast<const char*>(k.mv_data)[i]);
        if (s >= keep_from)
          break;
        check("cursor_del", mdb_cursor_del(cur, 0));
      }
      mdb_cursor_close(cur);
    }
    check("txn_commit", mdb_txn_commit(txn));  // fsync, as the node does
  }
  if (o.nometasync)
    check("env_sync", mdb_env_sync(e.env, 1));  // the last commit's meta page: durable before the clock stops
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  RunResult r;
  r.writes_per_s = static_cast<double>(o.events) / secs;
  std::error_code ec;
  r.file_mb = static_cast<double>(fs::file_size(e.dir + "/data.mdb", ec)) / (1024.0 * 1024.0);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> only;
  CLI::App app{"waymark storage layout benchmark (bench/README.md, Storage layout)"};
  app.add_option("--customers", o.customers, "customers already stored");
  app.add_option("--events", o.events, "events (writes) per run");
  app.add_option("--batch", o.batch, "events per commit (group commit)");
  app.add_option("--state-bytes", o.state_bytes, "size of a customer's state document");
  app.add_option("--delta-bytes", o.delta_bytes, "size of a log-delta record");
  app.add_option("--snapshot-every", o.snapshot_every, "log-delta: a full state every N events of a customer");
  app.add_option("--checkpoint", o.checkpoint, "log-full: a checkpoint every N commits");
  app.add_option("--runs", o.runs, "runs per layout (median printed)");
  app.add_option("--dir", o.dir, "where the temporary environments go");
  app.add_flag("--nometasync", o.nometasync,
               "MDB_NOMETASYNC: the data pages are flushed per commit, the meta page with the next commit's "
               "flush (an acknowledgement would wait for it)");
  app.add_option("--layout", only, "only these layouts (inplace, inplace-nodedup, inplace-colocated, inplace-merged, log-full, log-delta, log-only)");
  CLI11_PARSE(app, argc, argv);
  for (const auto& l : only)
    if (std::none_of(std::begin(kLayouts), std::end(kLayouts), [&](Layout k) { return l == name(k); })) {
      std::fprintf(stderr, "layout_bench: unknown --layout '%s'\n", l.c_str());
      return 2;
    }
  if (o.customers == 0 || o.batch == 0 || o.runs < 1 || o.snapshot_every == 0 || o.checkpoint == 0) {
    std::fprintf(stderr, "layout_bench: --customers, --batch, --runs, --snapshot-every and --checkpoint must be > 0\n");
    return 2;
  }
  std::printf("customers %llu, events %llu, %llu per commit, state %zu B, delta %zu B, snapshot every %llu, "
              "checkpoint every %llu commits, %d runs\n",
              static_cast<unsigned long long>(o.customers), static_cast<unsigned long long>(o.events),
              static_cast<unsigned long long>(o.batch), o.state_bytes, o.delta_bytes,
              static_cast<unsigned long long>(o.snapshot_every), static_cast<unsigned long long>(o.checkpoint), o.runs);
  std::printf("%-15s %12s %12s %12s %10s\n", "layout", "writes/s", "min", "max", "file MB");
  for (Layout l : kLayouts) {
    if (!only.empty() && std::find(only.begin(), only.end(), name(l)) == only.end())
      continue;
    std::vector<RunResult> rs;
    for (int i = 0; i < o.runs; ++i)
      rs.push_back(run(l, o));
    std::sort(rs.begin(), rs.end(), [](auto& a, auto& b) { return a.writes_per_s < b.writes_per_s; });
    std::printf("%-15s %12.0f %12.0f %12.0f %10.0f\n", name(l), rs[rs.size() / 2].writes_per_s, rs.front().writes_per_s,
                rs.back().writes_per_s, rs[rs.size() / 2].file_mb);
    std::fflush(stdout);
  }
  return 0;
}
