// The typed scenario: everything a run needs, parsed and resolved in one place (scenario_loader.cpp).
#pragma once
#include "cost.hpp"
#include "host.hpp"
#include "json_input.hpp"
#include "llm.hpp"
#include "specs.hpp"
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fs {

class WorkloadGenerator; // workload.hpp

struct ServerPool {
  std::string name;
  ServerSpec server;
  int servers = 0;
  Json overrides = Json::object(); // the pool's own keys (chip, cpu, nic, counts, chip_overrides), as given
  long chips() const { return long(servers) * server.chips_per_server; }
  long cpu_cores() const { return long(servers) * server.cpus_per_server * long(server.cpu.cores); }
  bool cpu_only() const { return server.chips_per_server == 0; }
};

struct FabricConfig {
  std::string type = "leaf_spine"; // leaf_spine | fat_tree (docs/design.md, "Topology")
  int servers_per_rack = 4;        // leaf_spine: servers under one leaf switch
  int k = 0;                       // fat_tree: switch radix (even); the parser derives it when not given
  double oversubscription = 1.0;   // rack downlink : uplink bandwidth
  double link_latency_us = 1;      // per hop (NIC + switch), as given (kept in the unit of the input)
  double link_latency_s() const { return link_latency_us * 1e-6; }
  std::string network_model = "CM02";
  std::string switch_name = "QM9700"; // catalog switch of every leaf and spine (cost and power only)
  SwitchSpec switch_spec;
};

// What the instances of a stage do with a request.
enum class Role {
  mixed,   // prefill and decode (colocated serving)
  prefill, // prefill, then hand the KV cache to a decode stage
  decode,  // pull the KV cache of a prefilled request, then decode
};
const char* role_name(Role r);

struct SchedulerConfig {
  std::string type = "vllm";
  long max_num_batched_tokens = 8192; // token budget per step
  long max_num_seqs = 256;
  long prefill_chunk_tokens = 8192;
  long block_size_tokens = 16; // KV cache block (vLLM's default)
  double gpu_memory_utilization = 0.9;
  double activation_reserve_gib = 4;
  bool operator==(const SchedulerConfig&) const = default;
};

// One stage of a placement: a pool's instances with one role and one parallelism.
struct StageConfig {
  std::string name; // unique within the placement; instances are named <name><index>
  Role role = Role::mixed;
  std::string pool;
  int instances = 0;
  Parallelism par;
  long kv_tokens = 0; // SRAM-pipeline chips: KV tokens to size the pipeline for (0: from the workload)
  std::optional<Dtype> dtype, kv_dtype; // the stage's own weight / KV-cache dtypes; none: the scenario's
  OpDtypes dtypes;                      // resolved: the scenario's, with the stage's own
  struct Ffn {                          // attention/FFN split (decode stages): the MLP or experts run on another pool
    std::string pool;                   // empty: no split
    int chips = 0;                      // per instance
    int micro_batches = 2;
  } ffn;
  SchedulerConfig scheduler;   // the scenario's, with the stage's own overrides
  std::vector<std::string> to; // stages that take this stage's hand-offs (prefill role)
};

struct PlacementConfig {
  std::string name;
  std::string type;
  std::vector<StageConfig> stages; // hand-off edges are each stage's `to`

  const StageConfig& stage(const std::string& name) const;
  bool is_entry(const StageConfig& s) const { return s.role != Role::decode; }
};

struct SloConfig {
  double ttft_s = 0; // 0 = no SLO on it
  double tpot_s = 0;
  double e2e_s = 0;
};

// Host work (scenario "host"): the CPU pool whose cores handle every request before and after the accelerators
// (docs/model.md, "Host work").
struct HostConfig {
  std::string pool; // empty: host work is not modelled
  double request_core_ms = 0, tokenize_core_us_per_token = 0, detokenize_core_us_per_token = 0; // as given
  Sources sources; // of each number: a default's source, or "scenario"
  bool enabled() const { return !pool.empty(); }
  HostWork work() const
  {
    return {request_core_ms * 1e-3, tokenize_core_us_per_token * 1e-6, detokenize_core_us_per_token * 1e-6};
  }
};

// The KV-cache hierarchy (scenario "kv_cache"; docs/model.md, "KV-cache hierarchy").
struct KvCacheConfig {
  bool prefix_caching = false;    // reuse prompt chunks by their prefix hashes (the workload must carry them)
  bool offload_preempted = false; // a preempted sequence's KV goes to the first tier below accelerator memory
  double host_link_gb_per_s = 0;  // per chip, host memory <-> accelerator (PCIe / C2C)
  StorageSpec dram;               // modules added to every accelerator server (host DRAM tier)
  int dram_per_server = 0;
  StorageSpec nvme; // drives in every accelerator server (local NVMe tier)
  int nvme_per_server = 0;
  std::string remote_pool; // CPU pool serving a remote KV store from its drives (empty: none)
  StorageSpec remote;
  int remote_per_server = 0;
  Sources sources;
  bool enabled() const { return prefix_caching; }
};

// The factory as identical pods (scenario "pods"; docs/design.md, "Pods"): every pool's servers and every stage's
// instances split evenly, each request served inside the pod a global router picks for it on arrival.
struct PodsConfig {
  int count = 1;                            // 1: one pod, the whole factory (no global router)
  std::string router = "least_outstanding"; // least_outstanding | round_robin (a static split)
  double sync_s = 0;                        // least_outstanding: 0 live loads, > 0 loads as of each multiple
  bool given = false;                       // the scenario has the key (resolved_scenario.json carries it)
  bool live() const { return router == "least_outstanding" && sync_s == 0; }
  bool windowed() const { return count > 1 && router == "least_outstanding" && sync_s > 0; }
};

struct SimConfig {
  std::string mode = "fast"; // fast (closed-form decode runs) | exact (one wake-up per step)
  double warmup_s = -1;      // < 0: the first 10% of the arrival span
  double cooldown_s = 0;
  long max_requests = 100'000'000;          // a larger workload is refused before it runs (time: ~10 us a request)
  long exact_percentiles_up_to = 1'000'000; // per metric; past it, percentiles from a histogram (request_stats.hpp)
  bool lone_transfers = true;               // not in JSON: tests set false to run every cross-server KV pull in SimGrid
  bool run_ahead = true;     // not in JSON: tests set false to give every event instant its own round of SimGrid's loop
  bool index_routers = true; // not in JSON: tests set false to check that cached picks match full scans
};

struct RequestSpec {
  long output_tokens = 0; // first: a Request's decode-hot cache line ends with it (request.hpp)
  long id = 0;
  double arrival = 0; // s
  long input_tokens = 0;
  // Prefix caching: a hash per whole block of Scenario::prefix_block_tokens prompt tokens, in prompt order; equal
  // hashes at the same position are the same KV (a trace's hash_ids, or generated by sessions). Empty: none.
  std::vector<uint64_t> prefix_hashes;
};

// The measured window: metrics count what happens between these times (docs/metrics.md). Its rule: "arrivals"
// (open loop: warm-up to the last arrival), "makespan" (every request at once: until the last finishes, an end
// known after the run) or "stop" (requests created during the run: warm-up to when new work stops, an end known
// during the run when a count stops it; +inf until then).
struct MeasuredWindow {
  double start = 0, end = 0;
  std::string rule = "arrivals";
};

struct WorkloadConfig {
  std::string type;
  std::shared_ptr<const WorkloadGenerator> generator; // the variant, holding its own parsed settings
};

struct Scenario {
  std::string name;
  std::string description;
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
  HostConfig host;
  KvCacheConfig kv_cache;
  std::string tool_pool; // the pool whose CPU cores run the workload's tool calls (agent graphs); empty: none
  Economics economics;
  Sources economics_sources;
  SimConfig sim;
  PodsConfig pods;
  // A list workload (open-loop arrivals, a trace, an offline batch) is generated once while parsing, counted and
  // not kept: each run draws it again, request by request, from the workload and the seed (WorkloadGenerator::
  // stream). Workloads that create their requests during the run (closed loops, sessions, agent graphs) have none.
  struct ListInfo {
    long count = 0;
    double first_arrival = 0, last_arrival = 0;
  };
  std::optional<ListInfo> list;
  // A list to replay instead of the workload's (tests); null: the workload's.
  std::shared_ptr<const std::vector<RequestSpec>> requests;
  long prefix_block_tokens = 0; // tokens per RequestSpec::prefix_hashes entry (0: the workload has none)
  MeasuredWindow window;
  Json resolved; // a runnable scenario: presets inline, defaults explicit (resolved_scenario.json)

  const ServerPool& pool(const std::string& name) const;
};

// Parses a scenario file (or the embedded default when path is empty) with `sets` applied
// ("a.b[0].c=value" JSON-path assignments from --set). Throws InputError on any bad input.
Scenario load_scenario(const std::string& path, const std::vector<std::string>& sets = {});
// One --set assignment ("a.b[0].c=value", or a.b.0.c) applied to a scenario document.
void apply_set(Json& doc, const std::string& assignment);
// The elements of a --set path: (key or index text, written as [index]); InputError prefixed by `what`.
std::vector<std::pair<std::string, bool>> set_path_elements(const std::string& path, const std::string& what);
// The value at a --set path of `doc`, or nullptr when there is none (InputError when the path is malformed).
const Json* json_at_path(const Json& doc, const std::string& path);
// Same from an already-read JSON document; `file` names it in errors.
Scenario parse_scenario(const Json& doc, const std::string& file);
// The dtype named at `key` (or `def` when absent); an unknown name is an input error naming the path.
Dtype dtype_of(const JsonNode& n, const char* key, const char* def);
// The pool `name` of `s`, named at `key` of `n`; an unknown name is an input error listing the pools.
const ServerPool& pool_named(const Scenario& s, const std::string& name, const JsonNode& n, const std::string& key);
// Resolves a path named in a scenario: as given when it exists, else relative to the scenario file.
std::string resolve_path(const std::string& p, const std::string& scenario_file);

} // namespace fs
