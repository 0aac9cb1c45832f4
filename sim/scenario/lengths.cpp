// Length distributions of prompts and outputs: fixed, uniform, lognormal, empirical.
#include "workload.hpp"
#include <algorithm>
#include <cmath>

namespace fs {

namespace {

class Fixed : public LengthSampler {
public:
  void parse(const JsonNode& n, const std::string&, bool) override { value_ = n.number("value"); }
  Json to_json() const override { return {{"value", value_}}; }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{"fixed", "every request has `value` tokens", {required(num("value", 1, 1e7, "tokens"))}};
    return o;
  }
  double draw(std::mt19937_64&) const override { return value_; }

private:
  double value_ = 1;
};

class Uniform : public LengthSampler {
public:
  void parse(const JsonNode& n, const std::string&, bool) override
  {
    min = n.number("min");
    max = n.number("max");
  }
  Json to_json() const override { return Json::object(); }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{"uniform", "integers uniform in [min, max] (both required)", {}};
    return o;
  }
  double draw(std::mt19937_64& rng) const override
  {
    return double(std::uniform_int_distribution<long>(long(min), long(max))(rng));
  }
};

class Lognormal : public LengthSampler {
public:
  void parse(const JsonNode& n, const std::string& file, bool input_column) override
  {
    if (n.has("fit_trace")) {
      const LognormalFit f = fit_lognormal(read_trace(resolve_path(n.string("fit_trace"), file)), input_column);
      mu_ = f.mu;
      sigma_ = f.sigma;
      if (!n.has("max")) max = f.max;
    } else {
      parse_lognormal(n, mu_, sigma_);
    }
  }
  Json to_json() const override { return {{"mu", mu_}, {"sigma", sigma_}}; }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "lognormal",
        "lognormal lengths from mu/sigma of log length, from mean and median, or fitted to a trace column",
        {text("fit_trace", "a trace (Azure CSV or Mooncake JSONL) whose column (input or output) to fit"),
         num("mean", 1, 1e7, "mean tokens (with median)"), num("median", 1, 1e7, "median tokens (with mean)"),
         num("mu", -20, 20, "mean of log length"), num("sigma", 0, 10, "standard deviation of log length")}};
    return o;
  }
  double draw(std::mt19937_64& rng) const override
  {
    return std::exp(mu_ + sigma_ * std::normal_distribution<double>(0, 1)(rng));
  }

private:
  double mu_ = 0, sigma_ = 0;
};

// Inverse-CDF sampling from 101 evenly spaced quantiles (the 0th, 1st, ..., 100th percentile), linear between
// neighbours: `factorysim workload fit` writes them from a trace column.
class Empirical : public LengthSampler {
public:
  static constexpr size_t points = 101;
  void parse(const JsonNode& n, const std::string&, bool) override
  {
    q_ = n.numbers("quantiles");
    if (q_.size() != points)
      n.fail("quantiles",
             "expected 101 numbers (the 0th, 1st, ..., 100th percentile), got " + std::to_string(q_.size()));
    for (size_t i = 1; i < points; ++i)
      if (q_[i] < q_[i - 1])
        n.fail("quantiles[" + std::to_string(i) + "]", "expected a value >= quantiles[" + std::to_string(i - 1) +
                                                           "] = " + format_number(q_[i - 1]) +
                                                           " (non-decreasing), got " + format_number(q_[i]));
  }
  Json to_json() const override { return {{"quantiles", q_}}; }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "empirical",
        "inverse-CDF sampling from 101 evenly spaced quantiles, linear between them",
        {required(array_of_numbers("quantiles", 1, 1e7,
                                   "the 0th, 1st, ..., 100th percentile of tokens: 101 non-decreasing numbers"))}};
    return o;
  }
  double draw(std::mt19937_64& rng) const override
  {
    const double x = std::uniform_real_distribution<double>(0, double(points - 1))(rng);
    const size_t i = std::min(size_t(x), points - 2);
    return q_[i] + (x - double(i)) * (q_[i + 1] - q_[i]);
  }

private:
  std::vector<double> q_;
};

} // namespace

std::unique_ptr<LengthSampler> make_fixed_length() { return std::make_unique<Fixed>(); }
std::unique_ptr<LengthSampler> make_uniform_length() { return std::make_unique<Uniform>(); }
std::unique_ptr<LengthSampler> make_lognormal_length() { return std::make_unique<Lognormal>(); }
std::unique_ptr<LengthSampler> make_empirical_length() { return std::make_unique<Empirical>(); }

} // namespace fs
