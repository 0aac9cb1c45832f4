#include "platform.hpp"
#include "topology.hpp"
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <stdexcept>

namespace s4u = simgrid::s4u;

namespace fs {

namespace {

namespace kr = simgrid::kernel::routing;
using Link = simgrid::kernel::resource::StandardLinkImpl;

// The whole fabric as one SimGrid zone that computes a route from each end's place in the switch tree, instead of
// looking it up. SimGrid's own zones (star zones nested per switch, with bypass routes between the servers of one
// switch) gave the same routes, but a lookup walked the zones, a map of bypass routes and two hash sets: 3,000
// instructions per KV transfer, the largest part of starting one. A route: the source server's NIC up, the uplinks of
// the switches above it up to the lowest switch both ends sit under, those of the destination's side down, its NIC
// down, in that order (the order SimGrid's zones gave).
class FabricZone : public kr::NetZoneImpl {
public:
  explicit FabricZone(const std::string& name) : NetZoneImpl(name) {}

  // A server: its NIC link and the switches above it, lowest first (`switches[l]`: its switch at level l, an index
  // into that level's uplinks).
  void add_server(const s4u::Host* h, s4u::SplitDuplexLink* nic, std::vector<int> switches)
  {
    const size_t id = h->get_netpoint()->id();
    if (places_.size() <= id) places_.resize(id + 1);
    places_[id] = {hop(nic->get_link_up()), hop(nic->get_link_down()), std::move(switches)};
  }
  // Switch `index` of `level`: its uplink to the level above.
  void add_uplink(size_t level, size_t index, s4u::SplitDuplexLink* up)
  {
    if (uplinks_.size() <= level) uplinks_.resize(level + 1);
    if (uplinks_[level].size() <= index) uplinks_[level].resize(index + 1);
    uplinks_[level][index] = {hop(up->get_link_up()), hop(up->get_link_down())};
  }

