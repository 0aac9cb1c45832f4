#include "scenario_pods.hpp"
#include "placement.hpp"
#include "schema.hpp"
#include "topology.hpp"
#include <map>

namespace fs {

const ObjectSpec& pods_spec()
{
  static const ObjectSpec o{
      "pods",
      "the factory as identical pods (a rack or a row, each with its own instances and fabric) behind a global router "
      "that picks a pod per request; each pod can run in its own MPI rank (default: one pod)",
      {integer("count", 1, 1e6, "pods: every pool's servers and every stage's instances split evenly"),
       text("router",
            "how the global router picks a pod: the least outstanding tokens, or round robin (a static "
            "split, no load exchanged)",
            {"least_outstanding", "round_robin"}),
       num("sync_s", 0, 1e9,
           "least_outstanding: seconds between load snapshots (pods' outstanding tokens as of the last multiple of "
           "sync_s, plus the tokens sent to each since); 0: live loads (one process only)")}};
  return o;
}

void parse_pods(Scenario& s, const JsonNode& root)
{
  auto n = root.get("pods");
  if (!n) return;
  n->expect_object();
  PodsConfig& p = s.pods;
  p.given = true;
  p.count = int(n->positive_int("count", 1));
  p.router = n->choice("router", {"least_outstanding", "round_robin"}, p.router);
  p.sync_s = n->non_negative("sync_s", 0);
  if (n->has("sync_s") && p.router == "round_robin") n->fail("sync_s", "a round_robin split exchanges no loads");
  n->done();
}

std::string pods_shared_switch(const Scenario& s)
{
  const int P = s.pods.count;
  if (P == 1) return "";
  // Servers in the order the platform puts them under switches (every pool's, pool by pool, platform.cpp).
  std::vector<int> pod;
  for (const ServerPool& pool : s.pools)
    for (int i = 0; i < pool.servers; ++i)
      pod.push_back(i / (pool.servers / P));
  std::vector<std::pair<long, std::string>> levels; // servers under one switch, its name
  if (s.fabric.type == "fat_tree") {
    const FatTreeShape ft = fat_tree_shape(s);
    levels = {{ft.k / 2, "edge switch"}, {long(ft.k / 2) * (ft.k / 2), "fat-tree pod"}};
  } else {
    levels = {{s.fabric.servers_per_rack, "rack"}};
  }
  for (auto const& [size, name] : levels)
    for (size_t i = 1; i < pod.size(); ++i)
      if (long(i) % size != 0 && pod[i] != pod[i - 1])
        return name + " " + std::to_string(long(i) / size) + " holds servers of pods " + std::to_string(pod[i - 1]) +
               " and " + std::to_string(pod[i]);
  return "";
}

void check_pods(const Scenario& s, const JsonNode& root)
{
  const PodsConfig& p = s.pods;
  if (p.count == 1) return;
  const JsonNode node = root.at("pods");
  const JsonNode* n = &node;
  const std::string P = std::to_string(p.count);
  auto fail = [&](const std::string& why) { n->fail("count", why); };
  for (const ServerPool& pool : s.pools)
    if (pool.servers % p.count != 0)
      fail("pool \"" + pool.name + "\" has " + std::to_string(pool.servers) + " servers, not a multiple of " + P +
           " pods");
  if (s.host.enabled()) fail("host work shares one CPU pool between pods: not modelled with pods");
  if (!s.tool_pool.empty()) fail("tool calls share one CPU pool between pods: not modelled with pods");
  if (!s.kv_cache.remote_pool.empty()) fail("a remote KV store is shared between pods: not modelled with pods");
  if (!s.list && !s.requests)
    fail("the workload creates requests as the run goes (sessions, closed loops, agents): pods need a list of "
         "arrivals (open loop, trace or offline batch), drawn alike by every rank");
  for (const PlacementConfig& pc : s.placements) {
    // One pod's share of each pool must hold one pod's instances, allocated as the factory does (factory.cpp).
    std::map<std::string, ChipAllocator> alloc;
    for (const ServerPool& pool : s.pools)
      alloc.try_emplace(pool.name, pool.servers / p.count, pool.server.chips_per_server);
    for (const StageConfig& st : pc.stages) {
      const std::string where = "placement \"" + pc.name + "\" stage \"" + st.name + "\"";
      if (st.instances % p.count != 0)
        fail(where + " has " + std::to_string(st.instances) + " instances, not a multiple of " + P + " pods");
      const int per_pod = st.instances / p.count;
      if (!st.ffn.pool.empty())
        for (int i = 0; i < per_pod; ++i)
          if (alloc.at(st.ffn.pool).take(st.ffn.chips) < 0)
            fail(where + ": one pod's share of pool \"" + st.ffn.pool + "\" cannot hold its FFN chips");
      for (int i = 0; i < per_pod; ++i)
        if (alloc.at(st.pool).take(st.par.chips()) < 0)
          fail(where + ": one pod's share of pool \"" + st.pool + "\" (" +
               std::to_string(s.pool(st.pool).servers / p.count) + " servers) cannot hold its " +
               std::to_string(per_pod) + " instances");
    }
  }
}

} // namespace fs
