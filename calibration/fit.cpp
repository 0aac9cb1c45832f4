// The least-squares fits of calibration/fit.hpp.
#include "fit.hpp"
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fs::calib {

namespace {

// Same clamp as models/efficiency_measured.cpp, so residuals describe what the simulator will predict.
double clamp_eff(double e) { return std::clamp(e, 1e-4, 1.0); }

double eff_from_inverse(double inv) { return clamp_eff(inv > 0 ? 1.0 / inv : 1.0); }

void require_points(size_t have, size_t need, const char* what)
{
  if (have < need)
    throw std::invalid_argument(std::string(what) + ": need at least " + std::to_string(need) + " points, got " +
                                std::to_string(have));
}

// Fits y = sum_j x_j * rows[j] minimising the relative error (each row divided by its y).
std::vector<double> fit_relative(std::vector<std::vector<double>> rows, std::vector<double> y)
{
  for (size_t i = 0; i < y.size(); ++i) {
    if (!(y[i] > 0) || !std::isfinite(y[i])) throw std::invalid_argument("fit target must be finite and > 0");
    for (double& v : rows[i])
      v /= y[i];
    y[i] = 1;
  }
  return nonneg_least_squares(rows, y);
}

} // namespace

Residuals residuals(const std::vector<double>& predicted, const std::vector<double>& measured)
{
  if (predicted.size() != measured.size())
    throw std::invalid_argument("residuals: predicted and measured differ in size");
  Residuals r;
  r.n = int(measured.size());
  if (r.n == 0) return r;
  std::vector<double> e(measured.size());
  for (size_t i = 0; i < e.size(); ++i)
    e[i] = std::abs(predicted[i] - measured[i]) / measured[i];
  std::sort(e.begin(), e.end());
  // Linear interpolation between order statistics.
  auto quantile = [&](double q) {
    const double pos = q * double(e.size() - 1);
    const size_t lo = size_t(pos);
    const size_t hi = std::min(lo + 1, e.size() - 1);
    return e[lo] + (pos - double(lo)) * (e[hi] - e[lo]);
  };
  r.median_rel_err = quantile(0.5);
  r.p95_rel_err = quantile(0.95);
  r.max_rel_err = e.back();
  return r;
}

// The constrained optimum is the unconstrained optimum on its own support, so trying every support (2^p with
// p <= 4 here) and keeping the best feasible one is exact. Columns are scaled to unit norm first: they span
// many decades (1 vs bytes).
std::vector<double> nonneg_least_squares(const std::vector<std::vector<double>>& rows, const std::vector<double>& y)
{
  const Eigen::Index n = Eigen::Index(rows.size());
  const Eigen::Index p = rows.empty() ? 0 : Eigen::Index(rows[0].size());
  if (p == 0 || p > 8 || Eigen::Index(y.size()) != n)
    throw std::invalid_argument("nonneg_least_squares: bad dimensions");
  Eigen::MatrixXd A(n, p);
  Eigen::VectorXd b(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    if (Eigen::Index(rows[size_t(i)].size()) != p) throw std::invalid_argument("nonneg_least_squares: ragged rows");
    for (Eigen::Index j = 0; j < p; ++j)
      A(i, j) = rows[size_t(i)][size_t(j)];
    b(i) = y[size_t(i)];
  }
  Eigen::VectorXd scale(p);
  for (Eigen::Index j = 0; j < p; ++j) {
    const double nrm = A.col(j).norm();
    scale(j) = nrm > 0 ? 1.0 / nrm : 1.0;
    A.col(j) *= scale(j);
  }
  double best = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_x = Eigen::VectorXd::Zero(p);
  for (unsigned mask = 0; mask < (1u << p); ++mask) {
    std::vector<Eigen::Index> cols;
    for (Eigen::Index j = 0; j < p; ++j)
      if (mask & (1u << j)) cols.push_back(j);
    Eigen::VectorXd x = Eigen::VectorXd::Zero(p);
    if (!cols.empty()) {
      Eigen::MatrixXd S(n, Eigen::Index(cols.size()));
      for (size_t c = 0; c < cols.size(); ++c)
        S.col(Eigen::Index(c)) = A.col(cols[c]);
      const Eigen::VectorXd xs = S.colPivHouseholderQr().solve(b);
      bool feasible = true;
      for (size_t c = 0; c < cols.size(); ++c) {
        if (!std::isfinite(xs(Eigen::Index(c))) || xs(Eigen::Index(c)) < 0) feasible = false;
        x(cols[c]) = xs(Eigen::Index(c));
      }
      if (!feasible) continue;
    }
    const double r = (A * x - b).squaredNorm();
    if (r < best * (1 - 1e-12)) { // strict improvement: ties keep the smaller support
      best = r;
      best_x = x;
    }
  }
  std::vector<double> out(static_cast<size_t>(p));
  for (Eigen::Index j = 0; j < p; ++j)
    out[size_t(j)] = best_x(j) * scale(j);
  return out;
}

MemFit fit_mem(const std::vector<MemSample>& s, double peak_bw)
{
  require_points(s.size(), 2, "mem fit");
  if (!(peak_bw > 0)) throw std::invalid_argument("mem fit: peak bandwidth must be > 0");
  std::vector<std::vector<double>> rows;
  std::vector<double> y;
  for (const MemSample& p : s) {
    rows.push_back({1.0, p.bytes});
    y.push_back(p.time_s);
  }
  const std::vector<double> x = fit_relative(rows, y);
  if (!(x[1] > 0)) throw std::invalid_argument("mem fit: time does not grow with bytes");
  MemFit f;
  f.t0_s = x[0];
  f.eff_inf = 1.0 / (x[1] * peak_bw);
  std::vector<double> pred;
  for (const MemSample& p : s)
    pred.push_back(f.time_s(p.bytes, peak_bw));
  f.res = residuals(pred, y);
  return f;
}

double GemmCoef::eff(double m, double n, double k) const
{
  return eff_from_inverse(a + b / std::max(m, 1.0) + c / std::max(n, 1.0) + d / std::max(k, 1.0));
}

double gemm_bytes(const GemmSample& s, double dtype_bytes)
{
  return s.bytes > 0 ? s.bytes : (s.m * s.k + s.k * s.n + s.m * s.n) * dtype_bytes;
}

bool gemm_compute_bound(const GemmSample& s, const GemmContext& cx)
{
  const double bytes = gemm_bytes(s, cx.dtype_bytes);
  const double ridge = cx.peak_flops / cx.hbm_bw;
  return s.flops / bytes > ridge && s.flops / cx.peak_flops > cx.mem.time_s(bytes, cx.hbm_bw);
}

GemmCoef fit_gemm(const std::vector<GemmSample>& s, const GemmContext& cx)
{
  if (!(cx.peak_flops > 0) || !(cx.hbm_bw > 0)) throw std::invalid_argument("gemm fit: peaks must be > 0");
  std::vector<std::vector<double>> rows;
  std::vector<double> y;
  for (const GemmSample& p : s) {
    if (!gemm_compute_bound(p, cx)) continue;
    rows.push_back({1.0, 1.0 / p.m, 1.0 / p.n, 1.0 / p.k});
    y.push_back(cx.peak_flops * p.time_s / p.flops); // 1/eff
  }
  require_points(y.size(), 4, "gemm fit (compute-bound shapes)");
  const std::vector<double> x = fit_relative(rows, y);
  GemmCoef g;
  g.a = x[0];
  g.b = x[1];
  g.c = x[2];
  g.d = x[3];
  g.fit_points = int(y.size());
  std::vector<double> pred, meas;
  for (const GemmSample& p : s) {
    const double tc = p.flops / (cx.peak_flops * g.eff(p.m, p.n, p.k));
    // bytes / (bw * mem_eff(bytes)) of the reader is the fitted memory time itself.
    const double tm = cx.mem.time_s(gemm_bytes(p, cx.dtype_bytes), cx.hbm_bw);
    pred.push_back(std::max(tc, tm));
    meas.push_back(p.time_s);
  }
  g.res = residuals(pred, meas);
  return g;
}

DecodeAttnFit fit_decode_attn(const std::vector<DecodeAttnSample>& s)
{
  require_points(s.size(), 3, "decode attention fit");
  std::vector<std::vector<double>> rows;
  std::vector<double> y;
  for (const DecodeAttnSample& p : s) {
    rows.push_back({1.0, p.batch, p.kv_bytes});
    y.push_back(p.time_s);
  }
  const std::vector<double> x = fit_relative(rows, y);
  DecodeAttnFit f{x[0], x[1], x[2], {}};
  std::vector<double> pred;
  for (const DecodeAttnSample& p : s)
    pred.push_back(f.time_s(p.batch, p.kv_bytes));
  f.res = residuals(pred, y);
  return f;
}

double PrefillAttnFit::eff(double n) const { return eff_from_inverse(a + b / std::max(n, 1.0)); }

PrefillAttnFit fit_prefill_attn(const std::vector<PrefillAttnSample>& s, double peak_bf16)
{
  require_points(s.size(), 2, "prefill attention fit");
  if (!(peak_bf16 > 0)) throw std::invalid_argument("prefill attention fit: peak must be > 0");
  std::vector<std::vector<double>> rows;
  std::vector<double> y;
  for (const PrefillAttnSample& p : s) {
    rows.push_back({1.0, 1.0 / p.n});
    y.push_back(peak_bf16 * p.time_s / p.flops);
  }
  const std::vector<double> x = fit_relative(rows, y);
  PrefillAttnFit f{x[0], x[1], {}};
  std::vector<double> pred, meas;
  for (const PrefillAttnSample& p : s) {
    pred.push_back(p.flops / (peak_bf16 * f.eff(p.n)));
    meas.push_back(p.time_s);
  }
  f.res = residuals(pred, meas);
  return f;
}

} // namespace fs::calib
