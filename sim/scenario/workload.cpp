#include "workload.hpp"
#include <algorithm>
#include <cmath>
#include <map>

namespace fs {

long LengthSampler::sample(std::mt19937_64& rng) const
{
  return long(std::clamp(std::round(draw(rng)), std::max(1.0, min), max));
}

const LengthRegistry& length_registry()
{
  static const LengthRegistry reg = [] {
    LengthRegistry r("length distribution");
    r.add("fixed", "every request has `value` tokens", make_fixed_length);
    r.add("uniform", "integer uniform in [min, max]", make_uniform_length);
    r.add("lognormal", "lognormal from mu/sigma, mean/median, or fitted to a trace column; clamped to [min, max]",
          make_lognormal_length);
    r.add("empirical", "inverse-CDF sampling from 101 evenly spaced quantiles (what `workload fit` writes)",
          make_empirical_length);
    return r;
  }();
  return reg;
}

const ObjectSpec& length_spec()
{
  static const ObjectSpec o = [] {
    ObjectSpec l{"length",
                 "a distribution of token counts, clamped to [min, max]",
                 {required(text("type", "the distribution", type_names(length_registry()))),
                  num("min", 1, 1e7, "smallest value (default 1)"), num("max", 1, 1e7, "largest value (default 1e7)")}};
    l.variants = variant_specs(length_registry());
    return l;
  }();
  return o;
}

const ObjectSpec& workload_spec()
{
  static const ObjectSpec o = [] {
    ObjectSpec w{"workload",
                 "the requests: an arrival process and their lengths, or a trace",
                 {required(text("type", "the workload generator", type_names(workload_registry())))}};
    w.variants = variant_specs(workload_registry());
    return w;
  }();
  return o;
}

std::shared_ptr<const LengthSampler> parse_length(const JsonNode& n, const std::string& file, bool input_column)
{
  n.expect_object();
  const std::string type = n.string("type");
  if (!length_registry().has(type))
    n.fail("type", "unknown length distribution \"" + type + "\"; known: " + length_registry().known());
  n.use_variant(type);
  std::unique_ptr<LengthSampler> l = length_registry().make(type);
  l->type = type;
  l->min = n.number("min", 1);
  l->max = n.number("max", 1e7);
  l->parse(n, file, input_column);
  if (l->max < l->min) n.fail("max", "must be >= min");
  n.done();
  return l;
}

Json length_json(const LengthSampler& l)
{
  Json j = l.to_json();
  j["type"] = l.type;
  j["min"] = l.min;
  j["max"] = l.max;
  return j;
}

void parse_lognormal(const JsonNode& n, double& mu, double& sigma)
{
  if (n.has("mean") || n.has("median")) {
    const double mean = n.number("mean"), median = n.number("median");
    if (mean < median) n.fail("mean", "a lognormal needs mean >= median");
    mu = std::log(median);
    sigma = std::sqrt(2 * std::log(mean / median));
  } else {
    mu = n.number("mu");
    sigma = n.non_negative("sigma", 0);
  }
}

const WorkloadRegistry& workload_registry()
{
  static const WorkloadRegistry reg = [] {
    WorkloadRegistry r("workload");
    r.add("poisson", "Poisson arrivals at qps or a rate_curve; lengths from the input/output distributions",
          make_poisson_workload);
    r.add("gamma", "Gamma renewal arrivals at qps or a rate_curve with inter-arrival CV `cv` (bursty when cv > 1)",
          make_gamma_workload);
    r.add("trace", "replay of an Azure CSV or Mooncake JSONL trace (Mooncake's hash_ids as prefix hashes)",
          make_trace_workload);
    r.add("offline", "an offline batch: num_requests all available at t=0 (measured until the last finishes)",
          make_offline_workload);
    r.add("closed_loop", "`clients` each sending its next request when the previous finished plus a think time",
          make_closed_loop_workload);
    r.add("sessions", "multi-turn conversations: each turn's prompt carries the session's context so far",
          make_sessions_workload);
    r.add("agents", "agent tasks running a graph of LLM and tool steps (fan-out, join; tools on CPU cores)",
          make_agents_workload);
    return r;
  }();
  return reg;
}

WorkloadConfig parse_workload(const JsonNode& n, const std::string& file)
{
  n.expect_object();
  WorkloadConfig w;
  w.type = n.string("type");
  if (!workload_registry().has(w.type))
    n.fail("type", "unknown workload \"" + w.type + "\"; known: " + workload_registry().known());
  n.use_variant(w.type);
  std::unique_ptr<WorkloadGenerator> g = workload_registry().make(w.type);
  g->parse(n, file);
  n.done();
  w.generator = std::move(g);
  return w;
}

Json workload_json(const WorkloadConfig& w)
{
  Json j = w.generator->to_json();
  j["type"] = w.type;
  return j;
}

std::vector<RequestSpec> generate_workload(const WorkloadConfig& w, uint64_t seed)
{
  return w.generator->generate(seed);
}

namespace {
class VectorStream : public RequestStream {
public:
  explicit VectorStream(std::shared_ptr<const std::vector<RequestSpec>> reqs) : reqs_(std::move(reqs)) {}
  std::optional<RequestSpec> next() override
  {
    if (next_ == reqs_->size()) return std::nullopt;
    return (*reqs_)[next_++];
  }

private:
  std::shared_ptr<const std::vector<RequestSpec>> reqs_;
  size_t next_ = 0;
};
} // namespace

std::unique_ptr<RequestStream> vector_stream(std::shared_ptr<const std::vector<RequestSpec>> reqs)
{
  return std::make_unique<VectorStream>(std::move(reqs));
}

std::unique_ptr<RequestStream> WorkloadGenerator::stream(uint64_t seed) const
{
  return vector_stream(std::make_shared<const std::vector<RequestSpec>>(generate(seed)));
}

} // namespace fs
