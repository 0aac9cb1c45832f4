// Reading calibration/<device>/fitted.json into the pure MeasuredFit the measured efficiency model uses.
#include "catalog.hpp"
#include "efficiency_datasheet.hpp"
#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace fs {

std::string project_file(const std::string& path)
{
  namespace stdfs = std::filesystem;
  if (path.empty() || stdfs::path(path).is_absolute() || stdfs::exists(path)) return path;
#ifdef FACTORYSIM_SOURCE_DIR
  if (const stdfs::path p = stdfs::path(FACTORYSIM_SOURCE_DIR) / path; stdfs::exists(p)) return p.string();
#endif
  if (const char* home = std::getenv("FACTORYSIM_HOME"))
    if (const stdfs::path p = stdfs::path(home) / path; stdfs::exists(p)) return p.string();
  return path;
}

MeasuredFit read_fitted_json(const std::string& path)
{
  const Json j = read_json_file(path);
  JsonNode root(j, path);
  root.expect_object();
  MeasuredFit f;
  root.string("format", "");
  JsonNode prov = root.at("provenance");
  f.device = prov.string("device");
  prov.string("driver_version"); // required: measured data must say what it ran on
  prov.keys();
  JsonNode peaks = root.at("peaks");
  f.peak_bw = peaks.positive("hbm_tb_per_s") * 1e12;
  peaks.keys();
  JsonNode fits = root.at("fits");
  JsonNode mem = fits.at("mem");
  f.mem_t0 = mem.non_negative("t0_s", 0);
  f.mem_eff_inf = std::clamp(mem.positive("eff_inf"), 1e-4, 1.0);
  mem.keys();
  for (auto [key, dt] : {std::pair{"gemm_bf16", Dtype::bf16}, std::pair{"gemm_fp8", Dtype::fp8}}) {
    if (auto g = fits.get(key)) {
      f.gemm[dt] = GemmFit{g->number("a"), g->number("b"), g->number("c"), g->number("d")};
      g->keys();
    }
  }
  if (!f.gemm.count(Dtype::bf16)) fits.fail("gemm_bf16", "missing required key");
  if (auto pa = fits.get("prefill_attention")) {
    f.pa_a = pa->number("a");
    f.pa_b = pa->number("b");
    pa->keys();
  } else {
    f.pa_a = 1.0 / DatasheetEfficiency::attention_eff;
  }
  if (auto da = fits.get("decode_attention")) {
    f.has_decode = true;
    f.da_t0 = da->number("t0_s");
    f.da_per_seq = da->number("per_seq_s");
    f.da_per_byte = da->number("per_byte_s");
    da->keys();
  }
  if (auto l = fits.get("launch")) {
    f.per_kernel_s = l->non_negative("per_kernel_s", f.per_kernel_s);
    l->keys();
  }
  fits.keys();
  root.keys();
  return f;
}

} // namespace fs
