// Cost and energy (docs/metrics.md, docs/model.md "Cost"): $/h = hardware capex as an annuity over its
// depreciation years at the cost of capital + the facility (its capex per MW of rated IT power as an annuity over
// its own years, or colocation per kW-month) + average power (kW) x PUE x $/kWh + operations.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace fs {

struct Economics {
  double usd_per_kwh = 0;
  double pue = 0;
  double depreciation_years = 0;
  double cost_of_capital = 0;             // annual rate; 0: straight-line depreciation
  double facility_usd_per_mw = 0;         // building, power and cooling plant per MW of rated IT power
  double facility_years = 0;              // the facility's amortisation
  double colocation_usd_per_kw_month = 0; // > 0: rented space and power plant instead of facility_usd_per_mw
  double operations_capex_fraction = 0;   // per year, of the hardware capex (support, spares, staff)
  double operations_usd_per_server_year = 0;
};

// Hours in a year (365.25 days).
constexpr double hours_per_year = 8766;
// The capital recovery factor: the share of a capex paid each year so that `years` equal payments repay it with
// interest at `rate`: rate (1 + rate)^years / ((1 + rate)^years - 1); 1 / years when rate is 0.
double capital_recovery_factor(double rate, double years);

struct CostItem {
  std::string name;
  double count = 0;
  double capex_usd = 0;     // per unit
  double avg_power_w = 0;   // per unit, averaged over the measured window
  std::string group;        // a pool's name, or "fabric"
  std::string kind;         // chip, nic, cpu, chassis, switch, optic, storage
  double rated_power_w = 0; // per unit, nameplate (sizes the facility); 0: avg_power_w
  double rated_w() const { return rated_power_w > 0 ? rated_power_w : avg_power_w; }
};

struct CostResult {
  double capex_usd_per_hour = 0; // hardware
  double energy_usd_per_hour = 0;
  double facility_usd_per_hour = 0;
  double operations_usd_per_hour = 0;
  double usd_per_hour = 0;
  double power_kw = 0;       // IT power, before PUE
  double rated_power_kw = 0; // the IT power the facility is built (or rented) for
  // usd_per_hour by component kind: each hardware kind's capex, then "facility", "energy" and "operations"; the
  // parts sum to usd_per_hour.
  std::map<std::string, double> by_kind;
};

CostResult cost_per_hour(const std::vector<CostItem>& items, const Economics& e);
// One item's part of cost_per_hour: all `count` units, capex and energy (not facility or operations).
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
