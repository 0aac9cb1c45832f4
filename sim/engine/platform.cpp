#include "platform.hpp"

namespace s4u = simgrid::s4u;

namespace fs {

Platform build_platform(const Scenario& s)
{
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
