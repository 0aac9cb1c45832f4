// Fitting a runnable workload to a trace (`factorysim workload fit`): empirical length distributions, and a Poisson
// or Gamma arrival process at the trace's rate, along a rate curve when its rate varies. The rules are in
// docs/design.md, "Fitted workloads".
#include "workload.hpp"
#include <algorithm>
#include <cmath>
#include <numeric>

namespace fs {

namespace {

constexpr int max_bins = 60;          // of the rate curve: minutes of an hour-long trace
constexpr int arrivals_per_bin = 200; // at least, on average: Poisson noise of 7% a bin at most
constexpr double cv_margin = 0.1;     // |CV - 1| beyond this (or 3 standard errors) makes the process Gamma

// Linear interpolation between closest ranks (numpy's default) of sorted values.
double quantile(const std::vector<double>& sorted, double f)
{
  const double pos = f * double(sorted.size() - 1);
  const size_t lo = size_t(pos), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - double(lo));
}

double mean(const std::vector<double>& xs) { return std::accumulate(xs.begin(), xs.end(), 0.0) / double(xs.size()); }

double cv(const std::vector<double>& xs)
{
  const double m = mean(xs);
  double var = 0;
  for (double x : xs)
    var += (x - m) * (x - m);
  return m > 0 ? std::sqrt(var / double(xs.size())) / m : 0;
}

std::vector<double> gaps(const std::vector<double>& times)
{
  std::vector<double> g;
  for (size_t i = 1; i < times.size(); ++i)
    g.push_back(times[i] - times[i - 1]);
  return g;
}

// One length column: the empirical distribution (101 quantiles) for the workload, statistics for the report.
std::pair<Json, Json> fit_lengths(const std::vector<TraceRow>& rows, bool input_column)
{
  std::vector<double> v;
  for (const TraceRow& r : rows)
    v.push_back(double(std::max(1L, input_column ? r.input : r.output))); // as requests read them
  std::sort(v.begin(), v.end());
  std::vector<double> q;
  for (int k = 0; k <= 100; ++k)
    q.push_back(quantile(v, k / 100.0));
  // A straight line from p99 to the largest value would weigh the top percent by one outlier (+3.5% on the mean
  // prompt of the Azure conversation trace): end it where the top percent keeps its mean instead.
  const size_t top = size_t(std::ceil(0.99 * double(v.size() - 1)));
  const double top_mean = std::accumulate(v.begin() + long(top), v.end(), 0.0) / double(v.size() - top);
  q[100] = std::clamp(2 * top_mean - q[99], q[99], v.back());
  for (double& x : q)
    x = std::round(x * 10) / 10;
  const LognormalFit ln = fit_lognormal(rows, input_column);
  const Json report = {{"mean", mean(v)},
                       {"median", quantile(v, 0.5)},
                       {"p90", quantile(v, 0.9)},
                       {"p99", quantile(v, 0.99)},
                       {"max", v.back()},
                       {"lognormal", {{"type", "lognormal"}, {"mu", ln.mu}, {"sigma", ln.sigma}, {"max", ln.max}}}};
  return {{{"type", "empirical"}, {"quantiles", q}}, report};
}

} // namespace

Json fit_workload(const std::vector<TraceRow>& rows, const std::string& name)
{
  const double span = rows.empty() ? 0 : rows.back().t - rows.front().t;
  if (!(span > 0)) throw InputError(name + ": a fit needs arrivals at two different times at least");
  std::vector<double> times;
  for (const TraceRow& r : rows)
    times.push_back(r.t - rows.front().t);
  const double n = double(rows.size()), qps = n / span, raw_cv = cv(gaps(times));

  // Rate curve: bin counts more dispersed than the process's own burstiness explains (a renewal process with gap
  // CV c has count variance ~ c^2 x mean) by more than ~3 standard deviations of the dispersion index.
  const int bins = std::clamp(int(rows.size()) / arrivals_per_bin, 1, max_bins);
  Json curve_report = {{"bins", bins}, {"emitted", false}};
  RateCurve curve;
  double fitted_cv = raw_cv;
  if (bins >= 2) {
    std::vector<double> counts(size_t(bins), 0.0);
    for (double t : times)
      counts[std::min(size_t(bins - 1), size_t(t / span * bins))] += 1;
    const double m = n / bins, dispersion = std::pow(cv(counts), 2) * m;
    const double threshold = std::max(1.0, raw_cv * raw_cv) * (1 + 3.1 * std::sqrt(2.0 / (bins - 1)));
    curve_report.update({{"bin_s", span / bins}, {"dispersion", dispersion}, {"threshold", threshold}});
    if (dispersion > threshold) {
      for (double& c : counts)
        c /= span / bins;
      curve = RateCurve(span / bins, counts);
      // The gaps' CV once the curve is taken out: on the time scale that makes the rate constant.
      std::vector<double> unit;
      for (double t : times)
        unit.push_back(curve.cumulative(t));
      fitted_cv = cv(gaps(unit));
      curve_report.update({{"emitted", true}, {"gap_cv_without_curve", fitted_cv}});
    }
  }
  const double cv_threshold = std::max(cv_margin, 3 / std::sqrt(n - 1));
  const bool gamma = std::abs(fitted_cv - 1) > cv_threshold;
  fitted_cv = std::clamp(fitted_cv, 0.01, 100.0); // the gamma workload's bounds

  auto [input, input_report] = fit_lengths(rows, true);
  auto [output, output_report] = fit_lengths(rows, false);
  Json w = {{"type", gamma ? "gamma" : "poisson"},
            {"duration_s", span},
            {"num_requests", 0},
            {"input", input},
            {"output", output}};
  if (gamma) w["cv"] = fitted_cv;
  if (curve.rates.empty())
    w["qps"] = qps;
  else
    w["rate_curve"] = rate_curve_json(curve);
  const Json arrivals = {{"process", gamma ? "gamma" : "poisson"},
                         {"poisson", {{"qps", qps}}},
                         {"gamma", {{"qps", qps}, {"cv", fitted_cv}}},
                         {"gap_cv", raw_cv},
                         {"cv_threshold", cv_threshold},
                         {"rate_curve", curve_report}};
  return {{"workload", w},
          {"fit",
           {{"requests", rows.size()},
            {"span_s", span},
            {"input", input_report},
            {"output", output_report},
            {"arrivals", arrivals}}}};
}

} // namespace fs
