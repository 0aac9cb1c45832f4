// Efficiency curves fitted by `factorysim calibrate fit` from CUDA microbenchmarks (format:
// calibration/README.md). Fitted forms, each linear in its coefficients so Eigen least squares fits them:
//   memory:  t(bytes) = t0 + bytes / (peak_bw * eff_inf)             -> mem_eff = (bytes/peak_bw) / t
//   GEMM:    1 / eff(m, n, k) = a + b/m + c/n + d/k                  (per dtype)
//   prefill attention: 1 / eff(n) = a + b/n                          (n = query tokens of the chunk)
//   decode attention:  t = t0 + per_seq * seqs + kv_bytes * per_byte  (one layer)
#pragma once
#include "efficiency.hpp"
#include <map>

namespace fs {

struct GemmFit {
  double a = 1, b = 0, c = 0, d = 0;
  double eff(double m, double n, double k) const;
};

class MeasuredEfficiency : public EfficiencyModel {
public:
  explicit MeasuredEfficiency(const std::string& fitted_json_path);

  double compute_eff(const Op& op, Dtype dtype) const override;
  double mem_eff(double bytes) const override;
  double op_overhead_s() const override { return per_kernel_s_; }
  double step_overhead_s() const override; // not measurable by kernels: the datasheet default
  std::optional<double> decode_attention_s(double seqs, double kv_bytes) const override;
  std::string label() const override { return "measured:" + device_; }

  const std::string& device() const { return device_; }
  double peak_bw() const { return peak_bw_; }

private:
  std::string device_;
  double peak_bw_ = 0; // bytes/s used as the denominator when fitting
  double mem_t0_ = 0, mem_eff_inf_ = 1;
  std::map<Dtype, GemmFit> gemm_;
  double pa_a_ = 1, pa_b_ = 0;
  bool has_decode_ = false;
  double da_t0_ = 0, da_per_seq_ = 0, da_per_byte_ = 0;
  double per_kernel_s_ = 3e-6;
};

} // namespace fs
