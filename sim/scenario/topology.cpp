// The factory topology as a Boost.Graph (topology.hpp, docs/design.md "Topology").
#include "topology.hpp"
#include <algorithm>
#include <boost/graph/connected_components.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace fs {

const char* node_kind_name(NodeKind k)
{
  switch (k) {
  case NodeKind::chip:
    return "chip";
  case NodeKind::server:
    return "server";
  case NodeKind::leaf:
    return "leaf";
  case NodeKind::spine:
    return "spine";
  case NodeKind::edge:
    return "edge";
  case NodeKind::aggregation:
    return "aggregation";
  case NodeKind::core:
    return "core";
  }
  return "?";
}

const char* link_kind_name(LinkKind k)
{
  switch (k) {
  case LinkKind::scale_up:
    return "scale-up";
  case LinkKind::nic:
    return "NIC";
  case LinkKind::leaf_uplink:
    return "leaf uplink";
  case LinkKind::edge_uplink:
    return "edge uplink";
  case LinkKind::core_link:
    return "core link";
  }
  return "?";
}

int FatTreeShape::edges_in_pod(int pod) const
{
  const int half = k / 2;
  return std::clamp(edges - pod * half, 0, half);
}

int fat_tree_default_k(long servers)
{
  int k = 4;
  while (long(k) * k * k / 4 < servers)
    k += 2;
  return k;
}

namespace {

long total_servers(const Scenario& s)
{
  long n = 0;
  for (auto const& p : s.pools)
    n += p.servers;
  return n;
}

bool is_switch(NodeKind k) { return k != NodeKind::chip && k != NodeKind::server; }

// Maximum flow from the first half of the servers (vertex order = pool order) to the rest, over the fabric
// (chips excluded: they hang off their server). Capacities in whole bytes/s, so the result is exact.
double bisection_max_flow(const TopologyGraph& g, const std::vector<TopologyGraph::vertex_descriptor>& servers)
{
  if (servers.size() < 2) return 0;
  using namespace boost;
  using Traits = adjacency_list_traits<vecS, vecS, directedS>;
  using Flow = adjacency_list<
      vecS, vecS, directedS, no_property,
      property<edge_capacity_t, int64_t,
               property<edge_residual_capacity_t, int64_t, property<edge_reverse_t, Traits::edge_descriptor>>>>;
  const size_t n = num_vertices(g);
  Flow f(n + 2);
  const auto src = vertex(n, f), dst = vertex(n + 1, f);
  auto cap = get(edge_capacity, f);
  auto rev = get(edge_reverse, f);
  auto arc = [&](size_t a, size_t b, int64_t c) {
    auto e1 = add_edge(vertex(a, f), vertex(b, f), f).first;
    auto e2 = add_edge(vertex(b, f), vertex(a, f), f).first;
    cap[e1] = c;
    cap[e2] = 0;
    rev[e1] = e2;
    rev[e2] = e1;
  };
  int64_t total = 0;
  for (auto [e, end] = edges(g); e != end; ++e) {
    const auto u = source(*e, g), v = target(*e, g);
    if (g[u].kind == NodeKind::chip || g[v].kind == NodeKind::chip) continue;
    const int64_t c = int64_t(std::llround(g[*e].bandwidth));
    arc(u, v, c);
    arc(v, u, c);
    total += c;
  }
  const int64_t inf = total + 1;
  const size_t half = servers.size() / 2;
  for (size_t i = 0; i < servers.size(); ++i)
    i < half ? arc(n, servers[i], inf) : arc(servers[i], n + 1, inf);
  return double(push_relabel_max_flow(f, src, dst));
}

} // namespace

FatTreeShape fat_tree_shape(const Scenario& s)
{
  FatTreeShape t;
  const long n = total_servers(s);
  t.k = s.fabric.k > 0 ? s.fabric.k : fat_tree_default_k(n);
  const int half = t.k / 2;
  t.servers_per_edge = half;
  t.edges = int((n + half - 1) / half);
  t.pods = (t.edges + half - 1) / half;
  t.aggs_per_pod = t.edges > 1 ? half : 0;
  t.cores = t.pods > 1 ? half * half : 0;
  for (auto const& p : s.pools)
    t.link_bandwidth = std::max(t.link_bandwidth, p.server.nic_bandwidth());
  t.edge_uplink_bandwidth = t.link_bandwidth / s.fabric.oversubscription;
  return t;
}

