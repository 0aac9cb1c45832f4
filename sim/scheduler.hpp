// Iteration-level batching (vLLM-style): which prefill chunks and decode tokens form the next step.
// Pure C++ over EngineState, so it is unit-testable without SimGrid. Variants by JSON "type".
#pragma once
#include "llm.hpp"
#include "registry.hpp"
#include "request.hpp"
#include "scenario.hpp"
#include <deque>
#include <vector>

namespace fs {

struct EngineState {
  Role role = Role::mixed;
  long kv_capacity = 0; // tokens
  long kv_used = 0;
  long max_seqs = 256;
  long token_budget = 8192;
  long chunk_tokens = 8192;
  std::deque<Request*> waiting;  // FCFS; preempted requests go back to the front
  std::vector<Request*> running; // admitted, in admission order

  bool idle() const { return waiting.empty() && running.empty(); }
};

struct StepPlan {
  std::vector<std::pair<Request*, long>> prefill; // request, chunk tokens
  std::vector<Request*> decode;
  StepBatch batch;
  int preempted = 0;

  bool empty() const { return prefill.empty() && decode.empty(); }
  bool decode_only() const { return prefill.empty() && !decode.empty(); }
};

class Scheduler {
public:
  virtual ~Scheduler() = default;
  // Admits, preempts (recompute, newest first) and returns the next step. Mutates `s`.
  virtual StepPlan plan(EngineState& s) const = 0;
};

using SchedulerRegistry = Registry<Scheduler>;
const SchedulerRegistry& scheduler_registry();

// Shared building blocks of the variants.
void preempt(EngineState& s, Request* r);
void add_decode(StepPlan& p, Request* r);
void add_prefill(StepPlan& p, Request* r, long n);
// Makes room for one more token per decoding sequence, preempting the newest admitted when KV is short.
void reserve_decode_tokens(EngineState& s, StepPlan& p);

} // namespace fs
