#include "scheduler.hpp"
#include <algorithm>

namespace fs {

void preempt(EngineState& s, Request* r)
{
  s.kv_used -= r->kv_tokens;
  r->kv_tokens = 0;
  r->prefilled = 0;
  r->target_prefill = r->spec.input_tokens + r->generated; // recompute the prompt and what it generated
  r->arrived_by_transfer = false;
  r->preemptions++;
  s.running.erase(std::find(s.running.begin(), s.running.end(), r));
  s.waiting.push_front(r);
}

void add_decode(StepPlan& p, Request* r)
{
  p.decode.push_back(r);
  p.batch.decode_seqs++;
  p.batch.decode_context_sum += double(r->kv_tokens + 1);
  p.batch.logits_tokens++;
}

void add_prefill(StepPlan& p, Request* r, long n)
{
  p.prefill.push_back({r, n});
  p.batch.prefill.push_back({n, r->prefilled});
  if (r->prefilled + n >= r->target_prefill) p.batch.logits_tokens++;
}

void reserve_decode_tokens(EngineState& s, StepPlan& p)
{
  auto decoding = [&] {
    long n = 0;
    for (Request* r : s.running)
      n += r->prefill_done();
    return n;
  };
  while (s.kv_used + decoding() > s.kv_capacity && !s.running.empty()) {
    preempt(s, s.running.back());
    p.preempted++;
  }
}

namespace {

// Admits a waiting request if a sequence slot and KV for `kv_needed` tokens are free.
bool admit(EngineState& s, long kv_needed)
{
  if (long(s.running.size()) >= s.max_seqs || s.kv_used + kv_needed > s.kv_capacity) return false;
  Request* r = s.waiting.front();
  s.waiting.pop_front();
  s.running.push_back(r);
  if (r->arrived_by_transfer) { // KV arrived over the fabric: it occupies memory from now on
    r->kv_tokens = r->target_prefill;
    s.kv_used += r->kv_tokens;
  }
  return true;
}

// Admits waiting requests that arrived with their KV (disaggregated decode), FCFS.
void admit_transferred(EngineState& s)
{
  while (!s.waiting.empty() && s.waiting.front()->arrived_by_transfer)
    if (!admit(s, s.waiting.front()->target_prefill + 1)) break;
}

// Tokens of a prompt with `remaining` tokens to put in this step; 0 = none. Whole prompts may exceed the budget
// when they are alone in the step (else a prompt longer than the budget would never run).
long prefill_chunk(const EngineState& s, const StepPlan& p, long remaining, long budget, bool whole_prompts)
{
  if (!whole_prompts) return std::min({remaining, budget, s.chunk_tokens});
  return (remaining <= budget || p.prefill.empty()) ? remaining : 0;
}

// Prefill chunks for running then waiting requests, within `budget` tokens.
void fill_prefill(EngineState& s, StepPlan& p, long budget, bool whole_prompts)
{
  for (Request* r : s.running) {
    if (budget <= 0) return;
    if (r->prefill_done()) continue;
    long n = prefill_chunk(s, p, r->target_prefill - r->prefilled, budget, whole_prompts);
    if (n <= 0) return;
    if (s.kv_used + n > s.kv_capacity) return;
    s.kv_used += n;
    r->kv_tokens += n;
    add_prefill(p, r, n);
    budget -= n;
  }
  while (budget > 0 && !s.waiting.empty()) {
    Request* r = s.waiting.front();
    if (r->arrived_by_transfer) {
      if (!admit(s, r->target_prefill + 1)) return;
      continue;
    }
    long n = prefill_chunk(s, p, r->target_prefill, budget, whole_prompts);
    if (n <= 0) return;
    if (!admit(s, n)) return;
    s.kv_used += n;
    r->kv_tokens += n;
    add_prefill(p, r, n);
    budget -= n;
  }
}

// vLLM v1 / Sarathi-Serve: decode tokens first, then prefill chunks in the remaining token budget.
class ChunkedPrefill : public Scheduler {
public:
  StepPlan plan(EngineState& s) const override
  {
    StepPlan p;
    admit_transferred(s);
    reserve_decode_tokens(s, p);
    long budget = s.token_budget;
    for (Request* r : s.running)
      if (r->prefill_done() && budget > 0) {
        add_decode(p, r);
        budget--;
      }
    fill_prefill(s, p, budget, false);
    return p;
  }
};

// vLLM v0 default: whole prompts in prefill-only steps whenever one can be admitted, else a decode step.
class PrefillFirst : public Scheduler {
public:
  StepPlan plan(EngineState& s) const override
  {
    StepPlan p;
    admit_transferred(s);
    fill_prefill(s, p, s.token_budget, true);
    if (!p.empty()) return p;
    reserve_decode_tokens(s, p);
    for (Request* r : s.running)
      if (r->prefill_done()) add_decode(p, r);
    return p;
  }
};

} // namespace

const SchedulerRegistry& scheduler_registry()
{
  static const SchedulerRegistry reg = [] {
    SchedulerRegistry r("scheduler");
    r.add("vllm", "continuous batching, decode first, chunked prefill in the token budget (vLLM v1, Sarathi-Serve)",
          [] { return std::make_unique<ChunkedPrefill>(); });
    r.add("prefill_first", "continuous batching, whole-prompt prefill steps take priority (vLLM v0 default)",
          [] { return std::make_unique<PrefillFirst>(); });
    return r;
  }();
  return reg;
}

} // namespace fs
