// Request workloads: arrival processes and length distributions, registered by JSON "type". Each variant
// parses and writes back its own settings (one file per variant) and, in pure C++, either generates its requests
// before the run (the engine's source actor replays the list) or gives a RequestSource that creates them during it.
#pragma once
#include "json_input.hpp"
#include "registry.hpp"
#include "request_source.hpp"
#include "scenario.hpp"
#include "schema.hpp"
#include <istream>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace fs {

class LengthSampler {
public:
  virtual ~LengthSampler() = default;
  // Reads the variant's keys of `n` ("type", "min" and "max" are read by parse_length); `input_column`
  // says which trace column a fit uses.
  virtual void parse(const JsonNode& n, const std::string& scenario_file, bool input_column) = 0;
  virtual Json to_json() const = 0;           // its own keys, without "type", "min", "max"
  virtual const ObjectSpec& spec() const = 0; // the keys parse() reads
  virtual double draw(std::mt19937_64& rng) const = 0;

  long sample(std::mt19937_64& rng) const; // draw() rounded and clamped to [min, max]
  std::string type;
  double min = 1, max = 1e7;
};
using LengthRegistry = Registry<LengthSampler>;
const LengthRegistry& length_registry();
std::shared_ptr<const LengthSampler> parse_length(const JsonNode& n, const std::string& scenario_file,
                                                  bool input_column);
Json length_json(const LengthSampler& l);
// mu and sigma (of the log) of a lognormal given by the keys "mean" and "median", or "mu" and "sigma", of `n`.
void parse_lognormal(const JsonNode& n, double& mu, double& sigma);

// A list workload's requests in arrival order, one at a time: a run holds only the requests in flight, not the list
// (docs/metrics.md, "Streaming runs").
class RequestStream {
public:
  virtual ~RequestStream() = default;
  virtual std::optional<RequestSpec> next() = 0; // nothing once the list ends
  // The next request's arrival alone, as next() would give it (a pass that counts the list): a stream that draws
  // lengths from a generator of their own may skip them.
  virtual std::optional<double> next_arrival()
  {
    if (auto r = next()) return r->arrival;
    return std::nullopt;
  }
};

class WorkloadGenerator {
public:
  virtual ~WorkloadGenerator() = default;
  // Reads every key of `n` but "type"; relative paths are relative to `scenario_file`.
  virtual void parse(const JsonNode& n, const std::string& scenario_file) = 0;
  virtual Json to_json() const = 0;           // its settings, without "type"
  virtual const ObjectSpec& spec() const = 0; // the keys parse() reads
  // How many requests generate() will produce, known before generating them (for the run-size check).
  virtual double expected_requests() const = 0;
  virtual std::vector<RequestSpec> generate(uint64_t seed) const = 0;
  // The same list as generate(seed), request by request. The default replays generate()'s (workloads read from a
  // file hold their rows anyway); generated processes override it to create each request when it is taken.
  virtual std::unique_ptr<RequestStream> stream(uint64_t seed) const;
  // Tokens per entry of the requests' prefix_hashes (0: the requests carry none).
  virtual long prefix_block_tokens() const { return 0; }

  // Workloads that create requests during the run (closed loops, sessions, agent graphs) return their source here,
  // and generate() nothing; list workloads return nullptr.
  virtual std::unique_ptr<RequestSource> source(const SourceContext&) const { return nullptr; }
  // When such a workload stops starting new work: after duration_s, or once `count` requests (sessions, tasks) were
  // started, a time known only during the run. 0: no such limit.
  struct StopRule {
    double duration_s = 0;
    long count = 0;
    // Whether new work may start at `t` when `started` already did.
    bool allows(double t, long started) const
    {
      return (count == 0 || started < count) && (duration_s == 0 || t <= duration_s);
    }
  };
  virtual StopRule stop_rule() const { return {}; }
  // Agent graphs: whether tool calls need CPU cores, and the pool named for them ("": the scenario's host pool).
  virtual bool has_tool_calls() const { return false; }
  virtual std::string tool_pool() const { return ""; }
};
using WorkloadRegistry = Registry<WorkloadGenerator>;
const WorkloadRegistry& workload_registry();

