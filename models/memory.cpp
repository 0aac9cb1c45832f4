#include "memory.hpp"
#include <cmath>
#include <sstream>

namespace fs {

MemoryPlan plan_memory(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                       double reserve_bytes_per_chip)
{
  // Every pipeline stage has its own weights and holds the KV of its own layers; the replica holds as many tokens
  // as its tightest stage.
  MemoryPlan plan;
  plan.reserve_bytes_per_chip = reserve_bytes_per_chip;
  const double usable = chip.memory_capacity_bytes * mem_util;
  const double kv_heads = std::max(1.0, double(m.num_kv_heads) / p.tp);
  const double kv_per_layer = kv_heads * m.head_dim * 2 * dtype_bytes(d.kv); // per token per chip
  plan.kv_tokens = -1;
  for (int s = 0; s < p.pp; ++s) {
    const double weights = stage_param_count(m, p.pp, s) * dtype_bytes(d.weights) / p.tp;
    const double kv_bytes = usable - weights - reserve_bytes_per_chip;
    const double per_token = stage_layers(m.num_layers, p.pp, s) * kv_per_layer;
    const long tokens = kv_bytes > 0 ? long(std::floor(kv_bytes / per_token)) : 0;
    if (plan.kv_tokens < 0 || tokens < plan.kv_tokens) {
      plan.kv_tokens = tokens;
      plan.weight_bytes_per_chip = weights;
      plan.kv_bytes_per_chip = kv_bytes;
      plan.kv_bytes_per_token_per_chip = per_token;
    }
  }
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
