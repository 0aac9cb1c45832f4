// Turning raw calibration data into fitted.json (the file sim/scenario/fitted_reader.cpp reads).
#include "fit.hpp"
#include "json_input.hpp"
#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace fs::calib {

namespace {

constexpr const char* kFormat = "factorysim-calibration-v1";

std::string utc_now()
{
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

nlohmann::json to_json(const Residuals& r)
{
  return {
      {"n", r.n}, {"median_rel_err", r.median_rel_err}, {"p95_rel_err", r.p95_rel_err}, {"max_rel_err", r.max_rel_err}};
}

// The kit writes versions as integers (cudaDriverGetVersion); the reader wants strings.
void stringify(nlohmann::json& prov, const char* key)
{
  if (prov.contains(key) && !prov[key].is_string()) prov[key] = prov[key].dump();
}

nlohmann::json provenance(const RawData& raw, const std::string& git_commit)
{
  nlohmann::json p = raw.provenance;
  stringify(p, "driver_version");
  stringify(p, "runtime_version");
  p["fitted_utc"] = utc_now();
  p["fit_git_commit"] = git_commit;
  p["raw_files"] = raw.files;
  return p;
}

} // namespace

nlohmann::json fit_raw(const RawData& raw, const Peaks& peaks, const std::string& git_commit)
{
  const std::string& dir = raw.dir;
  if (!(peaks.bf16_flops > 0) || !(peaks.hbm_bw > 0))
    throw InputError(dir + ": the chip's bf16 peak and HBM bandwidth must be known (> 0) to fit efficiencies");
  std::vector<std::string> ignored = raw.ignored;
  nlohmann::json fits = nlohmann::json::object();

  // Memory. A cold-L2 point faster than the datasheet HBM peak was served by a cache: not HBM.
  std::vector<MemSample> mem;
  for (const MemSample& s : raw.mem)
    if (s.bytes / s.time_s <= peaks.hbm_bw) mem.push_back(s);
  if (mem.size() < raw.mem.size())
    ignored.push_back("membw: " + std::to_string(raw.mem.size() - mem.size()) +
                      " points faster than the datasheet HBM bandwidth (cache hits) left out");
  MemFit mf;
  try {
    mf = fit_mem(mem, peaks.hbm_bw);
  } catch (const std::invalid_argument& e) {
    throw InputError(dir + ": membw: " + e.what());
  }
  fits["mem"] = {{"model", "t = t0 + bytes/(peak_bw*eff_inf)"},
                 {"t0_s", mf.t0_s},
                 {"eff_inf", mf.eff_inf},
                 {"residuals", to_json(mf.res)}};

  // GEMM per dtype; bf16 is required, fp8 optional.
  for (const auto& [dtype, samples] : raw.gemm) {
    GemmContext cx;
    cx.peak_flops = dtype == "fp8" ? peaks.fp8_flops : peaks.bf16_flops;
    cx.dtype_bytes = dtype == "fp8" ? 1 : 2;
    cx.hbm_bw = peaks.hbm_bw;
    cx.mem = mf;
    if (!(cx.peak_flops > 0)) {
      ignored.push_back("gemm " + dtype + ": the chip has no " + dtype + " peak; not fitted");
      continue;
    }
    GemmCoef g;
    try {
      g = fit_gemm(samples, cx);
    } catch (const std::invalid_argument& e) {
      if (dtype == "bf16")
        throw InputError(dir + ": gemm bf16: " + e.what() + " (a shape is compute bound when flops/peak exceeds " +
                         "the fitted memory time: add larger shapes)");
      ignored.push_back("gemm " + dtype + ": " + e.what() + "; not fitted");
      continue;
    }
    fits["gemm_" + dtype] = {{"model", "1/eff = a + b/m + c/n + d/k"},
                             {"a", g.a},
                             {"b", g.b},
                             {"c", g.c},
                             {"d", g.d},
                             {"fit_points", g.fit_points},
                             {"residuals", to_json(g.res)}};
  }

  if (!raw.prefill.empty()) {
    try {
      const PrefillAttnFit f = fit_prefill_attn(raw.prefill, peaks.bf16_flops);
      fits["prefill_attention"] = {{"model", "1/eff = a + b/n (n = query tokens of the chunk)"},
                                   {"a", f.a},
                                   {"b", f.b},
                                   {"residuals", to_json(f.res)}};
    } catch (const std::invalid_argument& e) {
      ignored.push_back(std::string("prefill_attn: ") + e.what() + "; not fitted");
    }
  }
  if (!raw.decode.empty()) {
    try {
      const DecodeAttnFit f = fit_decode_attn(raw.decode);
      fits["decode_attention"] = {{"model", "t = t0 + per_seq*batch + per_byte*kv_bytes (one layer)"},
                                  {"t0_s", f.t0_s},
                                  {"per_seq_s", f.per_seq_s},
                                  {"per_byte_s", f.per_byte_s},
                                  {"residuals", to_json(f.res)}};
    } catch (const std::invalid_argument& e) {
      ignored.push_back(std::string("decode_attn: ") + e.what() + "; not fitted");
    }
  }
  // Graph replay is how engines launch decode steps; stream launches are a check only.
  if (auto it = raw.launch_s.find("graph"); it != raw.launch_s.end())
    fits["launch"] = {{"per_kernel_s", median(it->second)}};

  nlohmann::json checks = nlohmann::json::object();
  if (!raw.gemm_own_tflops.empty()) checks["gemm_own_peak_tflops"] = raw.gemm_own_tflops;
  nlohmann::json best = nlohmann::json::object();
  for (const auto& [dtype, samples] : raw.gemm) {
    double b = 0;
    for (const GemmSample& s : samples)
      b = std::max(b, s.flops / s.time_s * 1e-12);
    best[dtype] = b;
  }
  checks["gemm_best_tflops"] = best;
  double best_bw = 0;
  for (const MemSample& s : mem)
    best_bw = std::max(best_bw, s.bytes / s.time_s);
  checks["membw_best_tb_per_s"] = best_bw * 1e-12;
  if (!raw.h2d_gb_per_s.empty()) checks["h2d_gb_per_s"] = raw.h2d_gb_per_s;
  if (!raw.elementwise.empty()) {
    // The simulator times norms and activations with the memory curve: how well does it predict them?
    std::vector<double> eff, pred, meas;
    for (const MemSample& s : raw.elementwise) {
      eff.push_back(s.bytes / (s.time_s * peaks.hbm_bw));
      pred.push_back(mf.time_s(s.bytes, peaks.hbm_bw));
      meas.push_back(s.time_s);
    }
    checks["elementwise_eff_median"] = median(eff);
    checks["elementwise_vs_mem_fit"] = to_json(residuals(pred, meas));
  }
  if (!raw.launch_s.empty()) {
    nlohmann::json l;
    for (const auto& [mode, t] : raw.launch_s)
      l[mode] = median(t);
    checks["launch_per_kernel_s"] = l;
  }
  checks["selftests"] = {{"passed", raw.selftests_passed}, {"failed", raw.selftests_failed}};

  nlohmann::json pk = {{"bf16_tflops", peaks.bf16_flops * 1e-12}, {"hbm_tb_per_s", peaks.hbm_bw * 1e-12}};
  if (peaks.fp8_flops > 0) pk["fp8_tflops"] = peaks.fp8_flops * 1e-12;
  nlohmann::json out;
  out["format"] = kFormat;
  out["provenance"] = provenance(raw, git_commit);
  out["peaks"] = pk;
  out["fits"] = fits;
  out["checks"] = checks;
  out["ignored"] = ignored;
  return out;
}

nlohmann::json fit_raw_dir(const std::string& raw_dir, const Peaks& peaks, const std::string& git_commit)
{
  return fit_raw(read_raw_dir(raw_dir), peaks, git_commit);
}

} // namespace fs::calib
