// The factory's topology as a graph (Boost.Graph): chips, servers, switches and the links between them, built
// from a parsed Scenario, checked (connected, no dangling link) and measured (bisection bandwidth). Pure C++:
// the SimGrid platform (sim/engine/platform.cpp) is built from the same numbers (docs/design.md, "Topology").
#pragma once
#include "scenario.hpp"
#include <boost/graph/adjacency_list.hpp>
#include <string>
#include <vector>

namespace fs {

enum class NodeKind {
  chip,        // an accelerator (or, when collapsed, all the chips of one server)
  server,      // a server: its scale-up (NVLink) domain and its NICs
  leaf,        // leaf_spine: the leaf (top-of-rack) switch of a rack
  spine,       // leaf_spine: the non-blocking spine, one logical switch
  edge,        // fat_tree: edge switch (k/2 servers below, k/2 aggregation switches above)
  aggregation, // fat_tree: aggregation switch of a pod
  core,        // fat_tree: core switch
};
const char* node_kind_name(NodeKind k);

enum class LinkKind {
  scale_up,    // chip to its server's scale-up domain (per chip, per direction)
  nic,         // server to its leaf/edge switch (all the server's NICs bonded)
  leaf_uplink, // leaf to spine: the rack's NIC bandwidth / oversubscription
  edge_uplink, // fat_tree: edge to aggregation switch
  core_link,   // fat_tree: aggregation to core switch
};
const char* link_kind_name(LinkKind k);

struct TopoNode {
  NodeKind kind = NodeKind::chip;
  std::string name;
  std::string pool; // chips and servers: their pool
  int count = 1;    // chips folded into this vertex (collapsed chips); 1 otherwise
};

struct TopoLink {
  LinkKind kind = LinkKind::nic;
  double bandwidth = 0; // bytes/s per direction, of the whole vertex-to-vertex connection
  double latency_s = 0;
  int count = 1; // parallel links it stands for (collapsed chips' scale-up links)
};

using TopologyGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, TopoNode, TopoLink>;

// The used part of a k-ary three-level fat tree (Al-Fares et al., SIGCOMM 2008): k pods of k/2 edge and k/2
// aggregation switches, (k/2)^2 core switches, k/2 servers per edge switch, k^3/4 servers at most. Servers
// fill edge switches in pool order, edge switches fill pods; only pods that hold servers are built.
struct FatTreeShape {
  int k = 0;
  int servers_per_edge = 0;         // k/2
  int edges = 0;                    // edge switches in use
  int pods = 0;                     // pods in use
  int aggs_per_pod = 0;             // k/2 (0 when a single edge switch needs none)
  int cores = 0;                    // (k/2)^2 (0 when a single pod needs none)
  double link_bandwidth = 0;        // aggregation-to-core link: the fastest server's NIC bandwidth
  double edge_uplink_bandwidth = 0; // edge-to-aggregation link: link_bandwidth / oversubscription
  int edges_in_pod(int pod) const;  // edge switches used in one pod
};
// Smallest even k >= 4 with k^3/4 >= servers.
int fat_tree_default_k(long servers);
FatTreeShape fat_tree_shape(const Scenario& s);

struct TopologyOptions {
  // Fold the chips of each server into one vertex when the full graph would have more vertices than this.
  long collapse_above = 400;
};

struct Topology {
  std::string type; // fabric.type
  TopologyGraph graph;
  bool chips_collapsed = false;
  // What the factory has (physical counts, whatever the graph folds).
  long chips = 0, servers = 0, leaves = 0, spines = 0, edges = 0, aggregations = 0, cores = 0;
  long links = 0; // physical links: one per chip's scale-up port, per server NIC bundle, per switch-to-switch link
  long switches() const { return leaves + spines + edges + aggregations + cores; }
  // Bisection bandwidth of the fabric, bytes/s per direction: the maximum flow between the first half of the
  // servers (in pool order, so whole racks or pods where they divide evenly) and the rest, i.e. the capacity
  // of the smallest cut that splits them; 0 with fewer than two servers.
  double bisection_bandwidth = 0;
  // The closed form of that number for the regular cases (docs/design.md, "Topology"): leaf_spine, half the
  // sum of the leaf uplinks; fat_tree, min(servers/2 x NIC, edge uplinks of half the tree, core links of half
  // the tree). Equal to bisection_bandwidth for identical racks (pods) split evenly.
  double bisection_formula = 0;
};

// Builds the graph of a scenario's factory. Throws std::logic_error when the result is not a valid fabric
// (validate_topology), which a parsed scenario never produces.
Topology build_topology(const Scenario& s, const TopologyOptions& opt = {});

// Problems of a topology (empty when valid): more than one connected component, a link with no bandwidth,
// a dangling link (a switch with a single link, a chip or server without its uplink).
std::vector<std::string> validate_topology(const Topology& t);

// Graphviz text of the graph: undirected (`--` edges), vertices and edges labelled with bandwidths.
std::string topology_dot(const Topology& t, const std::string& title);

} // namespace fs
