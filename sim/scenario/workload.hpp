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

// Azure LLM inference trace CSV (TIMESTAMP,ContextTokens,GeneratedTokens); times relative to the first row.
struct TraceRow {
  double t = 0;
  long input = 0, output = 0;
  std::vector<uint64_t> hash_ids; // Mooncake: one per 512-token prompt block (empty for Azure CSV)
};
std::vector<TraceRow> read_azure_trace(const std::string& path);
std::vector<TraceRow> parse_azure_trace(std::istream& in, const std::string& name); // `name` in errors
// Maximum-likelihood lognormal (mu, sigma of log length) of a trace column, and the column's largest value.
struct LognormalFit {
  double mu = 0, sigma = 0, max = 1;
};
LognormalFit fit_lognormal(const std::vector<TraceRow>& rows, bool input_column);

// Registrations (one per variant file).
std::unique_ptr<LengthSampler> make_fixed_length();
std::unique_ptr<LengthSampler> make_uniform_length();
std::unique_ptr<LengthSampler> make_lognormal_length();
std::unique_ptr<WorkloadGenerator> make_poisson_workload();
std::unique_ptr<WorkloadGenerator> make_gamma_workload();
std::unique_ptr<WorkloadGenerator> make_trace_workload();
std::unique_ptr<WorkloadGenerator> make_offline_workload();
std::unique_ptr<WorkloadGenerator> make_closed_loop_workload();
std::unique_ptr<WorkloadGenerator> make_sessions_workload();
std::unique_ptr<WorkloadGenerator> make_agents_workload();

} // namespace fs
