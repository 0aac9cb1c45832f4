// Prefix caching and the KV hierarchy: the chunk LRU, the cache's block accounting, tiers, and runs.
#include "catalog.hpp"
#include "kv_tiers.hpp"
#include "platform.hpp"
#include "prefix_cache.hpp"
#include "summary.hpp"
#include "support.hpp"
#include "workload.hpp"
#include <doctest/doctest.h>

using namespace fs;
using fs::test::in_child;
using fs::test::run_in_child;

TEST_CASE("ChunkLru: least recently used unpinned chunks leave first")
{
  ChunkLru l(2);
  std::vector<uint64_t> out;
  CHECK(l.insert(1, 0, out));
  CHECK(l.insert(2, 1, out)); // pinned
  CHECK(l.insert(3, 0, out)); // full: 1 goes (2 is pinned)
  CHECK(out == std::vector<uint64_t>{1});
  l.touch(3);
  l.unpin(2); // its last user just left: the most recently used
  out.clear();
  CHECK(l.insert(4, 0, out));
  CHECK(out == std::vector<uint64_t>{3});
  l.pin(2);
  l.pin(4);
  CHECK_FALSE(l.insert(5, 0, out)); // everything pinned: no room
  ChunkLru none(0);
  CHECK_FALSE(none.insert(1, 0, out));
}

TEST_CASE("PrefixCache: shared chunks, eviction down the tiers, loads and writes listed for the engine")
{
  KvCache kv(16 * 64, 16); // 64 blocks of 16 tokens
  KvStore dram(KvTier::dram, 100, 1e9, nullptr);
  PrefixConfig cfg;
  cfg.chunk_tokens = 64; // 4 blocks
  cfg.chunk_bytes = 1e9;
  cfg.link_bandwidth = 5e9;
  cfg.below = &dram;
  PrefixCache pc(kv, cfg);
  const std::vector<uint64_t> a{1, 2, 3}, b{1, 2, 9};

  // A: nothing cached; computes its 200-token prompt (3 whole chunks), which enter the cache pinned by it.
  KvSeq sa;
  long pa = 0;
  std::vector<TierLoad> loads;
  CHECK(pc.acquire(a, 199, sa, loads, pa) == 0);
  CHECK(loads.empty());
  REQUIRE(kv.reserve(sa, 200));
  CHECK(kv.used_blocks() == 13);
  pc.computed(a, 200, sa, pa);
  CHECK(pa == 3);
  CHECK(kv.cached_blocks() == 12);
  CHECK(kv.used_blocks() == 1); // its last 8 tokens
  CHECK(sa.base_tokens() == 192);

  // B shares A's first two chunks: it starts after them, holding blocks only for what follows.
  KvSeq sb;
  long pb = 0;
  CHECK(pc.acquire(b, 199, sb, loads, pb) == 128);
  CHECK(loads.empty()); // all in accelerator memory: no load
  CHECK(pb == 2);
  REQUIRE(kv.reserve(sb, 200));
  CHECK(kv.used_blocks() == 1 + 5);
  CHECK(pc.evictable_blocks() == 0); // everything pinned

  // Both leave: the chunks stay, evictable; a large reservation evicts them (least recently used first) into DRAM.
  kv.free(sa);
  pc.release(a, pa);
  kv.free(sb);
  pc.release(b, pb);
  CHECK(pc.evictable_blocks() == 12);
  CHECK(kv.fits(64));
  KvSeq big;
  REQUIRE(kv.reserve(big, 16 * 60)); // 60 blocks: 52 free + 2 chunks evicted
  CHECK(kv.cached_blocks() == 4);
  CHECK(dram.chunks.size() == 2);
  CHECK(dram.take_writes() == doctest::Approx(2e9)); // the two chunks written into DRAM
  CHECK(dram.take_writes() == 0);
  kv.free(big);

  // A again: chunk 1 still in hbm, chunks 2 and 3 come back from DRAM in one load over the instance's link.
  KvSeq sa2;
  long pa2 = 0;
  CHECK(pc.acquire(a, 199, sa2, loads, pa2) == 192);
  REQUIRE(loads.size() == 1);
  CHECK(loads[0].from == &dram);
  CHECK(loads[0].bytes == doctest::Approx(2e9));
  CHECK(loads[0].link == 5e9);
  CHECK(dram.stats.hit_chunks == 2);
  CHECK(dram.stats.loaded_bytes == doctest::Approx(2e9));
  CHECK(pc.hbm_stats().hit_chunks == 2 + 1);
  CHECK(pc.match(a, 199) == 192);
  CHECK(pc.match(a, 100) == 64); // never the prompt's last token
}

