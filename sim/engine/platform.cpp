#include "platform.hpp"
#include "topology.hpp"

namespace s4u = simgrid::s4u;

namespace fs {

namespace {

// A k-ary fat tree (topology.hpp, FatTreeShape) as nested star zones: core > pods > edge switches > servers.
// Each server has its NIC link; each edge switch one uplink standing for its k/2 links to the pod's
// aggregation switches; each pod one uplink standing for its (k/2)^2 links to the core. Flows are spread
// evenly over the parallel links (ideal ECMP), so a bundle shares its total bandwidth; a single flow is held
// to its NIC's rate by the NIC link. The network solver sees one constraint per bundle, as for leaf_spine.
Platform build_fat_tree(const Scenario& s)
{
  Platform pf;
  const FatTreeShape ft = fat_tree_shape(s);
  const int half = ft.k / 2;
  const double hop = s.fabric.link_latency_s();
  auto* core = s4u::create_star_zone("core");
  std::vector<s4u::NetZone*> pods;
  for (int p = 0; p < ft.pods; ++p) {
    const std::string name = "pod" + std::to_string(p);
    auto* pod = s4u::create_star_zone(name);
    pod->set_parent(core);
    // The pod's gateway sits in a zone of its own, at the depth of the edge switches' zones: SimGrid 3.32
    // finds the wrong common ancestor (and fails) when a gateway sits higher in the tree than the host.
    auto* agg = s4u::create_star_zone(name + "-aggregation");
    agg->set_parent(pod);
    auto* gw = agg->create_router(name + "-agg");
    agg->add_route(gw, nullptr, nullptr, nullptr, {}, true);
    pod->add_route(agg->get_netpoint(), nullptr, gw, nullptr, {}, true);
    auto* up = core->create_split_duplex_link(name + "-uplink", ft.link_bandwidth * half * half);
    up->set_latency(hop)->seal();
    core->add_route(pod->get_netpoint(), nullptr, gw, nullptr, {s4u::LinkInRoute(up, s4u::LinkInRoute::Direction::UP)},
                    true);
    pods.push_back(pod);
  }
  s4u::NetZone* edge = nullptr;
  long idx = 0;
  for (const ServerPool& pool : s.pools) {
    for (int i = 0; i < pool.servers; ++i, ++idx) {
      if (idx % half == 0) {
        if (edge) edge->seal();
        const long e = idx / half;
        s4u::NetZone* pod = pods.at(size_t(e / half));
        const std::string name = "pod" + std::to_string(e / half) + "-edge" + std::to_string(e % half);
        edge = s4u::create_star_zone(name);
        edge->set_parent(pod);
        auto* gw = edge->create_router(name + "-switch");
        edge->add_route(gw, nullptr, nullptr, nullptr, {}, true);
        auto* up = pod->create_split_duplex_link(name + "-uplink", ft.edge_uplink_bandwidth * half);
        up->set_latency(hop)->seal();
        pod->add_route(edge->get_netpoint(), nullptr, gw, nullptr,
                       {s4u::LinkInRoute(up, s4u::LinkInRoute::Direction::UP)}, true);
        pf.racks++;
      }
      const std::string name = pool.name + "-" + std::to_string(i);
      s4u::Host* host = edge->create_host(name, 1e9);
      host->seal();
      auto* nic = edge->create_split_duplex_link(name + "-nic", pool.server.nic_bandwidth());
      nic->set_latency(pool.server.nic.latency_s + hop)->seal();
      edge->add_route(host->get_netpoint(), nullptr, nullptr, nullptr,
                      {s4u::LinkInRoute(nic, s4u::LinkInRoute::Direction::UP)}, true);
      pf.servers[pool.name].push_back(host);
    }
  }
  if (edge) edge->seal();
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
  const int per_rack = s.fabric.servers_per_rack;
  s4u::NetZone* rack = nullptr;
  simgrid::kernel::routing::NetPoint* gateway = nullptr;
  double rack_bw = 0;
  int in_rack = 0;
  auto close_rack = [&] {
    if (!rack) return;
    auto* up = spine->create_split_duplex_link("rack" + std::to_string(pf.racks) + "-uplink",
                                               rack_bw / s.fabric.oversubscription);
    up->set_latency(s.fabric.link_latency_s())->seal();
    spine->add_route(rack->get_netpoint(), nullptr, gateway, nullptr,
                     {s4u::LinkInRoute(up, s4u::LinkInRoute::Direction::UP)}, true);
    rack->seal();
    pf.racks++;
    rack = nullptr;
  };
  for (const ServerPool& pool : s.pools) {
    for (int i = 0; i < pool.servers; ++i) {
      if (in_rack == per_rack) close_rack();
      if (!rack) {
        rack = s4u::create_star_zone("rack" + std::to_string(pf.racks));
        rack->set_parent(spine);
        gateway = rack->create_router("rack" + std::to_string(pf.racks) + "-leaf");
        rack->add_route(gateway, nullptr, nullptr, nullptr, {}, true);
        rack_bw = 0;
        in_rack = 0;
      }
      const std::string name = pool.name + "-" + std::to_string(i);
      s4u::Host* host = rack->create_host(name, 1e9);
      host->seal();
      const double bw = pool.server.nic_bandwidth();
      auto* nic = rack->create_split_duplex_link(name + "-nic", bw);
      nic->set_latency(pool.server.nic.latency_s + s.fabric.link_latency_s())->seal();
      rack->add_route(host->get_netpoint(), nullptr, nullptr, nullptr,
                      {s4u::LinkInRoute(nic, s4u::LinkInRoute::Direction::UP)}, true);
      pf.servers[pool.name].push_back(host);
      rack_bw += bw;
      in_rack++;
    }
  }
  close_rack();
  spine->seal();
  return pf;
}

} // namespace fs
