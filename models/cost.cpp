#include "cost.hpp"

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

double usd_per_million(double usd_per_hour, double tokens_per_s)
{
  return tokens_per_s > 0 ? usd_per_hour / (tokens_per_s * 3600.0) * 1e6 : 0.0;
}

} // namespace fs
