#include "platform.hpp"
#include "topology.hpp"

namespace s4u = simgrid::s4u;

namespace fs {

namespace {

using Dir = s4u::LinkInRoute::Direction;

struct Server {
  s4u::Host* host = nullptr;
  s4u::Link* nic = nullptr;
};

// Server `i` of `pool` in `zone`: its host and its NIC link (all its NICs bonded, plus one hop to its switch). Its
// route is left to the caller.
Server add_server(s4u::NetZone* zone, const ServerPool& pool, int i, double hop, Platform& pf)
{
  const std::string name = pool.name + "-" + std::to_string(i);
  Server sv;
  sv.host = zone->create_host(name, 1e9);
  sv.host->seal();
  sv.nic = zone->create_split_duplex_link(name + "-nic", pool.server.nic_bandwidth());
  sv.nic->set_latency(pool.server.nic.latency_s + hop)->seal();
  pf.servers[pool.name].push_back(sv.host);
  return sv;
}

// Switches with at most this many servers are flattened into the zone above them (flatten_switch); a larger one gets a
// zone of its own, as the bypass routes would grow with the square of its servers.
constexpr size_t flat_switch_max = 16;

// The servers under one switch, in `zone`, the zone of the switches above it: each server's route is its NIC link and
// then `uplinks`, so that a transfer between two switches crosses both servers' NICs and both switches' uplinks; two
// servers under the same switch reach each other over their NIC links alone (a bypass route per ordered pair). The
// same links carry the same transfers as a zone per switch would, but SimGrid 3.32 looks up every new host's and
// link's name and seals every zone by walking all zones (or all hosts): a zone per switch made set-up quadratic in
// servers (docs/design.md, "Speed").
void flatten_switch(s4u::NetZone* zone, const std::vector<Server>& servers, const std::vector<s4u::Link*>& uplinks)
{
  for (const Server& a : servers) {
    std::vector<s4u::LinkInRoute> route{s4u::LinkInRoute(a.nic, Dir::UP)};
    for (s4u::Link* up : uplinks)
      route.emplace_back(up, Dir::UP);
    zone->add_route(a.host->get_netpoint(), nullptr, nullptr, nullptr, route, true);
    for (const Server& b : servers)
      if (a.host != b.host)
        zone->add_bypass_route(a.host->get_netpoint(), b.host->get_netpoint(), nullptr, nullptr,
                               {s4u::LinkInRoute(a.nic, Dir::UP), s4u::LinkInRoute(b.nic, Dir::DOWN)});
  }
}

// The servers under one switch in a star zone of their own, a child of `parent`, reached through a router standing for
// the switch; `uplinks` go from that zone into `parent` (bandwidth known once the servers are in: `uplink_bw`).
template <class UplinkBw>
s4u::NetZone* switch_zone(s4u::NetZone* parent, const std::string& name, const std::string& router,
                          const std::vector<std::pair<const ServerPool*, int>>& members, double hop,
                          UplinkBw&& uplink_bw, Platform& pf)
{
  auto* zone = s4u::create_star_zone(name);
  zone->set_parent(parent);
  auto* gw = zone->create_router(router);
  zone->add_route(gw, nullptr, nullptr, nullptr, {}, true);
  double nic_bw = 0;
  for (auto [pool, i] : members) {
    const Server sv = add_server(zone, *pool, i, hop, pf);
    zone->add_route(sv.host->get_netpoint(), nullptr, nullptr, nullptr, {s4u::LinkInRoute(sv.nic, Dir::UP)}, true);
    nic_bw += pool->server.nic_bandwidth();
  }
  auto* up = parent->create_split_duplex_link(name + "-uplink", uplink_bw(nic_bw));
  up->set_latency(hop)->seal();
  parent->add_route(zone->get_netpoint(), nullptr, gw, nullptr, {s4u::LinkInRoute(up, Dir::UP)}, true);
  zone->seal();
  return zone;
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

// A k-ary fat tree (topology.hpp, FatTreeShape) as nested star zones: core > pods > edge switches > servers (edge
// switches flattened into their pod when small). Each server has its NIC link; each edge switch one uplink standing
// for its k/2 links to the pod's aggregation switches; each pod one uplink standing for its (k/2)^2 links to the
// core. Flows are spread evenly over the parallel links (ideal ECMP), so a bundle shares its total bandwidth; a single
// flow is held to its NIC's rate by the NIC link. The network solver sees one constraint per bundle, as for
// leaf_spine.
Platform build_fat_tree(const Scenario& s)
{
  Platform pf;
  const FatTreeShape ft = fat_tree_shape(s);
  const size_t half = size_t(ft.k / 2);
  const double hop = s.fabric.link_latency_s();
  const bool flat = half <= flat_switch_max;
  auto* core = s4u::create_star_zone("core");
  std::vector<s4u::NetZone*> pods;
  std::vector<s4u::NetZone*> aggs; // nested edges: where each pod's gateway sits
  for (int p = 0; p < ft.pods; ++p) {
    const std::string name = "pod" + std::to_string(p);
    auto* pod = s4u::create_star_zone(name);
    pod->set_parent(core);
    simgrid::kernel::routing::NetPoint* gw = nullptr;
    if (flat) {
      gw = pod->create_router(name + "-agg");
      pod->add_route(gw, nullptr, nullptr, nullptr, {}, true);
    } else {
      // The pod's gateway sits in a zone of its own, at the depth of the edge switches' zones: SimGrid 3.32 finds the
      // wrong common ancestor (and fails) when a gateway sits higher in the tree than the host.
      auto* agg = s4u::create_star_zone(name + "-aggregation");
      agg->set_parent(pod);
      gw = agg->create_router(name + "-agg");
      agg->add_route(gw, nullptr, nullptr, nullptr, {}, true);
      pod->add_route(agg->get_netpoint(), nullptr, gw, nullptr, {}, true);
      aggs.push_back(agg);
    }
    auto* up = core->create_split_duplex_link(name + "-uplink", ft.link_bandwidth * double(half * half));
    up->set_latency(hop)->seal();
    core->add_route(pod->get_netpoint(), nullptr, gw, nullptr, {s4u::LinkInRoute(up, Dir::UP)}, true);
    pods.push_back(pod);
  }
  const auto groups = switch_groups(s, long(half));
  for (size_t e = 0; e < groups.size(); ++e) {
    s4u::NetZone* pod = pods.at(e / half);
    const std::string name = "pod" + std::to_string(e / half) + "-edge" + std::to_string(e % half);
    const double edge_bw = ft.edge_uplink_bandwidth * double(half);
    if (flat) {
      auto* up = pod->create_split_duplex_link(name + "-uplink", edge_bw);
      up->set_latency(hop)->seal();
      std::vector<Server> servers;
      for (auto [pool, i] : groups[e])
        servers.push_back(add_server(pod, *pool, i, hop, pf));
      flatten_switch(pod, servers, {up});
    } else {
      switch_zone(
          pod, name, name + "-switch", groups[e], hop, [&](double) { return edge_bw; }, pf);
    }
    pf.racks++;
  }
  for (auto* agg : aggs)
    agg->seal();
  for (auto* pod : pods)
    pod->seal();
  core->seal();
  return pf;
}

} // namespace

Platform build_platform(const Scenario& s)
{
  if (s.fabric.type == "fat_tree") return build_fat_tree(s);
  Platform pf;
  auto* spine = s4u::create_star_zone("spine");
  const double hop = s.fabric.link_latency_s();
  const auto racks = switch_groups(s, s.fabric.servers_per_rack);
  for (const auto& members : racks) {
    const std::string name = "rack" + std::to_string(pf.racks);
    if (size_t(s.fabric.servers_per_rack) <= flat_switch_max) {
      std::vector<Server> servers;
      double nic_bw = 0;
      for (auto [pool, i] : members) {
        servers.push_back(add_server(spine, *pool, i, hop, pf));
        nic_bw += pool->server.nic_bandwidth();
      }
      auto* up = spine->create_split_duplex_link(name + "-uplink", nic_bw / s.fabric.oversubscription);
      up->set_latency(hop)->seal();
      flatten_switch(spine, servers, {up});
    } else {
      switch_zone(
          spine, name, name + "-leaf", members, hop, [&](double nic_bw) { return nic_bw / s.fabric.oversubscription; },
          pf);
    }
    pf.racks++;
  }
  spine->seal();
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

double RouteLatencies::operator()(simgrid::s4u::Host* from, simgrid::s4u::Host* to)
{
  auto [it, fresh] = known_.try_emplace({from, to}, 0.0);
  if (fresh) {
    std::vector<simgrid::s4u::Link*> route;
    from->route_to(to, route, &it->second);
  }
  return it->second;
}

} // namespace fs