namespace {

// One H100 server, Llama-3.1-8B, two TP1 instances; requests 2 s apart (each done long before the next), 2,048
// prompt tokens in four 512-token chunks: a system prompt shared by all, two chunks shared within one of ten
// conversations, one unique.
Json light_doc(const char* router)
{
  return {{"name", "prefix"},
          {"model", "Llama-3.1-8B"},
          {"pools", {{{"name", "h"}, {"server", "HGX-H100-8"}, {"servers", 1}}}},
          {"placements", {{{"name", "c"}, {"type", "colocated"}, {"pool", "h"}, {"instances", 2}, {"tp", 1}}}},
          {"router", router},
          {"workload",
           {{"type", "gamma"},
            {"qps", 0.5},
            {"cv", 0.01},
            {"duration_s", 200},
            {"input", {{"type", "fixed"}, {"value", 2048}}},
            {"output", {{"type", "fixed"}, {"value", 16}}}}}};
}

void with_prefixes(Scenario& s, bool caching, int conversations = 10)
{
  auto reqs = std::make_shared<std::vector<RequestSpec>>(generate_workload(s.workload, s.seed));
  for (RequestSpec& r : *reqs) {
    const uint64_t conv = uint64_t(r.id % conversations);
    r.prefix_hashes = {1, 1000 + conv * 10, 1001 + conv * 10, 1'000'000 + uint64_t(r.id)};
  }
  s.requests = reqs;
  s.prefix_block_tokens = 512;
  s.kv_cache.prefix_caching = caching;
}

Json kv_report(const Scenario& s, const RunResult& r)
{
  Json cached = Json::array(), ttft = Json::array();
  for (const Request& q : r.requests) {
    cached.push_back(q.cached_tokens);
    ttft.push_back(q.first_token - q.spec.arrival);
  }
  return {{"summary", make_summary(s, s.placements[0], r)}, {"cached", cached}, {"ttft", ttft}};
}

} // namespace

TEST_CASE("prefix caching in a run: every repeated chunk hits when the cache holds everything; none without it")
{
  const Json doc = light_doc("least_outstanding");
  const Json on = run_in_child(doc, 0, kv_report, [](Scenario& s) { with_prefixes(s, true); });
  const Json off = run_in_child(doc, 0, kv_report, [](Scenario& s) { with_prefixes(s, false); });
  // Idle instances tie on outstanding work, so every request goes to the first: one cache sees them all. A chunk
  // hits when every chunk before it was seen before (the leading run), except the prompt's last (computed).
  const size_t n = on["cached"].size();
  REQUIRE(n > 50);
  long hits = 0;
  for (size_t i = 0; i < n; ++i) {
    const long expect = i == 0 ? 0 : i < 10 ? 512 : 3 * 512; // system prompt; then the conversation's two chunks
    CHECK(on["cached"][i].get<long>() == expect);
    CHECK(off["cached"][i].get<long>() == 0);
    hits += expect / 512;
    if (i >= 10) CHECK(on["ttft"][i].get<double>() < 0.5 * off["ttft"][i].get<double>());
  }
  const Json& kv = on["summary"]["kv_hierarchy"];
  CHECK(kv["lookups_chunks"].get<long>() == long(4 * n));
  CHECK(kv["hit_rate"].get<double>() == doctest::Approx(double(hits) / double(4 * n)));
  CHECK(kv["tiers"]["hbm"]["hit_chunks"].get<long>() == hits);
  CHECK(kv["prefill_tokens_saved"].get<long>() == hits * 512);
  CHECK(off["summary"]["kv_hierarchy"].is_null());
  // Cached prompt tokens are served input all the same.
  CHECK(on["summary"]["throughput"]["input_tokens_per_s"].get<double>() ==
        doctest::Approx(off["summary"]["throughput"]["input_tokens_per_s"].get<double>()).epsilon(1e-9));
}

