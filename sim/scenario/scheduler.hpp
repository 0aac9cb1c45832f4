// Iteration-level batching (vLLM-style): which prefill chunks and decode tokens form the next step of one
// virtual engine. Pure C++ over EngineState, unit-testable without SimGrid. Variants by JSON "type".
#pragma once
#include "json_input.hpp"
#include "llm.hpp"
#include "prefix_cache.hpp"
#include "registry.hpp"
#include "request.hpp"
#include "scenario.hpp"
#include <algorithm>
#include <deque>
#include <vector>

namespace fs {

struct SchedulerLimits {
  long max_seqs = 256;      // sequences admitted at once (vLLM max_num_seqs)
  long token_budget = 8192; // new tokens per step (max_num_batched_tokens)
  long chunk_tokens = 8192; // longest prefill chunk
};

// The queues of one virtual engine. Its KV cache is the instance's, shared by its virtual engines.
struct EngineState {
  KvCache* kv = nullptr;
  PrefixCache* prefix = nullptr; // prefix caching (null: off)
  SchedulerLimits limits;
  Role role = Role::mixed;       // its instance's (a prefill instance computes prompts only)
  std::deque<Request*> waiting;  // prompts and preempted requests (recompute), FCFS; preempted go first
  std::deque<Request*> incoming; // prefilled elsewhere, waiting for a slot and blocks here (P/D decode), FCFS
  std::vector<Request*> running; // admitted, in admission order (includes those still loading their KV)
  // How many of `running` still have prefill to compute: without any, a plan need not walk `running` for chunks
  // (a decode instance's usual state). Kept by run()/stop() and EngineCore::complete.
  long prefilling = 0;

  bool idle() const { return waiting.empty() && incoming.empty() && running.empty(); }
  void run(Request* r) // admits r to `running`
  {
    running.push_back(r);
    if (!r->prefill_complete()) prefilling++;
  }
  void stop(Request* r) // takes r out of `running` (before its progress is reset)
  {
    running.erase(std::find(running.begin(), running.end(), r));
    if (!r->prefill_complete()) prefilling--;
  }
};

struct StepPlan {
  std::vector<std::pair<Request*, long>> prefill; // request, chunk tokens
  std::vector<Request*> decode;
  std::vector<Request*> pulls; // admitted from `incoming`: their KV transfer must start now
  StepBatch batch;
  int preempted = 0;
  std::vector<TierLoad> loads; // the step cannot start before these end: KV loading from lower tiers
  long cached_tokens = 0;      // prompt tokens admitted from the prefix cache in this plan
  long restored_tokens = 0;    // tokens of preempted requests brought back from a lower tier (offload)

  bool empty() const { return prefill.empty() && decode.empty(); } // nothing to compute
  bool decode_only() const { return prefill.empty() && !decode.empty(); }
  void clear(); // empties it, keeping the vectors' capacity
};

class Scheduler {
public:
  virtual ~Scheduler() = default;
  // Admits, reserves KV blocks for every token of the step, preempts (recompute, newest first) when blocks run
  // out, and writes the next step into `p` (cleared first). Mutates `s` and its KV cache; the step's results are
  // applied by EngineCore.
  virtual void plan(EngineState& s, StepPlan& p) const = 0;
  StepPlan plan(EngineState& s) const
  {
    StepPlan p;
    plan(s, p);
    return p;
  }
};

using SchedulerRegistry = Registry<Scheduler>;
const SchedulerRegistry& scheduler_registry();

// The "scheduler" object of a scenario or of one stage (which overrides the scenario's `base`), and its table.
const ObjectSpec& scheduler_spec();
SchedulerConfig parse_scheduler_config(const JsonNode& n, const SchedulerConfig& base);
Json scheduler_config_json(const SchedulerConfig& c);
SchedulerLimits limits_of(const SchedulerConfig& c);

// Shared building blocks of the variants.
void preempt(EngineState& s, Request* r);
// Admits FCFS from `incoming` while a slot and blocks for the arriving KV are free (P/D decode side); with
// `reserve_whole`, blocks for the whole sequence (prompt + output), kept until it finishes.
void admit_incoming(EngineState& s, StepPlan& p, bool reserve_whole = false);
// Reserves blocks for `r` to hold `tokens`, preempting the newest admitted sequence that is not in this step
// until they fit. False when r itself was preempted or nothing is left to preempt.
bool preempt_until_reserved(EngineState& s, StepPlan& p, Request* r, long tokens); // after a reserve failed
inline bool reserve_or_preempt(EngineState& s, StepPlan& p, Request* r, long tokens)
{
  return s.kv->reserve(r->kv, tokens) || preempt_until_reserved(s, p, r, tokens); // inline: every decode, every step
}
// Reserves one more token for the decoding sequences, oldest first and at most `budget` of them (preempting
// when blocks run out), and adds them to the step in admission order.
void add_decodes(EngineState& s, StepPlan& p, long budget);
void add_prefill(StepPlan& p, Request* r, long n);
// Prefix caching: `r` (holding no blocks yet) starts after the longest run of its prompt chunks the KV hierarchy
// holds; chunks below accelerator memory load first (p.loads). A request preempted with its KV offloaded gets it
// back instead (false, and nothing changes, while its blocks are not free).
bool start_from_cache(EngineState& s, StepPlan& p, Request* r);

} // namespace fs
