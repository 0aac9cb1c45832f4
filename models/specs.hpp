// Plain hardware and model specs, filled from the catalogs by the scenario loader (sim/scenario).
// Units are SI (bytes, bytes/s, FLOP/s, s, W, USD) once parsed; catalog keys carry their own units.
#pragma once
#include "dtype.hpp"
#include <map>
#include <optional>
#include <string>

namespace fs {

// field name -> where the number comes from (datasheet, paper, measurement, "scenario override")
using Sources = std::map<std::string, std::string>;

struct ChipSpec {
  std::string name;
  std::string kind = "gpu";           // gpu | lpu
  std::map<Dtype, double> peak_flops; // dense FLOP/s per dtype
  double mem_capacity_bytes = 0;      // HBM (gpu) or on-chip SRAM (lpu)
  double mem_bandwidth = 0;           // bytes/s
  double scaleup_bandwidth = 0;       // bytes/s per direction (NVLink or chip-to-chip)
  double scaleup_latency_s = 0;
  double idle_power_w = 0;
  double tdp_w = 0;
  double price_usd = 0;
  std::string calibration; // path of a fitted.json, empty = datasheet defaults
  Sources sources;

  double peak(Dtype d) const
  {
    auto it = peak_flops.find(d);
    if (it != peak_flops.end()) return it->second;
    // fp8 is not native on every chip: fall back to the bf16 rate (weights upcast).
    auto bf = peak_flops.find(Dtype::bf16);
    return bf == peak_flops.end() ? 0.0 : bf->second;
  }
};

struct MoeSpec {
  int num_experts = 0;
  int experts_per_token = 0;
};

struct LlmSpec {
  std::string name;
  int num_layers = 0;
  int hidden_size = 0;
  int num_attention_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int intermediate_size = 0;
  int vocab_size = 0;
  bool tie_word_embeddings = false;
  long max_context_tokens = 0;
  std::optional<MoeSpec> moe;
  std::string source;
};

struct NicSpec {
  std::string name;
  double bandwidth = 0; // bytes/s per NIC
  double latency_s = 0;
  double power_w = 0;
  double price_usd = 0;
  Sources sources;
};

struct CpuSpec {
  std::string name;
  double cores = 0;
  double memory_bandwidth = 0; // bytes/s
  double tdp_w = 0;
  double price_usd = 0;
  Sources sources;
};

struct ServerSpec {
  std::string name;
  ChipSpec chip;
  int gpus_per_server = 0;
  CpuSpec cpu;
  int cpus_per_server = 0;
  NicSpec nic;
  int nics_per_server = 0;
  double base_power_w = 0;    // everything but the accelerators
  double other_capex_usd = 0; // server price without the accelerators
  Sources sources;

  double nic_bandwidth() const { return nic.bandwidth * nics_per_server; }
};

} // namespace fs
