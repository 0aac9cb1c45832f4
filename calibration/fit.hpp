// Fits the efficiency curves of models/efficiency_measured.hpp to CUDA microbenchmark results
// (kernels_cuda/, JSON lines) and writes them as fitted.json (format: calibration/README.md).
// Every fitted form is linear in its coefficients; fits minimise the squared *relative* error of the
// predicted time (rows weighted by 1/measured) with all coefficients constrained to be >= 0.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fs::calib {

// Datasheet peaks of the device (chip catalog), SI units: FLOP/s and bytes/s.
struct Peaks {
  double bf16_flops = 0, fp8_flops = 0, hbm_bw = 0;
};

// Relative errors |predicted - measured| / measured of a fit over its points.
struct Residuals {
  int n = 0;
  double median_rel_err = 0, p95_rel_err = 0, max_rel_err = 0;
};
Residuals residuals(const std::vector<double>& predicted, const std::vector<double>& measured);

// ---- samples (one benchmark point each; times are medians in seconds)
struct MemSample {
  double bytes = 0, time_s = 0; // bytes moved (read + written)
};
struct GemmSample {
  double m = 0, n = 0, k = 0, flops = 0, time_s = 0; // flops = 2mnk
  double bytes = 0; // HBM bytes the kernel moved, when the kit says (fp8 GEMMs write bf16); 0: from the shape
};
struct DecodeAttnSample {
  double batch = 0, kv_bytes = 0, time_s = 0; // one layer; kv_bytes = K and V bytes read over the batch
};
struct PrefillAttnSample {
  double n = 0, flops = 0, time_s = 0; // n = query tokens of the chunk
};

// ---- fits
// t = t0 + bytes / (peak_bw * eff_inf)
struct MemFit {
  double t0_s = 0, eff_inf = 1;
  Residuals res;
  double time_s(double bytes, double peak_bw) const { return t0_s + bytes / (peak_bw * eff_inf); }
};
MemFit fit_mem(const std::vector<MemSample>& s, double peak_bw);

// 1/eff = a + b/m + c/n + d/k, eff = flops / (peak * time).
struct GemmCoef {
  double a = 1, b = 0, c = 0, d = 0;
  Residuals res;      // over all points, predicted time = max(compute, memory) as the simulator computes it
  int fit_points = 0; // compute-bound points the coefficients were fitted on
  double eff(double m, double n, double k) const; // clamped to [1e-4, 1] like the reader
};
// Inputs a GEMM fit needs besides its samples.
struct GemmContext {
  double peak_flops = 0;  // of the dtype
  double dtype_bytes = 2; // operand and output bytes per element
  double hbm_bw = 0;      // datasheet peak
  MemFit mem;             // fitted memory curve, for the memory roofline
};
// Bytes of a GEMM: s.bytes when known, else operands read once and output written once, all in dtype_bytes.
double gemm_bytes(const GemmSample& s, double dtype_bytes);
// Compute bound: arithmetic intensity above the datasheet ridge AND the ideal compute time (flops/peak) above the
// fitted memory time, so that points whose time is the kernel floor (t0) do not distort the compute curve.
bool gemm_compute_bound(const GemmSample& s, const GemmContext& cx);
// Fits on the compute-bound samples (throws std::invalid_argument with fewer than 4); residuals over all samples.
GemmCoef fit_gemm(const std::vector<GemmSample>& s, const GemmContext& cx);

// t = t0 + per_seq * batch + per_byte * kv_bytes
struct DecodeAttnFit {
  double t0_s = 0, per_seq_s = 0, per_byte_s = 0;
  Residuals res;
  double time_s(double batch, double kv_bytes) const { return t0_s + per_seq_s * batch + per_byte_s * kv_bytes; }
};
DecodeAttnFit fit_decode_attn(const std::vector<DecodeAttnSample>& s);

// 1/eff = a + b/n, eff = flops / (bf16 peak * time)
struct PrefillAttnFit {
  double a = 1, b = 0;
  Residuals res;
  double eff(double n) const; // clamped like the reader
};
PrefillAttnFit fit_prefill_attn(const std::vector<PrefillAttnSample>& s, double peak_bf16);

// Least squares min |A x - y| subject to x >= 0, exact for the few (<= 8) columns used here.
std::vector<double> nonneg_least_squares(const std::vector<std::vector<double>>& rows, const std::vector<double>& y);

// ---- raw directory
// Everything read from calibration/<device>/raw/*.jsonl.
struct RawData {
  std::string dir;
  std::vector<std::string> files;                      // file names, sorted
  nlohmann::json provenance;                           // first file's provenance (no "bench"); date range of all
  std::vector<MemSample> mem;                          // membw copy and triad
  std::map<std::string, std::vector<GemmSample>> gemm; // by dtype: "bf16", "fp8"
  std::vector<DecodeAttnSample> decode;
  std::vector<PrefillAttnSample> prefill;
  std::vector<MemSample> elementwise;
  std::map<std::string, std::vector<double>> launch_s; // per-kernel times by mode (graph, stream, ...)
  std::map<std::string, double> gemm_own_tflops;       // best per dtype
  std::map<std::string, double> h2d_gb_per_s;          // best per direction
  int selftests_passed = 0;
  std::vector<std::string> selftests_failed;
  std::vector<std::string> ignored; // what was skipped and why
};
// Reads and validates the raw files; throws fs::InputError naming file:line for malformed lines and the
// directory for missing data (no .jsonl files, no provenance, no membw, no bf16 gemm).
RawData read_raw_dir(const std::string& raw_dir);

// Fits what `raw` holds; the result is what sim/scenario/fitted_reader.cpp reads.
nlohmann::json fit_raw(const RawData& raw, const Peaks& peaks, const std::string& git_commit);
// read_raw_dir + fit_raw. `git_commit` is the commit of the fitting code (the raw data names its own).
nlohmann::json fit_raw_dir(const std::string& raw_dir, const Peaks& peaks, const std::string& git_commit);

} // namespace fs::calib
