#include "efficiency.hpp"
#include "efficiency_datasheet.hpp"
#include "efficiency_measured.hpp"

namespace fs {

const EfficiencyRegistry& efficiency_registry()
{
  static const EfficiencyRegistry reg = [] {
    EfficiencyRegistry r("efficiency");
    r.add("datasheet", "documented default efficiencies over datasheet peaks (no measurement)",
          [](const std::string&) { return std::make_unique<DatasheetEfficiency>(); });
    r.add("measured", "curves fitted to CUDA microbenchmarks (calibration/<device>/fitted.json)",
          [](const std::string& path) { return std::make_unique<MeasuredEfficiency>(path); });
    return r;
  }();
  return reg;
}

std::unique_ptr<EfficiencyModel> make_efficiency(const std::string& calibration_path)
{
  return efficiency_registry().make(calibration_path.empty() ? "datasheet" : "measured", calibration_path);
}

} // namespace fs
