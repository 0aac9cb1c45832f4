#include "memory.hpp"
#include <cmath>
#include <sstream>

namespace fs {

namespace {
constexpr double gib = 1024.0 * 1024 * 1024;

MemoryPlan plan_sram(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                     double reserve_bytes_per_chip)
{
  MemoryPlan plan;
  const double n = p.pipeline_chips;
  plan.reserve_bytes_per_chip = reserve_bytes_per_chip;
  plan.weight_bytes_per_chip = weight_bytes(m, d.weights) / n;
  plan.kv_bytes_per_chip = chip.memory_capacity_bytes * mem_util - plan.weight_bytes_per_chip - reserve_bytes_per_chip;
  plan.kv_bytes_per_token_per_chip = kv_bytes_per_token(m, d.kv) / n;
  plan.kv_tokens =
      plan.kv_bytes_per_chip > 0 ? long(std::floor(plan.kv_bytes_per_chip / plan.kv_bytes_per_token_per_chip)) : 0;
  plan.fits = plan.kv_tokens > 0;
  if (!plan.fits) {
    const long need = sram_chips_needed(m, chip, d, mem_util, reserve_bytes_per_chip, 1);
    std::ostringstream os;
    os.precision(4);
    os << m.name << " (" << dtype_name(d.weights) << ", " << weight_bytes(m, d.weights) / 1e9 << " GB of weights) does "
       << "not fit the SRAM of " << p.pipeline_chips << " " << chip.name << " chips ("
       << chip.memory_capacity_bytes / 1e6 << " MB each x " << mem_util << ", minus " << reserve_bytes_per_chip / 1e6
       << " MB of activations): ";
    if (need > 0)
      os << "it needs at least " << need << " chips";
    else
      os << "the activations alone fill a chip; lower max_num_batched_tokens";
    plan.why = os.str();
  }
  return plan;
}

// Expert parallelism: every chip holds all non-expert weights, its E/ep experts, and the KV of its own
// sequences (all heads).
MemoryPlan plan_ep(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                   double reserve_bytes_per_chip)
{
  MemoryPlan plan;
  plan.reserve_bytes_per_chip = reserve_bytes_per_chip;
  const double experts = expert_param_count(m);
  plan.weight_bytes_per_chip = (param_count(m) - experts + experts / p.ep) * dtype_bytes(d.weights);
  plan.kv_bytes_per_chip = chip.memory_capacity_bytes * mem_util - plan.weight_bytes_per_chip - reserve_bytes_per_chip;
  plan.kv_bytes_per_token_per_chip = kv_bytes_per_token(m, d.kv);
  plan.kv_tokens = plan.kv_bytes_per_chip > 0
                       ? p.ep * long(std::floor(plan.kv_bytes_per_chip / plan.kv_bytes_per_token_per_chip))
                       : 0;
  plan.fits = plan.kv_tokens > 0;
  if (!plan.fits) {
    std::ostringstream os;
    os.precision(3);
    os << m.name << " (" << dtype_name(d.weights) << ") needs " << plan.weight_bytes_per_chip / gib
       << " GiB of weights per chip at ep=" << p.ep << " (attention replicated, experts spread), but " << chip.name
       << " offers " << chip.memory_capacity_bytes * mem_util / gib << " GiB usable minus "
       << reserve_bytes_per_chip / gib << " GiB reserve: raise ep or use a larger chip";
    plan.why = os.str();
  }
  return plan;
}
} // namespace

long sram_chips_needed(const LlmSpec& m, const ChipSpec& chip, OpDtypes d, double mem_util,
                       double reserve_bytes_per_chip, double kv_tokens)
{
  const double per_chip = chip.memory_capacity_bytes * mem_util - reserve_bytes_per_chip;
  if (per_chip <= 0) return 0;
  const double total = weight_bytes(m, d.weights) + kv_tokens * kv_bytes_per_token(m, d.kv);
  return long(std::ceil(total / per_chip));
}

MemoryPlan plan_memory(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                       double reserve_bytes_per_chip)
{
  if (p.pipeline_chips > 0) return plan_sram(m, chip, p, d, mem_util, reserve_bytes_per_chip);
  if (p.ep > 1) return plan_ep(m, chip, p, d, mem_util, reserve_bytes_per_chip);
  // Every pipeline stage has its own weights and holds the KV of its own layers; the replica holds as many tokens
  // as its tightest stage.
  MemoryPlan plan;
  plan.reserve_bytes_per_chip = reserve_bytes_per_chip;
  const double usable = chip.memory_capacity_bytes * mem_util;
  const double kv_per_layer = kv_bytes_per_token_layer(m, d.kv, p.tp); // per token per chip
  plan.kv_tokens = -1;
  for (int s = 0; s < p.pp; ++s) {
    double params = stage_param_count(m, p.pp, s);
    if (p.ffn_offloaded) params -= ffn_param_count(m) * stage_layers(m.num_layers, p.pp, s) / m.num_layers;
    const double weights = params * dtype_bytes(d.weights) / p.tp;
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
