// Request workloads: arrival processes and length distributions, registered by JSON "type".
// Pure C++ (no SimGrid): the source actor replays the list this produces.
#pragma once
#include "registry.hpp"
#include "scenario.hpp"
#include <random>
#include <vector>

namespace fs {

struct RequestSpec {
  long id = 0;
  double arrival = 0; // s
  long input_tokens = 0;
  long output_tokens = 0;
};

class LengthSampler {
public:
  virtual ~LengthSampler() = default;
  virtual long sample(std::mt19937_64& rng) const = 0;
};
using LengthRegistry = Registry<LengthSampler, const LengthDist&>;
const LengthRegistry& length_registry();

class WorkloadGenerator {
public:
  virtual ~WorkloadGenerator() = default;
  virtual std::vector<RequestSpec> generate(const WorkloadConfig& w, uint64_t seed) const = 0;
};
using WorkloadRegistry = Registry<WorkloadGenerator>;
const WorkloadRegistry& workload_registry();

std::vector<RequestSpec> generate_workload(const WorkloadConfig& w, uint64_t seed);

// Azure LLM inference trace CSV (TIMESTAMP,ContextTokens,GeneratedTokens); times relative to the first row.
struct TraceRow {
  double t = 0;
  long input = 0, output = 0;
};
std::vector<TraceRow> read_azure_trace(const std::string& path);
// Lognormal parameters (mu, sigma of log length) fitted by maximum likelihood to a trace column.
LengthDist fit_lognormal(const std::vector<TraceRow>& rows, bool input_column);

} // namespace fs
