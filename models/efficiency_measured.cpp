#include "efficiency_measured.hpp"
#include "efficiency_datasheet.hpp"
#include "json_input.hpp"
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

MeasuredEfficiency::MeasuredEfficiency(const std::string& path)
{
  const Json j = read_json_file(path);
  JsonNode root(j, path);
  root.string("format", "");
  JsonNode prov = root.at("provenance");
  device_ = prov.string("device");
  prov.string("driver_version"); // required: measured data must say what it ran on
  prov.keys();
  JsonNode peaks = root.at("peaks");
  peak_bw_ = peaks.positive("hbm_tb_per_s") * 1e12;
  peaks.keys();
  JsonNode fits = root.at("fits");
  JsonNode mem = fits.at("mem");
  mem_t0_ = mem.non_negative("t0_s", 0);
  mem_eff_inf_ = clamp_eff(mem.positive("eff_inf"));
  mem.keys();
  for (auto [key, dt] : {std::pair{"gemm_bf16", Dtype::bf16}, std::pair{"gemm_fp8", Dtype::fp8}}) {
    if (auto g = fits.get(key)) {
      gemm_[dt] = GemmFit{g->number("a"), g->number("b"), g->number("c"), g->number("d")};
      g->keys();
    }
  }
  if (!gemm_.count(Dtype::bf16)) fits.fail("gemm_bf16", "missing required key");
  if (auto pa = fits.get("prefill_attention")) {
    pa_a_ = pa->number("a");
    pa_b_ = pa->number("b");
    pa->keys();
  } else {
    pa_a_ = 1.0 / DatasheetEfficiency::attention_eff;
  }
  if (auto da = fits.get("decode_attention")) {
    has_decode_ = true;
    da_t0_ = da->number("t0_s");
    da_per_seq_ = da->number("per_seq_s");
    da_per_byte_ = da->number("per_byte_s");
    da->keys();
  }
  if (auto l = fits.get("launch")) {
    per_kernel_s_ = l->non_negative("per_kernel_s", per_kernel_s_);
    l->keys();
  }
  fits.keys();
  root.keys();
}

double MeasuredEfficiency::compute_eff(const Op& op, Dtype dtype) const
{
  switch (op.kind) {
  case OpKind::gemm: {
    auto it = gemm_.find(dtype);
    const GemmFit& f = it != gemm_.end() ? it->second : gemm_.at(Dtype::bf16);
    return f.eff(op.m, op.n, op.k);
  }
  case OpKind::attention_prefill:
  case OpKind::attention_decode: {
    const double inv = pa_a_ + pa_b_ / std::max(op.m, 1.0);
    return clamp_eff(inv > 0 ? 1.0 / inv : 1.0);
  }
  default:
    return gemm_.at(Dtype::bf16).eff(op.m, op.n, op.k);
  }
}

double MeasuredEfficiency::mem_eff(double bytes) const
{
  if (bytes <= 0) return mem_eff_inf_;
  const double t = mem_t0_ + bytes / (peak_bw_ * mem_eff_inf_);
  return clamp_eff((bytes / peak_bw_) / t);
}

double MeasuredEfficiency::step_overhead_s() const { return DatasheetEfficiency::step_overhead; }

std::optional<double> MeasuredEfficiency::decode_attention_s(double seqs, double kv_bytes) const
{
  if (!has_decode_) return std::nullopt;
  return std::max(0.0, da_t0_ + da_per_seq_ * seqs + da_per_byte_ * kv_bytes);
}

} // namespace fs
