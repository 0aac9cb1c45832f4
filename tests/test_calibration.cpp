// Calibration fitting (calibration/fit.hpp): recover known coefficients from synthetic samples, then run the
// whole raw-dir -> fitted.json -> MeasuredEfficiency path.
#include "catalog.hpp"
#include "efficiency_measured.hpp"
#include "fit.hpp"
#include "json_input.hpp"
#include <cmath>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

using namespace fs::calib;

namespace {

// H200 datasheet peaks.
const Peaks kPeaks{989e12, 1979e12, 4.8e12};

// The curves the synthetic data come from.
const MemFit kMem{3e-6, 0.9, {}};
const GemmCoef kGemm{1.25, 8, 50, 30, {}, 0};
const GemmCoef kGemmFp8{1.5, 16, 80, 60, {}, 0};
const DecodeAttnFit kDecode{4e-6, 1e-7, 1 / 4.0e12, {}};
const PrefillAttnFit kPrefill{1.6, 200, {}};

// Multiplies times by 1 + U(-amp, amp) from a fixed seed.
struct Noise {
  explicit Noise(double amp) : amp_(amp) {}
  double operator()() { return amp_ > 0 ? 1 + std::uniform_real_distribution<double>(-amp_, amp_)(rng_) : 1.0; }
  double amp_;
  std::mt19937 rng_{12345};
};

double rel(double got, double want) { return std::abs(got - want) / std::abs(want); }

std::vector<MemSample> mem_samples(double noise)
{
  Noise nz(noise);
  std::vector<MemSample> s;
  for (double bytes = 64 * 1024.0; bytes <= 4.0 * (1ull << 30); bytes *= 2)
    for (int op = 0; op < 2; ++op)
      s.push_back({bytes, kMem.time_s(bytes, kPeaks.hbm_bw) * nz()});
  return s;
}

GemmContext gemm_context(const MemFit& mem, double peak, double dtype_bytes)
{
  return GemmContext{peak, dtype_bytes, kPeaks.hbm_bw, mem};
}

// Time = max(compute, memory) as on a real chip; the memory-bound shapes must not disturb the fit.
std::vector<GemmSample> gemm_samples(const GemmCoef& truth, const GemmContext& cx, double noise)
{
  Noise nz(noise);
  std::vector<GemmSample> s;
  for (double m : {1.0, 16.0, 128.0, 512.0, 2048.0, 4096.0, 8192.0, 16384.0})
    for (double n : {1024.0, 2048.0, 4096.0, 8192.0, 16384.0})
      for (double k : {1024.0, 2048.0, 4096.0, 8192.0}) {
        GemmSample g{m, n, k, 2 * m * n * k, 0};
        if (cx.dtype_bytes == 1) g.bytes = m * k + n * k + 2 * m * n; // as the kit measures fp8: bf16 output
        const double tc = g.flops / (cx.peak_flops * truth.eff(m, n, k));
        const double tm = cx.mem.time_s(gemm_bytes(g, cx.dtype_bytes), cx.hbm_bw);
        g.time_s = std::max(tc, tm) * nz();
        s.push_back(g);
      }
  return s;
}

std::vector<DecodeAttnSample> decode_samples(double noise)
{
  Noise nz(noise);
  std::vector<DecodeAttnSample> s;
  for (double batch : {1.0, 4.0, 16.0, 64.0, 256.0})
    for (double ctx : {128.0, 1024.0, 8192.0, 32768.0}) {
      const double kv = batch * ctx * 8 * 128 * 2 * 2; // 8 KV heads, head_dim 128, K and V, bf16
      s.push_back({batch, kv, kDecode.time_s(batch, kv) * nz()});
    }
  return s;
}

double prefill_flops(double n, double c) { return 4 * 32 * 128 * (n * c + n * (n + 1) / 2); }

std::vector<PrefillAttnSample> prefill_samples(double noise)
{
  Noise nz(noise);
  std::vector<PrefillAttnSample> s;
  for (double n : {64.0, 256.0, 1024.0, 4096.0, 16384.0})
    for (double c : {0.0, 4096.0}) {
      const double f = prefill_flops(n, c);
      s.push_back({n, f, f / (kPeaks.bf16_flops * kPrefill.eff(n)) * nz()});
    }
  return s;
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() / ("fs_calib_" + tag + "_" + std::to_string(::getpid())))
  {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::vector<nlohmann::json>& lines) const
  {
    std::ofstream out(path / name);
    for (const auto& l : lines)
      out << l.dump() << "\n";
  }
  std::filesystem::path path;
};

