#include "efficiency.hpp"
#include "efficiency_datasheet.hpp"
#include "efficiency_measured.hpp"

namespace fs {

const EfficiencyRegistry& efficiency_registry()
{
  static const EfficiencyRegistry reg = [] {
    EfficiencyRegistry r("efficiency");
    r.add("datasheet", "documented default efficiencies over datasheet peaks (no measurement)",
          [](const ChipSpec&) { return std::make_unique<DatasheetEfficiency>(); });
    r.add("measured", "curves fitted to CUDA microbenchmarks (calibration/<device>/fitted.json)",
          [](const ChipSpec& c) {
            if (!c.measured) throw std::invalid_argument("chip " + c.name + " has no measured calibration");
            return std::make_unique<MeasuredEfficiency>(*c.measured);
          });
    return r;
  }();
  return reg;
}

std::unique_ptr<EfficiencyModel> make_efficiency(const ChipSpec& chip)
{
  return efficiency_registry().make(chip.measured ? "measured" : "datasheet", chip);
}

} // namespace fs
