// Length distributions of prompts and outputs: fixed, uniform, lognormal.
#include "workload.hpp"
#include <cmath>

namespace fs {

namespace {

class Fixed : public LengthSampler {
public:
  void parse(const JsonNode& n, const std::string&, bool) override { value_ = n.positive("value"); }
  Json to_json() const override { return {{"value", value_}}; }
  double draw(std::mt19937_64&) const override { return value_; }

private:
  double value_ = 1;
};

class Uniform : public LengthSampler {
public:
  void parse(const JsonNode& n, const std::string&, bool) override
  {
    min = n.positive("min");
    max = n.positive("max");
  }
  Json to_json() const override { return Json::object(); }
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
      const LognormalFit f = fit_lognormal(read_azure_trace(resolve_path(n.string("fit_trace"), file)), input_column);
      mu_ = f.mu;
      sigma_ = f.sigma;
      if (!n.has("max")) max = f.max;
    } else if (n.has("mean") || n.has("median")) {
      const double mean = n.positive("mean"), median = n.positive("median");
      if (mean < median) n.fail("mean", "a lognormal needs mean >= median");
      mu_ = std::log(median);
      sigma_ = std::sqrt(2 * std::log(mean / median));
    } else {
      mu_ = n.number("mu");
      sigma_ = n.non_negative("sigma", 0);
    }
  }
  Json to_json() const override { return {{"mu", mu_}, {"sigma", sigma_}}; }
  double draw(std::mt19937_64& rng) const override
  {
    return std::exp(mu_ + sigma_ * std::normal_distribution<double>(0, 1)(rng));
  }

private:
  double mu_ = 0, sigma_ = 0;
};

} // namespace

std::unique_ptr<LengthSampler> make_fixed_length() { return std::make_unique<Fixed>(); }
std::unique_ptr<LengthSampler> make_uniform_length() { return std::make_unique<Uniform>(); }
std::unique_ptr<LengthSampler> make_lognormal_length() { return std::make_unique<Lognormal>(); }

} // namespace fs
