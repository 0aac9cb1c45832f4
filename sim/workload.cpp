#include "workload.hpp"
#include <algorithm>
#include <cmath>

namespace fs {

namespace {

long clamp_len(double x, const LengthDist& d) { return long(std::clamp(std::round(x), std::max(1.0, d.min), d.max)); }

class Fixed : public LengthSampler {
public:
  explicit Fixed(const LengthDist& d) : d_(d) {}
  long sample(std::mt19937_64&) const override { return clamp_len(d_.value, d_); }

private:
  LengthDist d_;
};

class Uniform : public LengthSampler {
public:
  explicit Uniform(const LengthDist& d) : d_(d) {}
  long sample(std::mt19937_64& rng) const override
  {
    return std::uniform_int_distribution<long>(long(d_.min), long(d_.max))(rng);
  }

private:
  LengthDist d_;
};

class Lognormal : public LengthSampler {
public:
  explicit Lognormal(const LengthDist& d) : d_(d) {}
  long sample(std::mt19937_64& rng) const override
  {
    return clamp_len(std::exp(d_.mu + d_.sigma * std::normal_distribution<double>(0, 1)(rng)), d_);
  }

private:
  LengthDist d_;
};

// Renewal arrivals at `qps` with inter-arrival gaps drawn by `gap`.
template <class Gap> std::vector<RequestSpec> renewal(const WorkloadConfig& w, uint64_t seed, Gap gap)
{
  std::mt19937_64 rng(seed);
  std::mt19937_64 len_rng(seed ^ 0x9e3779b97f4a7c15ULL); // lengths independent of the arrival stream
  auto in = length_registry().make(w.input.type, w.input);
  auto out = length_registry().make(w.output.type, w.output);
  std::vector<RequestSpec> reqs;
  double t = 0;
  for (long i = 0;; ++i) {
    t += gap(rng);
    if ((w.num_requests > 0 && i >= w.num_requests) || (w.num_requests == 0 && t > w.duration_s)) break;
    reqs.push_back({i, t, in->sample(len_rng), out->sample(len_rng)});
  }
  return reqs;
}

class Poisson : public WorkloadGenerator {
public:
  std::vector<RequestSpec> generate(const WorkloadConfig& w, uint64_t seed) const override
  {
    std::exponential_distribution<double> e(w.qps);
    return renewal(w, seed, [&](std::mt19937_64& r) { return e(r); });
  }
};

class GammaArrivals : public WorkloadGenerator {
public:
  std::vector<RequestSpec> generate(const WorkloadConfig& w, uint64_t seed) const override
  {
    const double shape = 1.0 / (w.cv * w.cv); // CV of a Gamma(k, theta) gap is 1/sqrt(k)
    std::gamma_distribution<double> g(shape, 1.0 / (w.qps * shape));
    return renewal(w, seed, [&](std::mt19937_64& r) { return g(r); });
  }
};

class TraceReplay : public WorkloadGenerator {
public:
  std::vector<RequestSpec> generate(const WorkloadConfig& w, uint64_t) const override
  {
    std::vector<RequestSpec> reqs;
    for (const TraceRow& row : read_azure_trace(w.trace_path)) {
      const double t = row.t * w.time_scale;
      if ((w.num_requests > 0 && long(reqs.size()) >= w.num_requests) || (w.duration_s > 0 && t > w.duration_s)) break;
      reqs.push_back({long(reqs.size()), t, std::max(1L, row.input), std::max(1L, row.output)});
    }
    return reqs;
  }
};

} // namespace

const LengthRegistry& length_registry()
{
  static const LengthRegistry reg = [] {
    LengthRegistry r("length distribution");
    r.add("fixed", "every request has `value` tokens", [](const LengthDist& d) { return std::make_unique<Fixed>(d); });
    r.add("uniform", "integer uniform in [min, max]", [](const LengthDist& d) { return std::make_unique<Uniform>(d); });
    r.add("lognormal", "lognormal from mu/sigma, mean/median, or fitted to a trace column; clamped to [min, max]",
          [](const LengthDist& d) { return std::make_unique<Lognormal>(d); });
    return r;
  }();
  return reg;
}

const WorkloadRegistry& workload_registry()
{
  static const WorkloadRegistry reg = [] {
    WorkloadRegistry r("workload");
    r.add("poisson", "Poisson arrivals at qps; lengths from the input/output distributions",
          [] { return std::make_unique<Poisson>(); });
    r.add("gamma", "Gamma renewal arrivals at qps with inter-arrival CV `cv` (bursty when cv > 1)",
          [] { return std::make_unique<GammaArrivals>(); });
    r.add("trace", "replay of an Azure-format CSV trace (TIMESTAMP,ContextTokens,GeneratedTokens)",
          [] { return std::make_unique<TraceReplay>(); });
    return r;
  }();
  return reg;
}

std::vector<RequestSpec> generate_workload(const WorkloadConfig& w, uint64_t seed)
{
  return workload_registry().make(w.type)->generate(w, seed);
}

LengthDist fit_lognormal(const std::vector<TraceRow>& rows, bool input_column)
{
  LengthDist d;
  d.type = "lognormal";
  double s = 0, s2 = 0, mx = 1;
  for (auto const& r : rows) {
    const double x = std::log(double(std::max(1L, input_column ? r.input : r.output)));
    s += x;
    s2 += x * x;
    mx = std::max(mx, double(input_column ? r.input : r.output));
  }
  const double n = double(rows.size());
  d.mu = s / n;
  d.sigma = std::sqrt(std::max(0.0, s2 / n - d.mu * d.mu));
  d.min = 1;
  d.max = mx;
  return d;
}

} // namespace fs
