// Plain hardware and model specs, filled from the catalogs by the scenario layer (sim/scenario/catalog.cpp).
// Units are SI (bytes, bytes/s, FLOP/s, s, W, USD) once parsed; catalog keys carry their own units.
#pragma once
#include "collective.hpp"
#include "dtype.hpp"
#include "power.hpp"
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace fs {

// field name -> where the number comes from (datasheet, paper, measurement, "scenario override")
using Sources = std::map<std::string, std::string>;

struct MeasuredFit; // efficiency_measured.hpp

struct ChipSpec {
  std::string name;
  std::string kind = "gpu";                 // what sort of chip: gpu, lpu, ... (descriptive; the model is below)
  std::string step_time_model = "roofline"; // the step-time model variant that times this chip (step_time.hpp)
  std::map<Dtype, double> peak_flops;       // dense FLOP/s per dtype
  double memory_capacity_bytes = 0;         // device memory the runtime sees (HBM, or on-chip SRAM)
  double memory_bandwidth = 0;              // bytes/s
  ScaleUpSpec scaleup;                      // chip-to-chip links inside a server (NVLink, ...)
  PowerSpec power;
  double price_usd = 0;
  std::string calibration;                     // path of a fitted.json; empty = datasheet efficiencies
  std::shared_ptr<const MeasuredFit> measured; // its contents, read by the scenario layer
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
  int shared_experts = 0; // always-active experts every token also passes (DeepSeek)
};

// Multi-head latent attention (DeepSeek-V2/V3): the cache holds one compressed latent per token per layer
// (kv_lora_rank + qk_rope_head_dim), shared by all heads, and is replicated on every TP rank.
struct MlaSpec {
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
  int latent() const { return kv_lora_rank + qk_rope_head_dim; }
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
  std::optional<MlaSpec> mla;
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
  double serving_power_fraction = 0; // average draw while a server serves, as a share of TDP
  double price_usd = 0;
  Sources sources;

  double serving_power_w() const { return tdp_w * serving_power_fraction; }
};

// A network switch of the scale-out fabric, and the optic of each port in use (docs/model.md, "Cost").
struct SwitchSpec {
  std::string name;
  int ports = 0;             // ports at port_bandwidth (logical ports: a twin-port cage counts as two)
  double port_bandwidth = 0; // bytes/s per port
  double power_w = 0;        // the switch without optics
  double price_usd = 0;
  double optic_power_w = 0; // per port in use
  double optic_price_usd = 0;
  Sources sources;
};

// A storage device a KV-cache tier is made of (catalog storage.json): a DRAM module or an NVMe drive.
struct StorageSpec {
  std::string name;
  std::string kind; // dram | nvme
  double capacity_bytes = 0;
  double read_bandwidth = 0;  // bytes/s (0 for DRAM: the host's memory bandwidth)
  double write_bandwidth = 0; // bytes/s (0 for DRAM: the host's memory bandwidth)
  double power_w = 0;
  double price_usd = 0;
  Sources sources;
};

struct ServerSpec {
  std::string name;
  ChipSpec chip;
  int chips_per_server = 0;
  CpuSpec cpu;
  int cpus_per_server = 0;
  NicSpec nic;
  int nics_per_server = 0;
  double base_power_w = 0;    // the chassis: everything but the accelerators, NICs and CPUs, averaged over a run
  double other_capex_usd = 0; // the chassis: server price without the accelerators, NICs and CPUs
  Sources sources;

  double nic_bandwidth() const { return nic.bandwidth * nics_per_server; }
  // Share of the server's NIC bandwidth one chip drives (one NIC per chip on HGX-class servers).
  double nic_bandwidth_per_chip() const { return nic_bandwidth() / chips_per_server; }
};

} // namespace fs
