#include "efficiency_measured.hpp"
#include "efficiency_datasheet.hpp"
#include <algorithm>

namespace fs {

namespace {
double clamp_eff(double e) { return std::clamp(e, 1e-4, 1.0); }
} // namespace

double GemmFit::eff(double m, double n, double k) const
{
  const double inv = a + b / std::max(m, 1.0) + c / std::max(n, 1.0) + d / std::max(k, 1.0);
  return clamp_eff(inv > 0 ? 1.0 / inv : 1.0);
}

double MeasuredEfficiency::compute_eff(const Op& op, Dtype dtype) const
{
  switch (op.kind) {
  case OpKind::gemm: {
    auto it = f_.gemm.find(dtype);
    const GemmFit& g = it != f_.gemm.end() ? it->second : f_.gemm.at(Dtype::bf16);
    return g.eff(op.m, op.n, op.k);
  }
  case OpKind::attention_prefill:
  case OpKind::attention_decode: {
    const double inv = f_.pa_a + f_.pa_b / std::max(op.m, 1.0);
    return clamp_eff(inv > 0 ? 1.0 / inv : 1.0);
  }
  default:
    return f_.gemm.at(Dtype::bf16).eff(op.m, op.n, op.k);
  }
}

double MeasuredEfficiency::mem_eff(double bytes) const
{
  if (bytes <= 0) return clamp_eff(f_.mem_eff_inf);
  const double t = f_.mem_t0 + bytes / (f_.peak_bw * f_.mem_eff_inf);
  return clamp_eff((bytes / f_.peak_bw) / t);
}

double MeasuredEfficiency::step_overhead_s() const { return DatasheetEfficiency::step_overhead; }

std::optional<double> MeasuredEfficiency::decode_attention_s(double seqs, double kv_bytes) const
{
  if (!f_.has_decode) return std::nullopt;
  return std::max(0.0, f_.da_t0 + f_.da_per_seq * seqs + f_.da_per_byte * kv_bytes);
}

} // namespace fs
