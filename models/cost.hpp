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
};

struct CostResult {
  double capex_usd_per_hour = 0;
  double energy_usd_per_hour = 0;
  double usd_per_hour = 0;
  double power_kw = 0; // IT power, before PUE
};

CostResult cost_per_hour(const std::vector<CostItem>& items, const Economics& e);
// $ per million tokens; 0 when no tokens.
double usd_per_million(double usd_per_hour, double tokens_per_s);

} // namespace fs
