#pragma once
#include "efficiency.hpp"

namespace fs {

// Documented defaults used when a chip has no calibration data. Each constant says where it comes from.
class DatasheetEfficiency : public EfficiencyModel {
public:
  // Large bf16 GEMMs: estimate 0.80 of the dense peak on Hopper (a development run on an H200 on 2026-10-28 gave
  // 788 of 989 TFLOP/s for 8192^3; not in calibration/ because its provenance was not recorded).
  // Small dimensions under-fill tensor-core tiles; M/(M+16) is an assumed roll-off.
  static constexpr double gemm_eff_max = 0.80;
  // Large FP8 GEMMs reach a smaller share of their (twice as high) peak: DeepGEMM's default 128x128 tiles run a
  // 4096x7168x16384 FP8 GEMM at 1,404 of 1,979 TFLOP/s on an H800 SXM (H100 SXM's SMs and clocks;
  // deepseek-ai/DeepGEMM PR #73), 0.71 (bf16: ~0.80; FP8 is harder to keep fed and power-limits the clocks).
  static constexpr double fp8_gemm_eff_max = 0.71;
  static constexpr double gemm_m_half = 16;
  // FlashAttention-2/3 forward reaches ~50-75% of peak on H100 (Dao 2023; Shah et al. 2024): 0.55 assumed.
  static constexpr double attention_eff = 0.55;
  // Device copy: estimate 0.85 of the datasheet bandwidth (the same development run reached ~4.3 of 4.8 TB/s,
  // 0.90, for a streaming copy; 0.85 allows for irregular access). Half efficiency at 1 MiB: a kernel needs
  // ~1 us to ramp (assumed).
  static constexpr double mem_eff_max = 0.85;
  static constexpr double mem_half_bytes = 1 << 20;
  // Kernel launch + tail with CUDA graphs: ~2-4 us per kernel (estimate, common vLLM/TensorRT-LLM profiles).
  static constexpr double kernel_overhead = 3e-6;
  // Scheduler, sampling and input preparation per engine step: ~1-3 ms in vLLM v0.6+ (estimate).
  static constexpr double step_overhead = 1.5e-3;

  double compute_eff(const Op& op, Dtype dtype) const override;
  double mem_eff(double bytes) const override { return mem_eff_max * bytes / (bytes + mem_half_bytes); }
  double op_overhead_s() const override { return kernel_overhead; }
  double step_overhead_s() const override { return step_overhead; }
  std::string label() const override { return "datasheet"; }
};

} // namespace fs