  // The latency of the route from `src` to `dst`, summed in the order get_local_route gives its hops (the same
  // double), without building the route.
  double latency(const kr::NetPoint* src, const kr::NetPoint* dst) const
  {
    double sum = 0;
    walk(src, dst, [&](const Hop& h) { sum += h.latency; });
    return sum;
  }
  void hops(const kr::NetPoint* src, const kr::NetPoint* dst, std::vector<FabricHop>& out) const
  {
    out.clear();
    walk(src, dst, [&](const Hop& h) { out.push_back({h.index, h.bandwidth}); });
  }
  int link_directions() const { return links_; }

protected:
  void get_local_route(const kr::NetPoint* src, const kr::NetPoint* dst, kr::Route* route, double* latency) override
  {
    walk(src, dst, [&](const Hop& h) {
      route->link_list_.push_back(h.link);
      if (latency) *latency += h.latency;
    });
  }

private:
  struct Hop { // one direction of a link, its latency and bandwidth (sealed: they do not change), its index
    Link* link = nullptr;
    double latency = 0;
    double bandwidth = 0;
    int index = -1;
  };
  Hop hop(s4u::Link* l) { return {l->get_impl(), l->get_latency(), l->get_bandwidth(), links_++}; }
  struct Place {
    Hop nic_up, nic_down;
    std::vector<int> switches;
  };
  // Calls `add` on each hop from `src` to `dst`: its NIC up, the uplinks of the switches above it up to the lowest
  // switch both sit under, those of the destination's side down, its NIC down. A server to itself (a KV tier store in
  // its own pool): its NIC up and down.
  template <class Add> void walk(const kr::NetPoint* src, const kr::NetPoint* dst, Add&& add) const
  {
    const Place& a = place(src);
    const Place& b = place(dst);
    size_t common = 0; // the lowest level at which both sit under one switch (the spine or core above them all)
    while (common < a.switches.size() && a.switches[common] != b.switches[common])
      common++;
    add(a.nic_up);
    for (size_t l = 0; l < common; ++l)
      add(uplinks_[l][size_t(a.switches[l])].first);
    for (size_t l = common; l-- > 0;)
      add(uplinks_[l][size_t(b.switches[l])].second);
    add(b.nic_down);
  }
  const Place& place(const kr::NetPoint* np) const
  {
    if (np->id() >= places_.size() || !places_[np->id()].nic_up.link)
      throw std::logic_error("fabric: " + np->get_name() + " is not a server of the fabric");
    return places_[np->id()];
  }
  std::vector<Place> places_;                             // per netpoint id
  std::vector<std::vector<std::pair<Hop, Hop>>> uplinks_; // per level, per switch: up, down
  int links_ = 0;                                         // link directions so far
};

// Server `i` of `pool`: its host and its NIC link (all its NICs bonded, plus one hop to its switch), under
// `switches` (lowest first).
void add_server(FabricZone* zone, const ServerPool& pool, int i, double hop, std::vector<int> switches, Platform& pf)
{
  const std::string name = pool.name + "-" + std::to_string(i);
  s4u::NetZone* z = zone->get_iface();
  s4u::Host* host = z->create_host(name, 1e9);
  host->seal();
  s4u::SplitDuplexLink* nic = z->create_split_duplex_link(name + "-nic", pool.server.nic_bandwidth());
  nic->set_latency(pool.server.nic.latency_s + hop)->seal();
  zone->add_server(host, nic, std::move(switches));
  pf.servers[pool.name].push_back(host);
}

s4u::SplitDuplexLink* uplink(FabricZone* zone, const std::string& name, double bandwidth, double hop)
{
  s4u::SplitDuplexLink* up = zone->get_iface()->create_split_duplex_link(name, bandwidth);
  up->set_latency(hop)->seal();
  return up;
}

// Every server of every pool in order, cut into groups of `per_switch`.
std::vector<std::vector<std::pair<const ServerPool*, int>>> switch_groups(const Scenario& s, long per_switch)
{
  std::vector<std::vector<std::pair<const ServerPool*, int>>> groups;
  long idx = 0;
  for (const ServerPool& pool : s.pools)
    for (int i = 0; i < pool.servers; ++i, ++idx) {
      if (idx % per_switch == 0) groups.emplace_back();
      groups.back().emplace_back(&pool, i);
    }
  return groups;
}

// A k-ary fat tree (topology.hpp, FatTreeShape): servers under edge switches under pods under the core. Each server
// has its NIC link; each edge switch one uplink standing for its k/2 links to the pod's aggregation switches; each
// pod one uplink standing for its (k/2)^2 links to the core. Flows are spread evenly over the parallel links (ideal
// ECMP), so a bundle shares its total bandwidth; a single flow is held to its NIC's rate by the NIC link. The network
// solver sees one constraint per bundle, as for leaf_spine.
Platform build_fat_tree(const Scenario& s, FabricZone* zone)
{
  Platform pf;
  const FatTreeShape ft = fat_tree_shape(s);
  const size_t half = size_t(ft.k / 2);
  const double hop = s.fabric.link_latency_s();
  for (int p = 0; p < ft.pods; ++p)
    zone->add_uplink(1, size_t(p),
                     uplink(zone, "pod" + std::to_string(p) + "-uplink", ft.link_bandwidth * double(half * half), hop));
  const auto groups = switch_groups(s, long(half));
  for (size_t e = 0; e < groups.size(); ++e) {
    const int pod = int(e / half);
    const std::string name = "pod" + std::to_string(pod) + "-edge" + std::to_string(e % half);
    zone->add_uplink(0, e, uplink(zone, name + "-uplink", ft.edge_uplink_bandwidth * double(half), hop));
    for (auto [pool, i] : groups[e])
      add_server(zone, *pool, i, hop, {int(e), pod}, pf);
    pf.racks++;
  }
  return pf;
}

} // namespace

Platform build_platform(const Scenario& s)
{
  auto* zone = new FabricZone("fabric"); // the root zone: SimGrid's engine owns it
  Platform pf;
  if (s.fabric.type == "fat_tree") {
    pf = build_fat_tree(s, zone);
  } else {
    // Racks under a non-blocking spine (one logical switch).
    const double hop = s.fabric.link_latency_s();
    for (const auto& members : switch_groups(s, s.fabric.servers_per_rack)) {
      const int rack = pf.racks++;
      double nic_bw = 0;
      for (auto [pool, i] : members) {
        add_server(zone, *pool, i, hop, {rack}, pf);
        nic_bw += pool->server.nic_bandwidth();
      }
      zone->add_uplink(
          0, size_t(rack),
          uplink(zone, "rack" + std::to_string(rack) + "-uplink", nic_bw / s.fabric.oversubscription, hop));
    }
  }
  zone->seal();
  pf.link_directions = zone->link_directions();
  return pf;
}

bool latency_after_transfer(const Scenario& s) { return s.fabric.network_model == "CM02"; }

void configure_network(const Scenario& s)
{
  s4u::Engine::set_config("network/model:" + s.fabric.network_model);
  // RDMA has no TCP window: without this, CM02 caps a flow at gamma / (2 x route latency).
  s4u::Engine::set_config("network/TCP-gamma:0");
  if (latency_after_transfer(s)) {
    s4u::Engine::set_config("network/crosstraffic:0");
    s4u::Engine::set_config("network/latency-factor:0");
  }
}

double route_latency(const s4u::Host* from, const s4u::Host* to)
{
  // Every host is a server of the one fabric zone (build_platform).
  const auto* zone = static_cast<const FabricZone*>(from->get_netpoint()->get_englobing_zone());
  return zone->latency(from->get_netpoint(), to->get_netpoint());
}

void route_hops(const s4u::Host* from, const s4u::Host* to, std::vector<FabricHop>& out)
{
  static_cast<const FabricZone*>(from->get_netpoint()->get_englobing_zone())
      ->hops(from->get_netpoint(), to->get_netpoint(), out);
}

} // namespace fs
