// Cost and energy (docs/metrics.md): $/h = sum over devices of capex / depreciation hours
// + average power (kW) x PUE x $/kWh.
#pragma once
#include <string>
#include <vector>

namespace fs {

struct Economics {
  double usd_per_kwh = 0;
  double pue = 0;
  double depreciation_years = 0;
};

struct CostItem {
  std::string name;
  double count = 0;
  double capex_usd = 0;   // per unit
  double avg_power_w = 0; // per unit, averaged over the measured window
  std::string group;      // a pool's name, or "fabric"
  std::string kind;       // chip, nic, cpu, chassis, switch, optic
};

struct CostResult {
  double capex_usd_per_hour = 0;
  double energy_usd_per_hour = 0;
  double usd_per_hour = 0;
  double power_kw = 0; // IT power, before PUE
};

CostResult cost_per_hour(const std::vector<CostItem>& items, const Economics& e);
// One item's part of cost_per_hour: all `count` units, capex and energy.
double item_usd_per_hour(const CostItem& item, const Economics& e);

// Switches and optics of a two-tier leaf/spine fabric (docs/model.md, "Cost"). Per rack, the leaf needs
//   NIC ports    = ceil(rack NIC bandwidth / switch port speed)   (faster ports split with breakout cables,
//                                                                   slower ones bonded: bandwidth decides)
//   uplink ports = ceil(rack NIC bandwidth / oversubscription / port speed)   (0 with a single rack: no spine)
//   leaves       = ceil((NIC ports + uplink ports) / switch ports)
// and the non-blocking spine takes every uplink: spine ports = sum of uplink ports, spines = ceil(that / switch
// ports). One optic per switch port in use (leaf NIC ports, leaf uplinks, spine ports); the NIC-side optics are
// in the NICs' price.
struct FabricCount {
  long racks = 0;        // leaf_spine: racks; fat_tree: edge switch positions
  long leaves = 0;       // leaf (fat_tree: edge) switches
  long spines = 0;       // spine switches
  long aggregations = 0; // fat_tree only
  long cores = 0;        // fat_tree only
  long nic_ports = 0;    // leaf ports facing the servers
  long uplink_ports = 0; // leaf ports facing the spine (= spine ports in use)
  long ports_in_use = 0; // every switch port in use, one optic each
  long switches() const { return leaves + spines + aggregations + cores; }
  long optics() const { return ports_in_use; }
};
// rack_nic_bandwidth: each rack's total NIC bandwidth (bytes/s); port_bandwidth in the same unit.
FabricCount leaf_spine_count(const std::vector<double>& rack_nic_bandwidth, double port_bandwidth, int switch_ports,
                             double oversubscription);
// $ per million tokens; 0 when no tokens.
double usd_per_million(double usd_per_hour, double tokens_per_s);

} // namespace fs
