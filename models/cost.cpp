#include "cost.hpp"
#include <cmath>

namespace fs {

double capital_recovery_factor(double rate, double years)
{
  if (!(years > 0)) return 0;
  if (rate <= 0) return 1 / years;
  const double g = std::pow(1 + rate, years);
  return rate * g / (g - 1);
}

CostResult cost_per_hour(const std::vector<CostItem>& items, const Economics& e)
{
  CostResult r;
  const double per_hour = capital_recovery_factor(e.cost_of_capital, e.depreciation_years) / hours_per_year;
  double capex = 0, servers = 0;
  for (auto const& it : items) {
    const double c = it.count * it.capex_usd * per_hour;
    r.by_kind[it.kind] += c;
    r.capex_usd_per_hour += c;
    capex += it.count * it.capex_usd;
    r.power_kw += it.count * it.avg_power_w / 1000.0;
    r.rated_power_kw += it.count * it.rated_w() / 1000.0;
    if (it.kind == "chassis") servers += it.count;
  }
  r.energy_usd_per_hour = r.power_kw * e.pue * e.usd_per_kwh;
  if (e.colocation_usd_per_kw_month > 0)
    r.facility_usd_per_hour = r.rated_power_kw * e.colocation_usd_per_kw_month * 12 / hours_per_year;
  else
    r.facility_usd_per_hour = r.rated_power_kw / 1000 * e.facility_usd_per_mw *
                              capital_recovery_factor(e.cost_of_capital, e.facility_years) / hours_per_year;
  r.operations_usd_per_hour =
      (capex * e.operations_capex_fraction + servers * e.operations_usd_per_server_year) / hours_per_year;
  r.by_kind["facility"] = r.facility_usd_per_hour;
  r.by_kind["energy"] = r.energy_usd_per_hour;
  r.by_kind["operations"] = r.operations_usd_per_hour;
  r.usd_per_hour = r.capex_usd_per_hour + r.facility_usd_per_hour + r.energy_usd_per_hour + r.operations_usd_per_hour;
  return r;
}

double item_usd_per_hour(const CostItem& it, const Economics& e)
{
  const double per_hour = capital_recovery_factor(e.cost_of_capital, e.depreciation_years) / hours_per_year;
  return it.count * (it.capex_usd * per_hour + it.avg_power_w / 1000.0 * e.pue * e.usd_per_kwh);
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
