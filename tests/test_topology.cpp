// The factory topology (sim/scenario/topology.hpp) and the fabric it describes: graph counts, validation,
// bisection bandwidth, fat trees, and KV-transfer contention behind one oversubscribed leaf.
#include "factory.hpp"
#include "platform.hpp"
#include "scenario.hpp"
#include "support.hpp"
#include "topology.hpp"
#include <doctest/doctest.h>
#include <fstream>
#include <numeric>
#include <sys/wait.h>
#include <unistd.h>

using namespace fs;

namespace {

Json factory(const Json& pools, const Json& fabric, const Json& placement, double qps, long n, long input)
{
  return {{"name", "topo"},
          {"seed", 11},
          {"model", "Llama-3.1-8B"},
          {"pools", pools},
          {"fabric", fabric},
          {"placements", Json::array({placement})},
          {"workload",
           {{"type", "poisson"},
            {"qps", qps},
            {"num_requests", n},
            {"input", {{"type", "fixed"}, {"value", input}}},
            {"output", {{"type", "fixed"}, {"value", 16}}}}},
          {"sim", {{"warmup_s", 0}}}};
}

Json pool(const std::string& name, int servers)
{
  return {{"name", name}, {"server", "HGX-H100-8"}, {"servers", servers}};
}

Json disaggregated(const std::string& prefill_pool, const std::string& decode_pool)
{
  return {{"name", "pd"},
          {"type", "disaggregated"},
          {"prefill", {{"pool", prefill_pool}, {"instances", 2}, {"tp", 8}}},
          {"decode", {{"pool", decode_pool}, {"instances", 2}, {"tp", 8}}}};
}

struct Pulls {
  long finished = 0;
  std::vector<double> seconds; // KV pull time of each request that was pulled
  double mean() const
  {
    return seconds.empty() ? 0 : std::accumulate(seconds.begin(), seconds.end(), 0.0) / double(seconds.size());
  }
};

// Runs placement 0 in a child process (one SimGrid engine per process) and returns its KV pull times.
Pulls run_pulls(const Json& doc)
{
  Json j = test::run_in_child(doc, 0, [](const Scenario&, const RunResult& r) {
    Json pulls = Json::array();
    long finished = 0;
    for (const Request& q : r.requests) {
      if (q.finish >= 0 && q.dropped.empty()) finished++;
      if (q.decode_admitted >= 0) pulls.push_back(q.kv_transfer_s());
    }
    return Json{{"finished", finished}, {"pulls", pulls}};
  });
  Pulls p;
  p.finished = j["finished"];
  for (auto const& x : j["pulls"])
    p.seconds.push_back(x);
  return p;
}

// The message of the InputError that parsing `doc` throws ("" when it parses).
std::string parse_error(const Json& doc)
{
  try {
    parse_scenario(doc, "test");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("topology: the default study's graph is a connected leaf/spine tree")
{
  const Scenario s = load_scenario("");
  const Topology t = build_topology(s);
  // 4 HGX servers of 8 chips, 2 per rack: 32 chips + 4 servers + 2 leaves + 1 spine; a tree, so edges = vertices - 1.
  CHECK(t.type == "leaf_spine");
  CHECK(t.chips == 32);
  CHECK(t.servers == 4);
  CHECK(t.leaves == 2);
  CHECK(t.spines == 1);
  CHECK(num_vertices(t.graph) == 39);
  CHECK(num_edges(t.graph) == 38);
  CHECK(t.links == 38);
  CHECK_FALSE(t.chips_collapsed);
  CHECK(validate_topology(t).empty());
  // Each rack uplink carries 2 servers' NICs / oversubscription 2 = one server's NIC bandwidth; the bisection
  // is half the sum of the two uplinks.
  const double nic = s.pools[0].server.nic_bandwidth();
  CHECK(t.bisection_bandwidth == doctest::Approx(nic).epsilon(1e-12));
  CHECK(t.bisection_formula == doctest::Approx(nic).epsilon(1e-12));
  CHECK(nic == doctest::Approx(400e9)); // 8 x 400 Gb/s NICs (catalog: HGX-H100-8, CX7-400G)

  const std::string dot = topology_dot(t, s.name);
  CHECK(dot.rfind("graph ", 0) == 0);
  CHECK(dot.find(" -- ") != std::string::npos);
  CHECK(dot.find("->") == std::string::npos);
  CHECK(dot.find("GB/s") != std::string::npos);
}

TEST_CASE("topology: validation finds disconnected parts and dangling links")
{
  Topology t = build_topology(load_scenario(""));
  add_vertex(TopoNode{NodeKind::spine, "stray", "", 1}, t.graph);
  auto problems = validate_topology(t);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("2 connected components") != std::string::npos);
  CHECK(problems[1].find("dangling link: switch stray") != std::string::npos);
}

TEST_CASE("topology: leaf/spine bisection is half the uplinks; large factories fold their chips")
{
  // 16 racks of 4 servers, oversubscription 4: each uplink is one server's NIC bandwidth.
  Json doc =
      factory(Json::array({pool("h100", 64)}), {{"servers_per_rack", 4}, {"oversubscription", 4}},
              {{"name", "co"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 64}, {"tp", 8}}, 1, 10, 100);
  Scenario s = parse_scenario(doc, "test");
  Topology t = build_topology(s);
  const double nic = s.pools[0].server.nic_bandwidth();
  CHECK(t.leaves == 16);
  CHECK(t.bisection_bandwidth == doctest::Approx(16 * nic / 2));
  CHECK(t.bisection_formula == doctest::Approx(t.bisection_bandwidth));
  // 512 chips + 64 servers + 17 switches: each server's chips become one vertex, with 8 scale-up links.
  CHECK(t.chips_collapsed);
  CHECK(t.chips == 512);
  CHECK(num_vertices(t.graph) == 64 + 64 + 17);
  CHECK(validate_topology(t).empty());
  CHECK(topology_dot(t, "big").find("8 chips") != std::string::npos);
}

TEST_CASE("topology: k-ary fat tree counts and bisection k^3/8 x link bandwidth / oversubscription")
{
  // k = 4 holds k^3/4 = 16 servers: 4 pods of 2 edge + 2 aggregation switches, 4 core switches.
  Json doc =
      factory(Json::array({pool("h100", 16)}), {{"type", "fat_tree"}, {"k", 4}},
              {{"name", "co"}, {"type", "colocated"}, {"pool", "h100"}, {"instances", 16}, {"tp", 8}}, 1, 10, 100);
  for (double over : {1.0, 2.0}) {
    doc["fabric"]["oversubscription"] = over;
    Scenario s = parse_scenario(doc, "test");
    Topology t = build_topology(s);
    const double B = s.pools[0].server.nic_bandwidth();
    CHECK(t.edges == 8);
    CHECK(t.aggregations == 8);
    CHECK(t.cores == 4);
    CHECK(t.switches() == 20);
    CHECK(t.links == 128 + 16 + 16 + 16);
    CHECK(validate_topology(t).empty());
    CHECK(t.bisection_bandwidth == doctest::Approx(64.0 / 8 * B / over));
    CHECK(t.bisection_formula == doctest::Approx(t.bisection_bandwidth));
  }
  // k derived from the server count (smallest even k >= 4 with k^3/4 >= servers), written back.
  doc["fabric"].erase("k");
  doc["pools"][0]["servers"] = 20;
  Scenario s = parse_scenario(doc, "test");
  CHECK(s.fabric.k == 6);
  CHECK(s.resolved["fabric"]["k"] == 6);
  CHECK(fat_tree_default_k(16) == 4);
  CHECK(fat_tree_default_k(17) == 6);
  CHECK(fat_tree_default_k(1) == 4);
  // A partly filled tree is still valid: 20 servers, 3 per edge switch = 7 edge switches in 3 pods.
  Topology t = build_topology(s);
  CHECK(t.edges == 7);
  CHECK(t.aggregations == 9);
  CHECK(t.cores == 9);
  CHECK(validate_topology(t).empty());
  CHECK(t.bisection_bandwidth > 0);

  // Bad radix values are input errors naming fabric.k.
  doc["fabric"]["k"] = 5;
  CHECK(parse_error(doc).find("fabric.k") != std::string::npos);
  doc["fabric"]["k"] = 4; // holds 16 servers, not 20
  CHECK(parse_error(doc).find("holds 16 servers") != std::string::npos);
  doc["fabric"]["type"] = "leaf_spine";
  CHECK(parse_error(doc).find("only a fat_tree") != std::string::npos);
  doc["fabric"]["type"] = "torus";
  CHECK_THROWS_AS(parse_scenario(doc, "test"), InputError);
}

TEST_CASE("topology: a disaggregated placement runs on a fat tree, KV crossing pods")
{
  // 2 servers per edge switch (k=4): prefill on p-0/p-1 (pod 0, edge 0), decode on d-0/d-1 (pod 0, edge 1)
  // and, with 4 prefill servers, decode lands in pod 1: both paths must carry the pulls.
  for (int pservers : {2, 4}) {
    Json doc = factory({pool("p", pservers), pool("d", 2)}, {{"type", "fat_tree"}, {"k", 4}, {"oversubscription", 2}},
                       disaggregated("p", "d"), 20, 200, 2000);
    const Pulls p = run_pulls(doc);
    CHECK(p.finished == 200);
    REQUIRE(p.seconds.size() == 200);
    CHECK(p.mean() > 0);
  }
}

TEST_CASE("topology: KV pulls contend on one oversubscribed leaf, less when decode spreads over two")
{
  // Same fabric (2 racks of 3 servers, rack uplink = 3 x NIC / 48 = 25 GB/s), same placement (2 prefill and
  // 2 decode instances of TP8, one per server), 6 servers; only the pool sizes move one idle server:
  //   one leaf:  racks {p0 p1 p2} {d0 d1 d2}: both decode instances behind rack 1's leaf, every pull crosses
  //              both uplinks;
  //   two leaves: racks {p0 p1 d0} {d1 d2 d3}: one decode instance beside the prefill instances (its pulls stay
  //              under the leaf), the other behind the second leaf.
  const Json fabric = {{"servers_per_rack", 3}, {"oversubscription", 48}};
  // 4000-token prompts of Llama-3.1-8B: 4000 x 128 KiB = 524 MB of KV each, ~21 ms alone on a 25 GB/s uplink.
  const Json one_leaf = factory({pool("p", 3), pool("d", 3)}, fabric, disaggregated("p", "d"), 40, 400, 4000);
  const Json two_leaves = factory({pool("p", 2), pool("d", 4)}, fabric, disaggregated("p", "d"), 40, 400, 4000);
  const Pulls a = run_pulls(one_leaf), b = run_pulls(two_leaves);
  CHECK(a.finished == 400);
  CHECK(b.finished == 400);
  REQUIRE(a.seconds.size() == 400);
  REQUIRE(b.seconds.size() == 400);
  MESSAGE("mean KV pull: one leaf " << a.mean() * 1e3 << " ms, two leaves " << b.mean() * 1e3 << " ms");
  const double alone = 4000.0 * 131072 / (3 * 400e9 / 48); // one pull alone on an uplink
  CHECK(a.mean() > alone);                                 // the uplink is shared: pulls overlap
  CHECK(a.mean() > 1.5 * b.mean());                        // spreading decode removes half the pulls from the uplinks
}

TEST_CASE("fabric: transfers sharing a link share it equally, whatever their route's length (CM02)")
{
  // Servers 0 and 1 in rack 0, server 2 in rack 1 (oversubscription 1: a rack uplink carries both its NICs). Two
  // 5 GB transfers into server 0 at once, from server 1 (under the same leaf) and from server 2 (across the spine):
  // server 0's NIC is the bottleneck, each gets half of it, both end together after 2 x 5 GB / NIC, each plus its
  // own route's latency. (SimGrid's CM02 latency phase would weigh them by route latency: the longer route less.)
  Scenario s = parse_scenario(
      factory(Json::array({pool("h", 3)}), {{"servers_per_rack", 2}, {"oversubscription", 1}},
              {{"name", "co"}, {"type", "colocated"}, {"pool", "h"}, {"instances", 3}, {"tp", 8}}, 1, 1, 100),
      "t.json");
  const double bytes = 5e9, nic = s.pools[0].server.nic_bandwidth();
  const Json ends = test::with_platform(s, [&](simgrid::s4u::Engine& e, const Platform& pf) {
    const auto& h = pf.servers.at("h");
    Json out = Json::object();
    for (int from : {1, 2})
      simgrid::s4u::Actor::create(from == 1 ? "near" : "far", h[size_t(from)], [&, from] {
        simgrid::s4u::Comm::sendto(h[size_t(from)], h[0], uint64_t(bytes));
        out[std::to_string(from)] = {simgrid::s4u::Engine::get_clock(), route_latency(h[size_t(from)], h[0])};
      });
    e.run();
    return out;
  });
  const double near = ends["1"][0], far = ends["2"][0];
  MESSAGE("same leaf: " << near << " s, across the spine: " << far << " s (route latencies " << ends["1"][1] << ", "
                        << ends["2"][1] << " s)");
  CHECK(ends["2"][1].get<double>() > ends["1"][1].get<double>()); // the routes differ in length
  CHECK(near == doctest::Approx(2 * bytes / nic).epsilon(1e-9));  // SimGrid's end: the latency is the engine's
  CHECK(far == doctest::Approx(near).epsilon(1e-9));
}