const ObjectSpec& length_spec();
const ObjectSpec& workload_spec();
WorkloadConfig parse_workload(const JsonNode& n, const std::string& scenario_file);
Json workload_json(const WorkloadConfig& w);
std::vector<RequestSpec> generate_workload(const WorkloadConfig& w, uint64_t seed);
// Replays `reqs` (a list generated or read beforehand).
std::unique_ptr<RequestStream> vector_stream(std::shared_ptr<const std::vector<RequestSpec>> reqs);

// A piecewise-constant arrival rate that repeats: rates[i] requests/s from i x bin_s to (i + 1) x bin_s, then
// again from the first bin. Arrivals of a unit-rate renewal process at s are placed at cumulative⁻¹(s) (time
// rescaling), so a Poisson process stays Poisson and a Gamma process keeps its CV within a bin.
struct RateCurve {
  RateCurve() = default;
  RateCurve(double bin_s, std::vector<double> rates); // at least one rate > 0
  double bin_s = 0;
  std::vector<double> rates;

  double cumulative(double t) const; // expected arrivals in [0, t]
  double time_of(double s) const;    // a t with cumulative(t) = s, never inside a bin of rate 0
  double period_s() const { return bin_s * double(rates.size()); }

private:
  std::vector<double> cum_; // cum_[i]: expected arrivals in the first i bins
};
const ObjectSpec& rate_curve_spec();
RateCurve parse_rate_curve(const JsonNode& n);
Json rate_curve_json(const RateCurve& c);

// Request traces: Azure CSV (TIMESTAMP,ContextTokens,GeneratedTokens) or Mooncake JSONL (one object a line:
// timestamp in ms, input_length, output_length, hash_ids). Times are relative to the first row, in seconds.
struct TraceRow {
  double t = 0;
  long input = 0, output = 0;
  std::vector<uint64_t> hash_ids; // Mooncake: one per hash block of prompt tokens (empty for Azure CSV)
};
constexpr const char* azure_csv = "azure_csv";
constexpr const char* mooncake_jsonl = "mooncake_jsonl";
constexpr long mooncake_block_tokens = 512; // prompt tokens per Mooncake hash id
// The format by content: mooncake_jsonl when the first non-blank character is '{', else azure_csv. Rewinds.
std::string detect_trace_format(std::istream& in);
std::string detect_trace_format(const std::string& path);
// Reads and checks a trace; an empty `format` is detected. `hash_block_tokens` bounds a row's hash_ids
// (at most ceil(input_length / hash_block_tokens)). `name` names the trace in errors.
std::vector<TraceRow> read_trace(const std::string& path, std::string format = "",
                                 long hash_block_tokens = mooncake_block_tokens);
std::vector<TraceRow> parse_trace(std::istream& in, const std::string& name, std::string format = "",
                                  long hash_block_tokens = mooncake_block_tokens);
std::vector<TraceRow> parse_azure_trace(std::istream& in, const std::string& name);
std::vector<TraceRow> parse_mooncake_trace(std::istream& in, const std::string& name, long hash_block_tokens);

// Maximum-likelihood lognormal (mu, sigma of log length) of a trace column, and the column's largest value.
struct LognormalFit {
  double mu = 0, sigma = 0, max = 1;
};
LognormalFit fit_lognormal(const std::vector<TraceRow>& rows, bool input_column);

// `factorysim workload fit`: a runnable workload fitted to a trace ({"workload": ..., "fit": the report};
// docs/design.md, "Fitted workloads"). Throws InputError (naming `name`) when the trace is too short to fit.
Json fit_workload(const std::vector<TraceRow>& rows, const std::string& name);

// Registrations (one per variant file).
std::unique_ptr<LengthSampler> make_fixed_length();
std::unique_ptr<LengthSampler> make_uniform_length();
std::unique_ptr<LengthSampler> make_lognormal_length();
std::unique_ptr<LengthSampler> make_empirical_length();
std::unique_ptr<WorkloadGenerator> make_poisson_workload();
std::unique_ptr<WorkloadGenerator> make_gamma_workload();
std::unique_ptr<WorkloadGenerator> make_trace_workload();
std::unique_ptr<WorkloadGenerator> make_offline_workload();
std::unique_ptr<WorkloadGenerator> make_closed_loop_workload();
std::unique_ptr<WorkloadGenerator> make_sessions_workload();
std::unique_ptr<WorkloadGenerator> make_agents_workload();

} // namespace fs