nlohmann::json provenance_line()
{
  return {{"bench", "provenance"},
          {"for", "membw"},
          {"device", "NVIDIA H200"},
          {"sm_count", 132},
          {"cc", "9.0"},
          {"driver_version", 12080},
          {"runtime_version", 12060},
          {"mem_clock_khz", 3201000},
          {"sm_clock_khz", 1980000},
          {"l2_bytes", 62914560},
          {"total_mem_bytes", 150e9},
          {"hostname", "gpu-1"},
          {"date_utc", "2026-11-01T10:00:00Z"},
          {"git_commit", "abc123"}};
}

// A raw directory as the kit writes it, from the known curves (no noise).
void write_raw_dir(const TempDir& d)
{
  std::vector<nlohmann::json> membw{provenance_line(), {{"bench", "selftest"}, {"what", "membw_triad"}, {"ok", true}}};
  for (const MemSample& s : mem_samples(0)) {
    membw.push_back({{"bench", "membw"}, {"op", "copy"}, {"l2", "cold"}, {"bytes", s.bytes}, {"time_s", s.time_s}});
    membw.push_back({{"bench", "membw"}, {"op", "copy"}, {"l2", "hot"}, {"bytes", s.bytes}, {"time_s", 1e-7}});
  }
  membw.push_back({{"bench", "membw"}, {"op", "memcpy"}, {"bytes", 1e6}, {"time_s", 1e-6}});
  d.write("membw.jsonl", membw);

  std::vector<nlohmann::json> gemm{provenance_line()};
  for (auto [dtype, truth, peak, bytes] :
       {std::tuple{"bf16", kGemm, kPeaks.bf16_flops, 2.0}, std::tuple{"fp8", kGemmFp8, kPeaks.fp8_flops, 1.0}})
    for (const GemmSample& s : gemm_samples(truth, gemm_context(kMem, peak, bytes), 0)) {
      nlohmann::json l{{"bench", "gemm"}, {"dtype", dtype},   {"m", s.m},          {"n", s.n},
                       {"k", s.k},        {"flops", s.flops}, {"time_s", s.time_s}};
      if (s.bytes > 0) l["bytes"] = s.bytes;
      gemm.push_back(l);
    }
  gemm.push_back({{"bench", "gemm"}, {"dtype", "fp8"}, {"m", 3}, {"n", 5}, {"k", 7}, {"error", "not supported"}});
  gemm.push_back({{"bench", "gemm_own"}, {"dtype", "bf16"}, {"flops", 1e12}, {"time_s", 1.5e-3}});
  d.write("gemm.jsonl", gemm);

  nlohmann::json earlier = provenance_line();
  earlier["date_utc"] = "2026-11-01T09:00:00Z";
  std::vector<nlohmann::json> attn{earlier};
  for (const DecodeAttnSample& s : decode_samples(0))
    attn.push_back({{"bench", "decode_attn"}, {"batch", s.batch}, {"kv_bytes", s.kv_bytes}, {"time_s", s.time_s}});
  for (const PrefillAttnSample& s : prefill_samples(0)) // "tokens": an accepted alias of "n"
    attn.push_back({{"bench", "prefill_attn"}, {"tokens", s.n}, {"flops", s.flops}, {"time_s", s.time_s}});
  d.write("attn.jsonl", attn);

  d.write("misc.jsonl", {provenance_line(),
                         {{"bench", "launch"}, {"mode", "graph"}, {"time_per_kernel_s", 2.5e-6}},
                         {{"bench", "launch"}, {"mode", "stream"}, {"time_per_kernel_s", 4.5e-6}},
                         {{"bench", "launch"}, {"mode", "stream_sync"}, {"time_per_kernel_s", 9e-6}},
                         {{"bench", "h2d"}, {"dir", "h2d"}, {"host_mem", "pinned"}, {"bytes", 1e9}, {"time_s", 0.02}},
                         {{"bench", "h2d"}, {"dir", "d2h"}, {"bytes", 1e9}, {"time_s", 0.025}, {"gbps", 40}},
                         {{"bench", "elementwise"}, {"bytes", 1e9}, {"time_s", 1e9 / (0.8 * 4.8e12)}},
                         {{"bench", "frobnicate"}, {"x", 1}}});
}

} // namespace

