// Device memory of one replica: weights, an activation reserve, and what is left for the KV cache.
#pragma once
#include "llm.hpp"
#include <string>

namespace fs {

struct MemoryPlan {
  double weight_bytes_per_chip = 0;
  double reserve_bytes_per_chip = 0; // activations, CUDA graphs, fragmentation
  double kv_bytes_per_chip = 0;
  double kv_bytes_per_token_per_chip = 0;
  long kv_tokens = 0; // tokens of context the replica can hold
  bool fits = false;
  std::string why; // when !fits
};

// `mem_util` is the fraction of device memory the engine may use (vLLM's gpu_memory_utilization).
MemoryPlan plan_memory(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                       double reserve_bytes_per_chip);

} // namespace fs
