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
// SRAM-pipeline chips (p.pipeline_chips > 0) spread weights and KV evenly over the pipeline's chips; their
// reserve is the activations of one micro-batch, not a GPU-style runtime reserve.
MemoryPlan plan_memory(const LlmSpec& m, const ChipSpec& chip, Parallelism p, OpDtypes d, double mem_util,
                       double reserve_bytes_per_chip);

// SRAM-pipeline chips: the fewest chips whose memory holds the weights, `kv_tokens` tokens of KV cache and
// `reserve_bytes_per_chip` of activations on each chip; 0 when no number of chips can (the reserve alone fills
// a chip).
long sram_chips_needed(const LlmSpec& m, const ChipSpec& chip, OpDtypes d, double mem_util,
                       double reserve_bytes_per_chip, double kv_tokens);

} // namespace fs