TEST_CASE("calibration: residual statistics")
{
  const Residuals r = residuals({1.0, 1.1, 0.9, 1.2}, {1, 1, 1, 1});
  CHECK(r.n == 4);
  CHECK(r.median_rel_err == doctest::Approx(0.1));
  CHECK(r.p95_rel_err == doctest::Approx(0.185)); // between the 3rd (0.1) and 4th (0.2) order statistic
  CHECK(r.max_rel_err == doctest::Approx(0.2));
}

TEST_CASE("calibration: non-negative least squares")
{
  // y = 2 + 3x exactly.
  std::vector<std::vector<double>> rows;
  std::vector<double> y;
  for (double x = 0; x < 5; ++x) {
    rows.push_back({1, x});
    y.push_back(2 + 3 * x);
  }
  auto c = nonneg_least_squares(rows, y);
  CHECK(c[0] == doctest::Approx(2));
  CHECK(c[1] == doctest::Approx(3));
  // A falling line: the slope is held at 0 and the intercept is the mean.
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = 10 - double(i);
  c = nonneg_least_squares(rows, y);
  CHECK(c[1] == 0);
  CHECK(c[0] == doctest::Approx(8));
}

TEST_CASE("calibration: memory curve")
{
  const MemFit exact = fit_mem(mem_samples(0), kPeaks.hbm_bw);
  CHECK(rel(exact.t0_s, kMem.t0_s) < 1e-9);
  CHECK(rel(exact.eff_inf, kMem.eff_inf) < 1e-9);
  CHECK(exact.res.n == 34);
  CHECK(exact.res.max_rel_err < 1e-9);

  const MemFit noisy = fit_mem(mem_samples(0.01), kPeaks.hbm_bw);
  CHECK(rel(noisy.t0_s, kMem.t0_s) < 0.02);
  CHECK(rel(noisy.eff_inf, kMem.eff_inf) < 0.01);
  CHECK(noisy.res.max_rel_err < 0.025);
}

TEST_CASE("calibration: GEMM efficiency surface")
{
  const GemmContext cx = gemm_context(kMem, kPeaks.bf16_flops, 2);
  const auto exact_s = gemm_samples(kGemm, cx, 0);
  const GemmCoef exact = fit_gemm(exact_s, cx);
  CHECK(exact.fit_points >= 20);
  CHECK(exact.fit_points < int(exact_s.size())); // memory-bound and kernel-floor shapes are left out
  CHECK(rel(exact.a, kGemm.a) < 1e-6);
  CHECK(rel(exact.b, kGemm.b) < 1e-6);
  CHECK(rel(exact.c, kGemm.c) < 1e-6);
  CHECK(rel(exact.d, kGemm.d) < 1e-6);
  CHECK(exact.res.n == int(exact_s.size())); // residuals over every shape, memory-bound ones included
  CHECK(exact.res.max_rel_err < 1e-6);

  const GemmCoef noisy = fit_gemm(gemm_samples(kGemm, cx, 0.01), cx);
  CHECK(rel(noisy.a, kGemm.a) < 0.01);
  CHECK(rel(noisy.c, kGemm.c) < 0.15);
  CHECK(rel(noisy.d, kGemm.d) < 0.15);
  CHECK(noisy.b >= 0); // barely identifiable: b/m < 0.004 on compute-bound shapes
  for (double m : {2048.0, 8192.0})
    for (double n : {1024.0, 16384.0})
      for (double k : {1024.0, 8192.0})
        CHECK(rel(noisy.eff(m, n, k), kGemm.eff(m, n, k)) < 0.01);
  CHECK(noisy.res.median_rel_err < 0.01);
  CHECK(noisy.res.max_rel_err < 0.03);
}

TEST_CASE("calibration: GEMM needs compute-bound shapes")
{
  const GemmContext cx = gemm_context(kMem, kPeaks.bf16_flops, 2);
  std::vector<GemmSample> small;
  for (double m : {1.0, 8.0, 64.0})
    small.push_back({m, 4096, 4096, 2 * m * 4096 * 4096, 1e-4});
  CHECK_THROWS_AS(fit_gemm(small, cx), std::invalid_argument);
}