TEST_CASE("the prefix-aware router sends a conversation where its prefix is cached")
{
  auto rate = [](const char* router) {
    // Seven conversations over two instances: round robin sends a conversation's turns to both.
    const Json j = run_in_child(light_doc(router), 0, kv_report, [](Scenario& s) { with_prefixes(s, true, 7); });
    return j["summary"]["kv_hierarchy"]["hit_rate"].get<double>();
  };
  const double rr = rate("round_robin"), pa = rate("prefix_aware");
  MESSAGE("chunk hit rate: round_robin " << rr << ", prefix_aware " << pa);
  CHECK(pa > rr);
}

TEST_CASE("offload instead of recompute: a preempted sequence's KV goes to host DRAM and comes back")
{
  KvCache kv(16 * 64, 16);
  KvStore dram(KvTier::dram, 4, 1e9, nullptr); // four 64-token chunks
  PrefixConfig cfg;
  cfg.chunk_tokens = 64;
  cfg.chunk_bytes = 1e9;
  cfg.link_bandwidth = 5e9;
  cfg.below = &dram;
  cfg.offload_preempted = true;
  PrefixCache pc(kv, cfg);
  CHECK(pc.offload(7, 130)); // three chunks
  CHECK(dram.chunks.size() == 3);
  CHECK_FALSE(pc.offload(8, 130)); // no room for three more (the first three are pinned): nothing stays
  CHECK(dram.chunks.size() == 3);
  CHECK(dram.take_writes() == doctest::Approx(130 * (1e9 / 64))); // the preempted tokens written out
  std::vector<TierLoad> loads;
  pc.restore(7, 130, loads);
  REQUIRE(loads.size() == 1);
  CHECK(loads[0].bytes == doctest::Approx(130 * (1e9 / 64)));
  CHECK(dram.chunks.size() == 0);

  // In a run: a KV cache too small for the load preempts; with a DRAM tier and offload_preempted the preempted
  // tokens come back instead of being recomputed, and every request still completes.
  Json d = light_doc("least_outstanding");
  d["workload"]["qps"] = 40;
  d["workload"]["duration_s"] = 20;
  d["workload"]["output"]["value"] = 600;
  d["scheduler"] = {{"gpu_memory_utilization", 0.25}};
  auto prep = [](bool offload) {
    return [offload](Scenario& s) {
      with_prefixes(s, true);
      s.kv_cache.offload_preempted = offload;
      s.kv_cache.dram = load_catalog().storage.at("DDR5-RDIMM-64GB");
      s.kv_cache.dram_per_server = 8;
      s.kv_cache.host_link_gb_per_s = 57;
    };
  };
  const Json off = run_in_child(d, 0, kv_report, prep(true));
  const Json rec = run_in_child(d, 0, kv_report, prep(false));
  const Json& k = off["summary"]["kv_hierarchy"];
  MESSAGE("preemptions " << off["summary"]["requests"]["preemptions"] << " / "
                         << rec["summary"]["requests"]["preemptions"] << ", tokens restored "
                         << k["preempted_tokens_restored"]);
  CHECK(off["summary"]["requests"]["preemptions"].get<long>() > 0);
  CHECK(k["preempted_tokens_restored"].get<long>() > 0);
  CHECK(rec["summary"]["kv_hierarchy"]["preempted_tokens_restored"].get<long>() == 0);
  CHECK(off["summary"]["requests"]["dropped"] == 0);
  CHECK(off["summary"]["requests"]["completed"] == rec["summary"]["requests"]["completed"]);
}

TEST_CASE("a chunk being loaded from a tier is not evicted from it by the room made for it")
{
  KvCache kv(16 * 8, 16); // two 64-token chunks
  KvStore dram(KvTier::dram, 1, 1e9, nullptr);
  PrefixConfig cfg;
  cfg.chunk_tokens = 64;
  cfg.chunk_bytes = 1e9;
  cfg.link_bandwidth = 5e9;
  cfg.below = &dram;
  PrefixCache pc(kv, cfg);
  KvSeq s;
  long pinned = 0;
  std::vector<TierLoad> loads;
  pc.acquire({1, 2}, 127, s, loads, pinned);
  REQUIRE(kv.reserve(s, 128));
  pc.computed({1, 2}, 128, s, pinned); // both chunks cached: the KV cache is full
  kv.free(s);
  pc.release({1, 2}, pinned);
  KvSeq t;
  long tp = 0;
  pc.acquire({3}, 63, t, loads, tp);
  REQUIRE(kv.reserve(t, 64)); // evicts chunk 1 into DRAM
  CHECK(dram.chunks.contains(1));
  // Chunk 1 is in DRAM, the KV cache holds t and chunk 2: loading 1 evicts 2, whose move down must not push 1 out.
  KvSeq u;
  long up = 0;
  CHECK(pc.acquire({1}, 127, u, loads, up) == 64);
  REQUIRE(loads.size() == 1);
  CHECK(loads[0].bytes == doctest::Approx(1e9));
  CHECK(dram.chunks.contains(1));
}

