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
};

// Servers of all pools fill racks in pool order. Each server has one NIC link (all its NICs bonded, as
// one flow may stripe over them); each rack one uplink of (rack NIC bandwidth / oversubscription); the
// spine is non-blocking. Intra-rack transfers cross only the two NIC links. Racks of up to 16 servers are routes
// in the spine's zone, not zones of their own (set-up linear in servers: platform.cpp, flatten_switch).
// fabric.type fat_tree: build_fat_tree in platform.cpp (edge switches count as racks).
Platform build_platform(const Scenario& s);

// The latency of the route between two hosts, looked up once per pair (a lookup walks the platform's zones).
class RouteLatencies {
public:
  double operator()(simgrid::s4u::Host* from, simgrid::s4u::Host* to);

private:
  std::map<std::pair<simgrid::s4u::Host*, simgrid::s4u::Host*>, double> known_;
};

} // namespace fs