TEST_CASE("calibration: decode attention")
{
  const DecodeAttnFit exact = fit_decode_attn(decode_samples(0));
  CHECK(rel(exact.t0_s, kDecode.t0_s) < 1e-6);
  CHECK(rel(exact.per_seq_s, kDecode.per_seq_s) < 1e-6);
  CHECK(rel(exact.per_byte_s, kDecode.per_byte_s) < 1e-6);
  CHECK(exact.res.max_rel_err < 1e-6);

  const DecodeAttnFit noisy = fit_decode_attn(decode_samples(0.01));
  CHECK(rel(noisy.t0_s, kDecode.t0_s) < 0.05);
  CHECK(rel(noisy.per_seq_s, kDecode.per_seq_s) < 0.25);
  CHECK(rel(noisy.per_byte_s, kDecode.per_byte_s) < 0.01);
  CHECK(noisy.res.max_rel_err < 0.025);
}

TEST_CASE("calibration: prefill attention")
{
  const PrefillAttnFit exact = fit_prefill_attn(prefill_samples(0), kPeaks.bf16_flops);
  CHECK(rel(exact.a, kPrefill.a) < 1e-6);
  CHECK(rel(exact.b, kPrefill.b) < 1e-6);
  CHECK(exact.res.max_rel_err < 1e-6);

  const PrefillAttnFit noisy = fit_prefill_attn(prefill_samples(0.01), kPeaks.bf16_flops);
  CHECK(rel(noisy.a, kPrefill.a) < 0.01);
  CHECK(rel(noisy.b, kPrefill.b) < 0.1);
  CHECK(noisy.res.max_rel_err < 0.025);
}

TEST_CASE("calibration: raw directory to fitted.json to MeasuredEfficiency")
{
  TempDir d("e2e");
  write_raw_dir(d);
  const nlohmann::json j = fit_raw_dir(d.path.string(), kPeaks, "fitsha");
  CHECK(j["format"] == "factorysim-calibration-v1");
  const auto& prov = j["provenance"];
  CHECK(prov["device"] == "NVIDIA H200");
  CHECK(prov["driver_version"] == "12080"); // the kit writes an integer; the reader wants a string
  CHECK(prov["git_commit"] == "abc123");
  CHECK(prov["fit_git_commit"] == "fitsha");
  CHECK(prov["date_utc"] == "2026-11-01T09:00:00Z"); // the earliest run
  CHECK(prov["date_utc_last"] == "2026-11-01T10:00:00Z");
  CHECK(prov["raw_files"].size() == 4);
  CHECK(!prov.contains("for"));
  const auto& fits = j["fits"];
  for (const char* k : {"mem", "gemm_bf16", "gemm_fp8", "prefill_attention", "decode_attention", "launch"})
    CHECK_MESSAGE(fits.contains(k), k);
  CHECK(fits["launch"]["per_kernel_s"] == doctest::Approx(2.5e-6));
  for (const char* k : {"mem", "gemm_bf16", "gemm_fp8", "prefill_attention", "decode_attention"})
    CHECK_MESSAGE(fits[k]["residuals"]["max_rel_err"].get<double>() < 1e-6, k); // exact data
  CHECK(j["checks"]["gemm_own_peak_tflops"]["bf16"].get<double>() == doctest::Approx(1e12 / 1.5e-3 * 1e-12));
  CHECK(j["checks"]["h2d_gb_per_s"]["h2d"].get<double>() == doctest::Approx(50));
  CHECK(j["checks"]["h2d_gb_per_s"]["d2h"].get<double>() == doctest::Approx(40));
  CHECK(j["checks"]["launch_per_kernel_s"]["stream_sync"].get<double>() == doctest::Approx(9e-6));
  CHECK(j["checks"]["elementwise_eff_median"].get<double>() == doctest::Approx(0.8));
  CHECK(j["checks"]["selftests"]["passed"] == 1);
  const std::string ignored = j["ignored"].dump();
  CHECK(ignored.find("frobnicate") != std::string::npos);
  CHECK(ignored.find("hot") != std::string::npos);
  CHECK(ignored.find("memcpy") != std::string::npos);
  CHECK(ignored.find("error") != std::string::npos);

  const std::string fitted = (d.path / "fitted.json").string();
  std::ofstream(fitted) << j.dump(2);
  const fs::MeasuredEfficiency eff(fs::read_fitted_json(fitted));
  CHECK(eff.label() == "measured:NVIDIA H200");
  CHECK(eff.peak_bw() == doctest::Approx(kPeaks.hbm_bw));
  CHECK(eff.op_overhead_s() == doctest::Approx(2.5e-6));
  for (double bytes : {4096.0, 1e6, 1e8, 4e9}) {
    const double want = (bytes / kPeaks.hbm_bw) / kMem.time_s(bytes, kPeaks.hbm_bw);
    CHECK(eff.mem_eff(bytes) == doctest::Approx(want).epsilon(1e-6));
  }
  for (auto [m, n, k] :
       {std::tuple{1.0, 4096.0, 4096.0}, std::tuple{512.0, 8192.0, 1024.0}, std::tuple{8192.0, 8192.0, 8192.0}}) {
    fs::Op op{"gemm", fs::OpKind::gemm};
    op.m = m;
    op.n = n;
    op.k = k;
    CHECK(eff.compute_eff(op, fs::Dtype::bf16) == doctest::Approx(kGemm.eff(m, n, k)).epsilon(1e-6));
    CHECK(eff.compute_eff(op, fs::Dtype::fp8) == doctest::Approx(kGemmFp8.eff(m, n, k)).epsilon(1e-6));
  }
  fs::Op pa{"attention_prefill", fs::OpKind::attention_prefill};
  pa.m = 512;
  CHECK(eff.compute_eff(pa, fs::Dtype::bf16) == doctest::Approx(kPrefill.eff(512)).epsilon(1e-6));
  const double kv = 64 * 4096 * 4096.0;
  CHECK(eff.decode_attention_s(64, kv).value() == doctest::Approx(kDecode.time_s(64, kv)).epsilon(1e-6));
}