Topology build_topology(const Scenario& s, const TopologyOptions& opt)
{
  using V = TopologyGraph::vertex_descriptor;
  Topology t;
  t.type = s.fabric.type;
  TopologyGraph& g = t.graph;
  const double hop = s.fabric.link_latency_s();
  const bool fat = s.fabric.type == "fat_tree";
  const long n_servers = total_servers(s);
  const FatTreeShape ft = fat ? fat_tree_shape(s) : FatTreeShape{};
  const int per_switch = fat ? ft.servers_per_edge : s.fabric.servers_per_rack;
  const long n_low = (n_servers + per_switch - 1) / per_switch; // leaves or edge switches
  long full_vertices = n_servers + n_low;
  for (auto const& p : s.pools)
    full_vertices += p.chips();
  if (fat)
    full_vertices += long(ft.pods) * ft.aggs_per_pod + ft.cores;
  else if (n_low > 1)
    full_vertices += 1;
  t.chips_collapsed = full_vertices > opt.collapse_above;

  // Servers and their chips; the switch below each server is added when its first server comes.
  std::vector<V> servers, low;
  std::vector<double> low_nic_bw; // NIC bandwidth under each leaf (its uplink is a fraction of it)
  for (auto const& pool : s.pools) {
    const ServerSpec& sv = pool.server;
    for (int i = 0; i < pool.servers; ++i) {
      const long idx = long(servers.size());
      if (idx % per_switch == 0) {
        const long sw = idx / per_switch;
        const std::string name =
            fat ? "pod" + std::to_string(sw / (ft.k / 2)) + "-edge" + std::to_string(sw % (ft.k / 2))
                : "rack" + std::to_string(sw) + "-leaf";
        low.push_back(add_vertex(TopoNode{fat ? NodeKind::edge : NodeKind::leaf, name, "", 1}, g));
        low_nic_bw.push_back(0);
      }
      const std::string name = pool.name + "-" + std::to_string(i);
      const V sv_v = add_vertex(TopoNode{NodeKind::server, name, pool.name, 1}, g);
      servers.push_back(sv_v);
      add_edge(sv_v, low.back(), TopoLink{LinkKind::nic, sv.nic_bandwidth(), sv.nic.latency_s + hop, 1}, g);
      low_nic_bw.back() += sv.nic_bandwidth();
      const double chip_bw = sv.chip.scaleup.bandwidth, chip_lat = sv.chip.scaleup.ring_step_latency_s;
      if (t.chips_collapsed) {
        const int c = sv.chips_per_server;
        const V ch = add_vertex(TopoNode{NodeKind::chip, name + "-chips", pool.name, c}, g);
        add_edge(ch, sv_v, TopoLink{LinkKind::scale_up, chip_bw * c, chip_lat, c}, g);
      } else {
        for (int c = 0; c < sv.chips_per_server; ++c) {
          const V ch = add_vertex(TopoNode{NodeKind::chip, name + "-chip" + std::to_string(c), pool.name, 1}, g);
          add_edge(ch, sv_v, TopoLink{LinkKind::scale_up, chip_bw, chip_lat, 1}, g);
        }
      }
      t.chips += sv.chips_per_server;
      t.links += sv.chips_per_server + 1;
    }
  }
  t.servers = n_servers;

  if (!fat) {
    t.leaves = long(low.size());
    double uplinks = 0, nics = 0;
    for (double bw : low_nic_bw)
      nics += bw;
    if (low.size() > 1) { // one rack needs no spine: its servers meet at the leaf
      const V spine = add_vertex(TopoNode{NodeKind::spine, "spine", "", 1}, g);
      t.spines = 1;
      for (size_t r = 0; r < low.size(); ++r) {
        const double bw = low_nic_bw[r] / s.fabric.oversubscription;
        add_edge(low[r], spine, TopoLink{LinkKind::leaf_uplink, bw, hop, 1}, g);
        uplinks += bw;
        t.links++;
      }
      t.bisection_formula = std::min(uplinks, nics) / 2;
    } else {
      t.bisection_formula = n_servers > 1 ? nics / 2 : 0;
    }
  } else {
    t.edges = long(low.size());
    const int half = ft.k / 2;
    std::vector<V> cores;
    for (int c = 0; c < ft.cores; ++c)
      cores.push_back(add_vertex(TopoNode{NodeKind::core, "core" + std::to_string(c), "", 1}, g));
    t.cores = ft.cores;
    for (int p = 0; p < ft.pods; ++p) {
      std::vector<V> aggs;
      for (int a = 0; a < ft.aggs_per_pod; ++a)
        aggs.push_back(add_vertex(
            TopoNode{NodeKind::aggregation, "pod" + std::to_string(p) + "-agg" + std::to_string(a), "", 1}, g));
      t.aggregations += ft.aggs_per_pod;
      for (int e = 0; e < ft.edges_in_pod(p); ++e)
        for (const V a : aggs) {
          add_edge(low[size_t(p * half + e)], a, TopoLink{LinkKind::edge_uplink, ft.edge_uplink_bandwidth, hop, 1}, g);
          t.links++;
        }
      for (size_t a = 0; a < aggs.size() && !cores.empty(); ++a)
        for (int c = 0; c < half; ++c) {
          add_edge(aggs[a], cores[a * size_t(half) + size_t(c)],
                   TopoLink{LinkKind::core_link, ft.link_bandwidth, hop, 1}, g);
          t.links++;
        }
    }
    // Half the servers' NICs, the edge uplinks of half the edge switches, the core links of half the pods.
    double nics = 0;
    for (auto const& p : s.pools)
      nics += p.server.nic_bandwidth() * p.servers;
    double f = n_servers > 1 ? nics / 2 : 0;
    if (ft.aggs_per_pod > 0) f = std::min(f, double(t.edges) / 2 * half * ft.edge_uplink_bandwidth);
    if (ft.cores > 0) f = std::min(f, double(ft.pods) / 2 * half * half * ft.link_bandwidth);
    t.bisection_formula = f;
  }
  t.bisection_bandwidth = bisection_max_flow(g, servers);
  const auto problems = validate_topology(t);
  if (!problems.empty()) throw std::logic_error("invalid topology: " + problems.front());
  return t;
}

