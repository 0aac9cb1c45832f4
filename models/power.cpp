#include "power.hpp"
#include <algorithm>

namespace fs {

double chip_energy_j(const PowerSpec& p, const PhaseSeconds& busy, double chip_seconds)
{
  auto draw = [&](double fraction) { return std::max(p.idle_w, fraction * p.tdp_w); };
  const double idle_s = std::max(0.0, chip_seconds - busy.total());
  return busy.compute * draw(p.compute_fraction) + busy.memory * draw(p.memory_fraction) +
         (busy.comm + busy.launch) * draw(p.comm_fraction) + idle_s * p.idle_w;
}

} // namespace fs
