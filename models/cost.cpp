#include "cost.hpp"
#include <cmath>

namespace fs {

CostResult cost_per_hour(const std::vector<CostItem>& items, const Economics& e)
{
  CostResult r;
  const double hours = e.depreciation_years * 365.25 * 24;
  for (auto const& it : items) {
    r.capex_usd_per_hour += it.count * it.capex_usd / hours;
    r.power_kw += it.count * it.avg_power_w / 1000.0;
  }
  r.energy_usd_per_hour = r.power_kw * e.pue * e.usd_per_kwh;
  r.usd_per_hour = r.capex_usd_per_hour + r.energy_usd_per_hour;
  return r;
}

double item_usd_per_hour(const CostItem& it, const Economics& e)
{
  const double hours = e.depreciation_years * 365.25 * 24;
  return it.count * (it.capex_usd / hours + it.avg_power_w / 1000.0 * e.pue * e.usd_per_kwh);
}

FabricCount leaf_spine_count(const std::vector<double>& rack_nic_bandwidth, double port_bandwidth, int switch_ports,
                             double oversubscription)
{
  FabricCount f;
  f.racks = long(rack_nic_bandwidth.size());
  if (f.racks == 0 || !(port_bandwidth > 0) || switch_ports <= 0) return f;
  // Whole ports; a relative tolerance keeps 6400/400 from rounding up to 17.
  auto ports = [&](double bw) { return long(std::ceil(bw / port_bandwidth * (1 - 1e-12))); };
  for (double bw : rack_nic_bandwidth) {
    const long nic = ports(bw);
    const long up = f.racks > 1 ? ports(bw / oversubscription) : 0;
    f.nic_ports += nic;
    f.uplink_ports += up;
    f.leaves += (nic + up + switch_ports - 1) / switch_ports;
  }
  f.spines = (f.uplink_ports + switch_ports - 1) / switch_ports;
  f.ports_in_use = f.nic_ports + 2 * f.uplink_ports;
  return f;
}

double usd_per_million(double usd_per_hour, double tokens_per_s)
{
  return tokens_per_s > 0 ? usd_per_hour / (tokens_per_s * 3600.0) * 1e6 : 0.0;
}

} // namespace fs