TEST_CASE("tier loads are SimGrid activities: a remote load shares the fabric with a KV pull")
{
  // Two accelerator servers and one store server, each with one 200G NIC (25 GB/s): a 5 GB load from the store
  // into server 0 runs at 25 GB/s alone, and at half that while a 5 GB KV pull from server 1 comes into server 0
  // over the same NIC link. A DRAM load is bounded by the instance's host link, and an NVMe one by the drive.
  Json d = light_doc("least_outstanding");
  d["pools"] = {{{"name", "h"}, {"server", "HGX-H100-8"}, {"servers", 2}},
                {{"name", "store"}, {"server", "CPU-2S-EPYC-9654"}, {"servers", 1}}};
  d["fabric"] = {{"servers_per_rack", 4}};
  Scenario s = parse_scenario(d, "t.json");
  s.pools[0].server.nic = s.pools[1].server.nic;
  s.pools[0].server.nics_per_server = 1;
  s.prefix_block_tokens = 512;
  s.kv_cache.prefix_caching = true;
  const Catalog& cat = load_catalog();
  s.kv_cache.remote_pool = "store";
  s.kv_cache.remote = cat.storage.at("Micron-9550-12.8TB");
  s.kv_cache.remote_per_server = 8;
  s.kv_cache.nvme = cat.storage.at("Micron-9550-12.8TB");
  s.kv_cache.nvme_per_server = 1;
  s.kv_cache.dram = cat.storage.at("DDR5-RDIMM-64GB");
  s.kv_cache.dram_per_server = 1;
  const double nic = s.pools[1].server.nic_bandwidth(), bytes = 5e9;
  auto timed = [&](KvTier tier, bool pull, double link) {
    return test::with_platform(
               s,
               [&](simgrid::s4u::Engine& e, const Platform& pf) {
                 KvTiers tiers(s, pf);
                 simgrid::s4u::Host* h0 = pf.servers.at("h")[0];
                 simgrid::s4u::Host* h1 = pf.servers.at("h")[1];
                 KvStore* from = nullptr;
                 for (auto const& st : tiers.stores())
                   if (st->tier == tier && (tier == KvTier::remote || tiers.below_hbm(h0) == st.get() ||
                                            tiers.below_hbm(h0)->below == st.get()))
                     from = st.get();
                 REQUIRE(from);
                 double done = -1;
                 tiers.load(h0, {{from, bytes, link}}, [&] { done = simgrid::s4u::Engine::get_clock(); });
                 if (pull)
                   simgrid::s4u::Actor::create("pull", h1,
                                               [&] { simgrid::s4u::Comm::sendto(h1, h0, uint64_t(bytes)); });
                 // Load workers are daemons (as in a run, whose source actor keeps the engine going): one
                 // actor lasts.
                 simgrid::s4u::Actor::create("clock", h1, [] { simgrid::s4u::this_actor::sleep_for(100); });
                 e.run();
                 return Json(done);
               })
        .get<double>();
  };
  const double alone = timed(KvTier::remote, false, 1e15), shared = timed(KvTier::remote, true, 1e15);
  MESSAGE("remote load of 5 GB: " << alone << " s alone, " << shared << " s beside a KV pull");
  CHECK(alone == doctest::Approx(bytes / nic).epsilon(0.01).scale(0));
  CHECK(shared == doctest::Approx(2 * bytes / nic).epsilon(0.01).scale(0));
  // Host DRAM reads at the sockets' memory bandwidth, no faster than the instance's link; NVMe at the drive's.
  CHECK(timed(KvTier::dram, false, 10e9) == doctest::Approx(bytes / 10e9));
  CHECK(timed(KvTier::nvme, false, 1e15) ==
        doctest::Approx(bytes / cat.storage.at("Micron-9550-12.8TB").read_bandwidth));
}

