#include "memory.hpp"
#include <cmath>
#include <sstream>

namespace fs {

MemoryPlan plan_memory(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                       double reserve_bytes_per_chip)
{
  MemoryPlan plan;
  plan.weight_bytes_per_chip = weight_bytes(m, d.weights) / p.chips();
  plan.reserve_bytes_per_chip = reserve_bytes_per_chip;
  plan.kv_bytes_per_token_per_chip = kv_bytes_per_token_per_chip(m, d.kv, p);
  const double usable = chip.memory_capacity_bytes * mem_util;
  plan.kv_bytes_per_chip = usable - plan.weight_bytes_per_chip - reserve_bytes_per_chip;
  plan.kv_tokens =
      plan.kv_bytes_per_chip > 0 ? long(std::floor(plan.kv_bytes_per_chip / plan.kv_bytes_per_token_per_chip)) : 0;
  plan.fits = plan.kv_tokens > 0;
  if (!plan.fits) {
    constexpr double gib = 1024.0 * 1024 * 1024;
    std::ostringstream os;
    os.precision(3);
    os << m.name << " (" << dtype_name(d.weights) << ") needs " << plan.weight_bytes_per_chip / gib
       << " GiB of weights per chip at tp=" << p.tp << " pp=" << p.pp << ", but " << chip.name << " offers "
       << usable / gib << " GiB usable (" << chip.memory_capacity_bytes / gib << " GiB x " << mem_util << ") minus "
       << reserve_bytes_per_chip / gib << " GiB reserve: raise tp/pp or use a larger chip";
    plan.why = os.str();
  }
  return plan;
}

} // namespace fs
