// Efficiency curves fitted by `factorysim calibrate fit` from CUDA microbenchmarks (format:
// calibration/README.md; read by sim/scenario/fitted_reader.cpp). Fitted forms, each linear in its
// coefficients so Eigen least squares fits them:
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

// The contents of a fitted.json.
struct MeasuredFit {
  std::string device;
  double peak_bw = 0; // bytes/s used as the denominator when fitting
  double mem_t0 = 0, mem_eff_inf = 1;
  std::map<Dtype, GemmFit> gemm; // bf16 always present
  double pa_a = 1, pa_b = 0;
  bool has_decode = false;
  double da_t0 = 0, da_per_seq = 0, da_per_byte = 0;
  double per_kernel_s = 3e-6;
};

class MeasuredEfficiency : public EfficiencyModel {
public:
  explicit MeasuredEfficiency(MeasuredFit fit) : f_(std::move(fit)) {}

  double compute_eff(const Op& op, Dtype dtype) const override;
  double mem_eff(double bytes) const override;
  double op_overhead_s() const override { return f_.per_kernel_s; }
  double step_overhead_s() const override; // not measurable by kernels: the datasheet default
  std::optional<double> decode_attention_s(double seqs, double kv_bytes) const override;
  std::string label() const override { return "measured:" + f_.device; }

  const std::string& device() const { return f_.device; }
  double peak_bw() const { return f_.peak_bw; }

private:
  MeasuredFit f_;
};

} // namespace fs