TEST_CASE("kv_cache input errors name the path and what was expected")
{
  const Json base = read_json_file(project_file("scenarios/mooncake_prefix_cache_70b.json"));
  auto err = [&](auto&& change) {
    Json d = base;
    d["workload"]["path"] = project_file("scenarios/traces/mooncake_conversation.jsonl");
    d["workload"]["duration_s"] = 120;
    d["sim"]["warmup_s"] = 5;
    change(d);
    return fs::test::scenario_error(d);
  };
  CHECK(err([](Json&) {}) == "");
  CHECK(err([](Json& d) { d["kv_cache"]["prefix_caching"] = false; }).find("kv_cache.prefix_caching: the tiers") !=
        std::string::npos);
  CHECK(err([](Json& d) {
          d["kv_cache"]["nvme"]["drive"] = "DDR5-RDIMM-64GB";
        }).find("kv_cache.nvme.drive: \"DDR5-RDIMM-64GB\" is a dram device") != std::string::npos);
  CHECK(err([](Json& d) {
          d["kv_cache"]["host_dram"]["module"] = "Floppy";
        }).find("kv_cache.host_dram.module: unknown storage \"Floppy\"") != std::string::npos);
  CHECK(err([](Json& d) {
          d["kv_cache"]["remote"] = {{"pool", "nowhere"}, {"drive", "Micron-9550-12.8TB"}, {"per_server", 4}};
        }).find("kv_cache.remote.pool: unknown pool \"nowhere\"") != std::string::npos);
  CHECK(err([](Json& d) {
          d["kv_cache"].erase("host_dram");
          d["kv_cache"].erase("nvme");
        }).find("kv_cache.offload_preempted: needs a tier") != std::string::npos);
  CHECK(err([](Json& d) {
          d["scheduler"] = {{"block_size_tokens", 48}};
        }).find("are not whole KV blocks") != std::string::npos);
  CHECK(err([](Json& d) {
          d["workload"] = {{"type", "poisson"},
                           {"qps", 1},
                           {"duration_s", 10},
                           {"input", {{"type", "fixed"}, {"value", 100}}},
                           {"output", {{"type", "fixed"}, {"value", 10}}}};
        }).find("kv_cache.prefix_caching: the workload's requests carry no prefix hashes") != std::string::npos);
}

TEST_CASE("a remote KV store on a CPU pool: chunks evicted from accelerator memory come back over its NICs")
{
  Json d = light_doc("least_outstanding");
  d["pools"].push_back({{"name", "store"}, {"server", "CPU-2S-EPYC-9654"}, {"servers", 1}});
  d["scheduler"] = {{"gpu_memory_utilization", 0.3}}; // a small KV cache: chunks leave it
  d["workload"]["qps"] = 4;
  d["workload"]["duration_s"] = 60;
  const Json j = run_in_child(d, 0, kv_report, [](Scenario& s) {
    with_prefixes(s, true, 200);
    s.kv_cache.host_link_gb_per_s = 57;
    s.kv_cache.remote_pool = "store";
    s.kv_cache.remote = load_catalog().storage.at("Micron-9550-12.8TB");
    s.kv_cache.remote_per_server = 4;
  });
  const Json& k = j["summary"]["kv_hierarchy"];
  MESSAGE("hit rate " << k["hit_rate"] << ", remote " << k["tiers"]["remote"]);
  CHECK(k["tiers"]["remote"]["hit_chunks"].get<long>() > 0);
  CHECK(k["tiers"]["remote"]["bytes_loaded"].get<double>() > 0);
  CHECK(k["tiers"]["remote"]["capacity_gb"].get<double>() == doctest::Approx(4 * 12800));
  bool drives = false, server = false;
  for (const Json& it : j["summary"]["cost"]["items"]) {
    drives = drives || (it["group"] == "store" && it["kind"] == "storage" && it["count"] == 4);
    server = server || (it["group"] == "store" && it["kind"] == "chassis");
  }
  CHECK(drives);
  CHECK(server);
}
