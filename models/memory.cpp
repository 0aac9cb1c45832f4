#include "memory.hpp"
#include <cmath>
#include <sstream>

namespace fs {

MemoryPlan plan_memory(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                       double reserve_bytes_per_gpu)
{
  MemoryPlan plan;
  plan.weight_bytes_per_gpu = weight_bytes(m, d.weights) / p.gpus();
  plan.reserve_bytes_per_gpu = reserve_bytes_per_gpu;
  plan.kv_bytes_per_token_per_gpu = kv_bytes_per_token_per_gpu(m, d.kv, p);
  const double usable = chip.mem_capacity_bytes * mem_util;
  plan.kv_bytes_per_gpu = usable - plan.weight_bytes_per_gpu - reserve_bytes_per_gpu;
  plan.kv_tokens =
      plan.kv_bytes_per_gpu > 0 ? long(std::floor(plan.kv_bytes_per_gpu / plan.kv_bytes_per_token_per_gpu)) : 0;
  plan.fits = plan.kv_tokens > 0;
  if (!plan.fits) {
    std::ostringstream os;
    os.precision(3);
    os << m.name << " (" << dtype_name(d.weights) << ") needs " << plan.weight_bytes_per_gpu / 1e9
       << " GB of weights per GPU at tp=" << p.tp << " pp=" << p.pp << ", but " << chip.name << " offers "
       << usable / 1e9 << " GB usable (" << chip.mem_capacity_bytes / 1e9 << " GB x " << mem_util << ") minus "
       << reserve_bytes_per_gpu / 1e9 << " GB reserve: raise tp/pp or use a larger chip";
    plan.why = os.str();
  }
  return plan;
}

} // namespace fs
