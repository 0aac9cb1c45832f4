// Time-varying arrival rates of the renewal workloads (workload_renewal.cpp) and of fitted ones (workload_fit.cpp).
#include "workload.hpp"
#include <algorithm>
#include <cmath>

namespace fs {

RateCurve::RateCurve(double bin, std::vector<double> r) : bin_s(bin), rates(std::move(r)), cum_{0}
{
  for (double x : rates)
    cum_.push_back(cum_.back() + x * bin_s);
  if (!(bin_s > 0) || !(cum_.back() > 0)) throw std::logic_error("a rate curve needs bin_s > 0 and a rate > 0");
}

double RateCurve::cumulative(double t) const
{
  const double periods = std::floor(t / period_s());
  const double in = t - periods * period_s();
  const size_t k = std::min(size_t(in / bin_s), rates.size() - 1);
  return periods * cum_.back() + cum_[k] + (in - double(k) * bin_s) * rates[k];
}

double RateCurve::time_of(double s) const
{
  const double periods = std::floor(s / cum_.back());
  const double r = std::clamp(s - periods * cum_.back(), 0.0, cum_.back());
  // The bin k with cum_[k] < r <= cum_[k + 1]; at r = 0, the first bin with a rate.
  size_t k = size_t(std::lower_bound(cum_.begin() + 1, cum_.end(), r) - cum_.begin()) - 1;
  while (rates[k] <= 0)
    ++k;
  return periods * period_s() + double(k) * bin_s + (r - cum_[k]) / rates[k];
}

const ObjectSpec& rate_curve_spec()
{
  static const ObjectSpec o{
      "rate_curve",
      "a piecewise-constant arrival rate that repeats: rates[i] requests/s from i x bin_s to (i + 1) x bin_s",
      {required(positive("bin_s", 1e8, "seconds per bin")),
       required(array_of_numbers("rates", 0, 1e6, "requests/s in each bin, in order; one at least > 0"))}};
  return o;
}

RateCurve parse_rate_curve(const JsonNode& n)
{
  n.expect_object();
  const double bin_s = n.positive("bin_s");
  std::vector<double> rates = n.numbers("rates");
  // Arrivals in a period, summed as the curve sums them (a tiny rate in tiny bins underflows to none).
  double arrivals = 0;
  for (double r : rates)
    arrivals += r * bin_s;
  if (!(arrivals > 0)) n.fail("rates", "expected one rate > 0 at least");
  n.done();
  return RateCurve(bin_s, std::move(rates));
}

Json rate_curve_json(const RateCurve& c) { return {{"bin_s", c.bin_s}, {"rates", c.rates}}; }

} // namespace fs
