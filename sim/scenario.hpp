// The typed scenario: everything a run needs, parsed and resolved in one place (scenario_loader.cpp).
#pragma once
#include "cost.hpp"
#include "json_input.hpp"
#include "llm.hpp"
#include "specs.hpp"
#include <cstdint>
#include <string>
#include <vector>

namespace fs {

struct ServerPool {
  std::string name;
  ServerSpec server;
  int servers = 0;
  int gpus() const { return servers * server.gpus_per_server; }
};

struct FabricConfig {
  std::string type = "leaf_spine";
  int servers_per_rack = 4;
  double oversubscription = 1.0; // rack downlink : uplink bandwidth
  double link_latency_s = 1e-6;  // per hop (NIC + switch)
  std::string network_model = "CM02";
};

enum class Role { mixed, prefill, decode };
const char* role_name(Role r);

struct InstanceGroup {
  Role role = Role::mixed;
  std::string pool;
  int instances = 0;
  Parallelism par;
};

struct PlacementConfig {
  std::string name;
  std::string type;
  std::vector<InstanceGroup> groups;
};

struct SchedulerConfig {
  std::string type = "vllm";
  long max_num_batched_tokens = 8192; // token budget per step
  long max_num_seqs = 256;
  long prefill_chunk_tokens = 8192; // 0 = no chunking (whole prompts)
  double gpu_memory_utilization = 0.9;
  double activation_reserve_gb = 4;
};

struct LengthDist {
  std::string type = "fixed"; // fixed | uniform | lognormal
  double value = 0, min = 1, max = 1e9, mu = 0, sigma = 0;
};

struct WorkloadConfig {
  std::string type = "poisson"; // poisson | gamma | trace
  double qps = 1;
  double cv = 1;         // gamma arrivals: coefficient of variation of inter-arrival times
  long num_requests = 0; // 0 = until duration_s
  double duration_s = 0;
  LengthDist input, output;
  std::string trace_path;
  double time_scale = 1; // trace replay: multiply inter-arrival gaps (0.5 = twice the rate)
};

struct SloConfig {
  double ttft_s = 0; // 0 = no SLO on it
  double tpot_s = 0;
  double e2e_s = 0;
};

struct SimConfig {
  std::string mode = "fast"; // fast (closed-form decode runs) | exact (one wake-up per step)
  double warmup_s = -1;      // < 0: the first 10% of the arrival span
  double cooldown_s = 0;
};

struct Scenario {
  std::string name;
  std::string file;
  uint64_t seed = 1;
  LlmSpec model;
  OpDtypes dtypes;
  std::vector<ServerPool> pools;
  FabricConfig fabric;
  std::vector<PlacementConfig> placements;
  SchedulerConfig scheduler;
  std::string router = "least_outstanding";
  WorkloadConfig workload;
  SloConfig slo;
  Economics economics;
  Sources economics_sources;
  SimConfig sim;
  Json resolved; // presets and defaults applied, written next to the results

  const ServerPool& pool(const std::string& name) const;
};

// Parses a scenario file (or the embedded default when path is empty) with `sets` applied
// ("a.b[0].c=value" JSON-path assignments from --set). Throws InputError on any bad input.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& sets = {});
// Same from an already-read JSON document; `file` names it in errors.
Scenario parse_scenario(const Json& doc, const std::string& file);

} // namespace fs