std::vector<std::string> validate_topology(const Topology& t)
{
  const TopologyGraph& g = t.graph;
  std::vector<std::string> out;
  if (num_vertices(g) == 0) return {"no vertices"};
  std::vector<int> comp(num_vertices(g));
  const int n = boost::connected_components(g, comp.data());
  if (n != 1) out.push_back(std::to_string(n) + " connected components (expected 1)");
  for (auto [e, end] = edges(g); e != end; ++e)
    if (!(g[*e].bandwidth > 0) || !std::isfinite(g[*e].bandwidth))
      out.push_back("link " + g[source(*e, g)].name + " -- " + g[target(*e, g)].name + " has no bandwidth");
  const bool any_switch = t.switches() > 0;
  for (auto [v, end] = vertices(g); v != end; ++v) {
    const TopoNode& node = g[*v];
    const auto deg = out_degree(*v, g);
    long up = 0; // links towards the level above
    for (auto [a, aend] = adjacent_vertices(*v, g); a != aend; ++a) {
      const NodeKind k = g[*a].kind;
      if (node.kind == NodeKind::chip && k == NodeKind::server) up++;
      if (node.kind == NodeKind::server && is_switch(k)) up++;
    }
    if (node.kind == NodeKind::chip && (deg != 1 || up != 1))
      out.push_back("chip " + node.name + " is not linked to exactly one server");
    if (node.kind == NodeKind::server && any_switch && up != 1)
      out.push_back("server " + node.name + " is not linked to exactly one switch");
    if (is_switch(node.kind) && deg < 2 && t.servers > 1)
      out.push_back("dangling link: switch " + node.name + " has " + std::to_string(deg) + " link(s)");
  }
  return out;
}

namespace {

std::string gbps(double bytes_per_s)
{
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g GB/s", bytes_per_s / 1e9);
  return buf;
}

std::string escaped(const std::string& s)
{
  std::string q;
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q;
}

std::string quoted(const std::string& s)
{
  std::string q = "\"";
  q += escaped(s);
  q += '"';
  return q;
}

} // namespace

std::string topology_dot(const Topology& t, const std::string& title)
{
  const TopologyGraph& g = t.graph;
  std::ostringstream o;
  o << "graph " << quoted(title) << " {\n";
  o << "  graph [label=" << quoted(title + ": " + t.type + ", bisection " + gbps(t.bisection_bandwidth))
    << ", labelloc=t];\n";
  o << "  node [fontsize=10];\n  edge [fontsize=8];\n";
  for (auto [v, end] = vertices(g); v != end; ++v) {
    const TopoNode& n = g[*v];
    std::string label = escaped(n.name) + "\\n" + node_kind_name(n.kind);
    const char* shape = "box";
    switch (n.kind) {
    case NodeKind::chip:
      shape = "ellipse";
      if (n.count > 1) label = escaped(n.name) + "\\n" + std::to_string(n.count) + " chips";
      break;
    case NodeKind::server:
      shape = "box";
      break;
    case NodeKind::leaf:
    case NodeKind::edge:
      shape = "trapezium";
      break;
    default:
      shape = "hexagon";
    }
    o << "  n" << *v << " [label=\"" << label << "\", shape=" << shape << "];\n";
  }
  for (auto [e, end] = edges(g); e != end; ++e) {
    const TopoLink& l = g[*e];
    std::string label = gbps(l.bandwidth);
    if (l.count > 1) label = std::to_string(l.count) + " x " + gbps(l.bandwidth / l.count);
    o << "  n" << source(*e, g) << " -- n" << target(*e, g) << " [label=" << quoted(label) << "];\n";
  }
  o << "}\n";
  return o.str();
}

} // namespace fs