TEST_CASE("calibration: bad raw directories")
{
  auto message = [](const std::string& dir) -> std::string {
    try {
      fit_raw_dir(dir, kPeaks, "x");
    } catch (const fs::InputError& e) {
      return e.what();
    }
    return "no error";
  };
  SUBCASE("no provenance line")
  {
    TempDir d("noprov");
    d.write("membw.jsonl", {{{"bench", "membw"}, {"op", "copy"}, {"bytes", 1e6}, {"time_s", 1e-5}}});
    const std::string msg = message(d.path.string());
    CHECK(msg.find("provenance") != std::string::npos);
    CHECK(msg.find("membw.jsonl:1") != std::string::npos);
  }
  SUBCASE("provenance only")
  {
    TempDir d("provonly");
    d.write("a.jsonl", {provenance_line()});
    const std::string msg = message(d.path.string());
    CHECK(msg.find(d.path.string()) != std::string::npos);
    CHECK(msg.find("membw") != std::string::npos);
  }
  SUBCASE("no bf16 gemm")
  {
    TempDir d("nogemm");
    std::vector<nlohmann::json> lines{provenance_line()};
    for (const MemSample& s : mem_samples(0))
      lines.push_back({{"bench", "membw"}, {"op", "triad"}, {"bytes", s.bytes}, {"time_s", s.time_s}});
    d.write("membw.jsonl", lines);
    CHECK(message(d.path.string()).find("no bf16 gemm") != std::string::npos);
  }
  SUBCASE("malformed line names file:line")
  {
    TempDir d("malformed");
    d.write("membw.jsonl", {provenance_line(), {{"bench", "membw"}, {"op", "copy"}, {"bytes", 1e6}, {"time_s", 1e-5}}});
    std::ofstream(d.path / "membw.jsonl", std::ios::app) << "{\"bench\": \"membw\", oops\n";
    CHECK(message(d.path.string()).find("membw.jsonl:3: malformed JSON") != std::string::npos);
  }
  SUBCASE("bad field names file:line and key")
  {
    TempDir d("badfield");
    d.write("membw.jsonl", {provenance_line(), {{"bench", "membw"}, {"op", "copy"}, {"bytes", -1}, {"time_s", 1e-5}}});
    const std::string msg = message(d.path.string());
    CHECK(msg.find("membw.jsonl:2: bytes: expected a number > 0") != std::string::npos);
  }
  SUBCASE("two devices in one directory")
  {
    TempDir d("twodev");
    nlohmann::json other = provenance_line();
    other["device"] = "NVIDIA H100 80GB HBM3";
    d.write("a.jsonl", {provenance_line()});
    d.write("b.jsonl", {other});
    CHECK(message(d.path.string()).find("one raw directory holds the runs of one device") != std::string::npos);
  }
  SUBCASE("not a directory") { CHECK(message("/nonexistent/raw").find("not a directory") != std::string::npos); }
}
