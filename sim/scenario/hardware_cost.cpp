#include "hardware_cost.hpp"
#include "kv_hierarchy.hpp"
#include "topology.hpp"
#include <cmath>

namespace fs {

std::vector<double> rack_nic_bandwidth(const Scenario& s, int per_rack)
{
  if (per_rack <= 0) per_rack = s.fabric.servers_per_rack;
  std::vector<double> racks;
  int in_rack = per_rack;
  for (const ServerPool& p : s.pools)
    for (int i = 0; i < p.servers; ++i) {
      if (in_rack == per_rack) {
        racks.push_back(0);
        in_rack = 0;
      }
      racks.back() += p.server.nic_bandwidth();
      in_rack++;
    }
  return racks;
}

namespace {

// A k-ary fat tree as topology.cpp builds it: edge e of pod p links to each of the pod's aggregation switches
// (edge_uplink_bandwidth each), aggregation a of every pod to cores a*k/2 .. a*k/2 + k/2 - 1 (link_bandwidth each).
FabricCount fat_tree_count(const Scenario& s)
{
  const SwitchSpec& sw = s.fabric.switch_spec;
  const FatTreeShape ft = fat_tree_shape(s);
  const int half = ft.k / 2;
  auto ports = [&](double bw) { return long(std::ceil(bw / sw.port_bandwidth * (1 - 1e-12))); };
  auto switches = [&](long p) { return (p + sw.ports - 1) / sw.ports; };
  FabricCount f;
  const std::vector<double> edge_bw = rack_nic_bandwidth(s, ft.servers_per_edge);
  f.racks = long(edge_bw.size());
  const long up = ft.aggs_per_pod > 0 ? ports(ft.edge_uplink_bandwidth) : 0; // per edge-aggregation link
  const long core = ft.cores > 0 ? ports(ft.link_bandwidth) : 0;             // per aggregation-core link
  for (double bw : edge_bw) {
    const long p = ports(bw) + ft.aggs_per_pod * up;
    f.nic_ports += ports(bw);
    f.leaves += switches(p);
    f.ports_in_use += p;
  }
  for (int pod = 0; pod < ft.pods; ++pod)
    for (int a = 0; a < ft.aggs_per_pod; ++a) {
      const long p = ft.edges_in_pod(pod) * up + half * core;
      f.aggregations += switches(p);
      f.ports_in_use += p;
    }
  for (int c = 0; c < ft.cores; ++c) {
    const long p = ft.pods * core;
    f.cores += switches(p);
    f.ports_in_use += p;
  }
  return f;
}

} // namespace

FabricCount fabric_count(const Scenario& s)
{
  if (s.fabric.type == "fat_tree") return fat_tree_count(s);
  const SwitchSpec& sw = s.fabric.switch_spec;
  return leaf_spine_count(rack_nic_bandwidth(s), sw.port_bandwidth, sw.ports, s.fabric.oversubscription);
}

std::vector<CostItem> hardware_items(const Scenario& s, const std::map<std::string, double>& chip_power_w,
                                     const std::map<std::string, double>& cpu_power_w)
{
  std::vector<CostItem> items;
  // `rated`: the part's nameplate power, what the facility is built for (0: its average power).
  auto add = [&](std::string name, double count, double capex, double power, const std::string& group, const char* kind,
                 double rated = 0) {
    if (count > 0) items.push_back({std::move(name), count, capex, power, group, kind, rated});
  };
  for (const ServerPool& p : s.pools) {
    const ServerSpec& sv = p.server;
    const auto w = chip_power_w.find(p.name);
    add(sv.chip.name, double(p.chips()), sv.chip.price_usd, w != chip_power_w.end() ? w->second : sv.chip.power.idle_w,
        p.name, "chip", sv.chip.power.tdp_w);
    add(sv.nic.name, double(p.servers) * sv.nics_per_server, sv.nic.price_usd, sv.nic.power_w, p.name, "nic");
    const auto c = cpu_power_w.find(p.name);
    add(sv.cpu.name, double(p.servers) * sv.cpus_per_server, sv.cpu.price_usd,
        c != cpu_power_w.end() ? c->second : sv.cpu.serving_power_w(), p.name, "cpu", sv.cpu.tdp_w);
    add(sv.name + " chassis", double(p.servers), sv.other_capex_usd, sv.base_power_w, p.name, "chassis");
  }
  for (auto const& [pool, dev, n] : kv_storage(s))
    add(dev->name, double(s.pool(pool).servers) * n, dev->price_usd, dev->power_w, pool, "storage");
  const SwitchSpec& sw = s.fabric.switch_spec;
  const FabricCount f = fabric_count(s);
  const bool fat = s.fabric.type == "fat_tree";
  add(sw.name + (fat ? " edge" : " leaf"), double(f.leaves), sw.price_usd, sw.power_w, "fabric", "switch");
  add(sw.name + " spine", double(f.spines), sw.price_usd, sw.power_w, "fabric", "switch");
  add(sw.name + " aggregation", double(f.aggregations), sw.price_usd, sw.power_w, "fabric", "switch");
  add(sw.name + " core", double(f.cores), sw.price_usd, sw.power_w, "fabric", "switch");
  add(sw.name + " optic", double(f.optics()), sw.optic_price_usd, sw.optic_power_w, "fabric", "optic");
  return items;
}

} // namespace fs
