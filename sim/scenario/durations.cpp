#include "durations.hpp"
#include "workload.hpp"
#include <cmath>

namespace fs {

namespace {

class Fixed : public DurationSampler {
public:
  void parse(const JsonNode& n) override { value_ = n.number("value"); }
  Json to_json() const override { return {{"value", value_}}; }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "fixed_duration", "always `value` seconds", {required(num("value", 0, 1e7, "seconds (0 allowed)"))}};
    return o;
  }
  double draw(std::mt19937_64&) const override { return value_; }
  double mean() const override { return value_; }
  double value_ = 0;
};

class Exponential : public DurationSampler {
public:
  void parse(const JsonNode& n) override { mean_ = n.number("mean"); }
  Json to_json() const override { return {{"mean", mean_}}; }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{"exponential_duration",
                              "exponential (memoryless) with the given mean",
                              {required(positive("mean", 1e7, "mean seconds"))}};
    return o;
  }
  double draw(std::mt19937_64& rng) const override { return std::exponential_distribution<double>(1 / mean_)(rng); }
  double mean() const override { return mean_; }

private:
  double mean_ = 1;
};

class Lognormal : public DurationSampler {
public:
  void parse(const JsonNode& n) override { parse_lognormal(n, mu_, sigma_); }
  Json to_json() const override { return {{"mu", mu_}, {"sigma", sigma_}}; }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "lognormal_duration",
        "lognormal seconds from mean and median, or mu/sigma of log seconds",
        {positive("mean", 1e7, "mean seconds (with median)"), positive("median", 1e7, "median seconds (with mean)"),
         num("mu", -30, 20, "mean of log seconds"), num("sigma", 0, 10, "standard deviation of log seconds")}};
    return o;
  }
  double draw(std::mt19937_64& rng) const override
  {
    return std::exp(mu_ + sigma_ * std::normal_distribution<double>(0, 1)(rng));
  }
  double mean() const override { return std::exp(mu_ + sigma_ * sigma_ / 2); }

private:
  double mu_ = 0, sigma_ = 0;
};

} // namespace

const DurationRegistry& duration_registry()
{
  static const DurationRegistry reg = [] {
    DurationRegistry r("duration distribution");
    r.add("fixed", "always `value` seconds (0 allowed)", [] { return std::make_unique<Fixed>(); });
    r.add("exponential", "exponential seconds of a given mean", [] { return std::make_unique<Exponential>(); });
    r.add("lognormal", "lognormal seconds from mean/median or mu/sigma", [] { return std::make_unique<Lognormal>(); });
    return r;
  }();
  return reg;
}

const ObjectSpec& duration_spec()
{
  static const ObjectSpec o = [] {
    ObjectSpec d{"duration",
                 "a distribution of durations in seconds",
                 {required(text("type", "the distribution", type_names(duration_registry())))}};
    d.variants = variant_specs(duration_registry());
    return d;
  }();
  return o;
}

std::shared_ptr<const DurationSampler> parse_duration(const JsonNode& n)
{
  n.expect_object();
  const std::string type = n.string("type");
  if (!duration_registry().has(type))
    n.fail("type", "unknown duration distribution \"" + type + "\"; known: " + duration_registry().known());
  n.use_variant(type);
  std::unique_ptr<DurationSampler> d = duration_registry().make(type);
  d->type = type;
  d->parse(n);
  n.done();
  return d;
}

std::shared_ptr<const DurationSampler> fixed_duration(double seconds)
{
  auto d = std::make_shared<Fixed>();
  d->type = "fixed";
  d->value_ = seconds;
  return d;
}

Json duration_json(const DurationSampler& d)
{
  Json j = d.to_json();
  j["type"] = d.type;
  return j;
}

} // namespace fs
