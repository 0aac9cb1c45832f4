// The SimGrid platform of a scenario: one host per server, a two-tier leaf/spine fabric or a three-level fat tree.
#pragma once
#include "scenario.hpp"
#include <map>
#include <simgrid/s4u.hpp>
#include <string>
#include <vector>

namespace fs {

struct Platform {
  std::map<std::string, std::vector<simgrid::s4u::Host*>> servers; // pool name -> its servers
  int racks = 0;
  int link_directions = 0; // of the fabric's links: FabricHop::link is below this
};

// One direction of a fabric link on a route: its index (0 .. Platform::link_directions - 1) and bandwidth (bytes/s).
struct FabricHop {
  int link;
  double bandwidth;
};

// Servers of all pools fill racks in pool order. Each server has one NIC link (all its NICs bonded, as
// one flow may stripe over them); each rack one uplink of (rack NIC bandwidth / oversubscription); the
// spine is non-blocking. Intra-rack transfers cross only the two NIC links. One SimGrid zone holds every server
// and computes routes from the switch tree (platform.cpp, FabricZone): set-up linear in servers.
// fabric.type fat_tree: build_fat_tree in platform.cpp (edge switches count as racks).
Platform build_platform(const Scenario& s);

// SimGrid's network model for the scenario's fabric.network_model, set before the platform is built. CM02 stands for
// RDMA: no reverse-path load (SimGrid's crosstraffic puts 5% of each flow's rate on its reverse route, as TCP
// acknowledgements do), and a transfer's route latency is added by the engine to the end SimGrid reports
// (latency_after_transfer) instead of being a phase of SimGrid's own, which costs a network model update per transfer
// and, once paid, weighs the flow by its route latency in sharing a link (TCP's RTT unfairness): flows sharing a link
// now get equal shares. LV08 (TCP-calibrated) is left as SimGrid calibrated it.
void configure_network(const Scenario& s);
// Whether the end SimGrid reports for a transfer leaves its route's latency out (configure_network).
bool latency_after_transfer(const Scenario& s);

// The latency of the route between two servers of build_platform's fabric, computed from their places in it (no
// route is built).
double route_latency(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to);
// The links of that route, in the order SimGrid's network model gets them (`out` is cleared first).
void route_hops(const simgrid::s4u::Host* from, const simgrid::s4u::Host* to, std::vector<FabricHop>& out);

} // namespace fs
