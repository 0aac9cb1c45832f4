#include "scheduler.hpp"
#include "schema.hpp"
#include <algorithm>

namespace fs {

void preempt(EngineState& s, Request* r)
{
  const long computed = r->context;
  s.stop(r);
  s.kv->free(r->kv);
  if (s.prefix) {
    s.prefix->release(r->spec.prefix_hashes, r->prefix_pinned);
    if (s.prefix->offload(r->spec.id, computed)) r->offloaded_tokens = computed;
  }
  r->kv_whole = false;
  r->prefilled = 0;
  r->context = 0;
  r->target_prefill = r->spec.input_tokens + r->generated; // recompute the prompt and what it generated
  r->preemptions++;
  s.waiting.push_front(r);
}

void add_prefill(StepPlan& p, Request* r, long n)
{
  r->in_step = true;
  p.prefill.push_back({r, n});
  p.batch.prefill.push_back({n, r->prefilled});
  if (r->prefilled + n >= r->target_prefill) p.batch.logits_tokens++;
}

bool preempt_until_reserved(EngineState& s, StepPlan& p, Request* r, long tokens)
{
  do {
    // The newest admitted sequence that is neither loading its KV nor already in this step goes back to the
    // queue (vLLM's recompute preemption). Searching from the back finds r itself before anything older.
    auto victim =
        std::find_if(s.running.rbegin(), s.running.rend(), [](Request* q) { return !q->loading && !q->in_step; });
    if (victim == s.running.rend()) return false;
    Request* v = *victim;
    preempt(s, v);
    p.preempted++;
    if (v == r) return false;
  } while (!s.kv->reserve(r->kv, tokens));
  return true;
}

void StepPlan::clear()
{
  prefill.clear();
  decode.clear();
  pulls.clear();
  batch.prefill.clear();
  batch.decode_seqs = 0;
  batch.decode_context_sum = 0;
  batch.logits_tokens = 0;
  preempted = 0;
  loads.clear();
  cached_tokens = 0;
  restored_tokens = 0;
}

void add_decodes(EngineState& s, StepPlan& p, long budget)
{
  // The step's counters are kept in locals: every request this writes (a bool) could alias them in memory.
  std::vector<Request*>& decode = p.decode;
  long seqs = p.batch.decode_seqs, logits = p.batch.logits_tokens;
  double context_sum = p.batch.decode_context_sum;
  for (size_t i = 0; i < s.running.size() && long(decode.size()) < budget;) {
    Request* r = s.running[i];
    if (r->loading || !r->prefill_complete() || r->in_step) {
      ++i;
      continue;
    }
    if (!reserve_or_preempt(s, p, r, r->context + 1)) {
      if (i < s.running.size() && s.running[i] == r) ++i; // else r left: the same index holds the next one
      continue;
    }
    r->in_step = true;
    decode.push_back(r);
    seqs++;
    context_sum += double(r->context + 1); // the token it attends from
    logits++;
    ++i;
  }
  p.batch.decode_seqs = seqs;
  p.batch.decode_context_sum = context_sum;
  p.batch.logits_tokens = logits;
}

void admit_incoming(EngineState& s, StepPlan& p, bool reserve_whole)
{
  while (!s.incoming.empty() && long(s.running.size()) < s.limits.max_seqs) {
    Request* r = s.incoming.front();
    // The whole sequence: what the router checked the decode side can hold (the last token's KV is never computed).
    const long tokens = reserve_whole ? r->context + r->remaining_output() : r->context;
    if (!s.kv->transfer_in(r->kv, tokens)) break;
    r->kv_whole = reserve_whole;
    s.incoming.pop_front();
    r->loading = true;
    s.run(r);
    p.pulls.push_back(r);
  }
}

bool start_from_cache(EngineState& s, StepPlan& p, Request* r)
{
  if (r->offloaded_tokens > 0) {
    // Its own KV comes back from the tier it was offloaded to (blocks first: else it waits, still offloaded).
    if (!s.kv->reserve(r->kv, r->offloaded_tokens)) return false;
    s.prefix->restore(r->spec.id, r->offloaded_tokens, p.loads);
    r->prefilled = r->context = r->offloaded_tokens; // the last sampled token is recomputed (vLLM swap-in)
    p.restored_tokens += r->offloaded_tokens;
    r->offloaded_tokens = 0;
    return true;
  }
  // At least the prompt's last token is computed: the step that samples the first output token needs it.
  const long hit = s.prefix->acquire(r->spec.prefix_hashes, r->target_prefill - 1, r->kv, p.loads, r->prefix_pinned);
  r->prefilled = r->context = hit;
  if (r->cached_tokens == 0 && r->preemptions == 0) r->cached_tokens = hit;
  p.cached_tokens += hit;
  return true;
}

namespace {

// Tokens of a prompt with `remaining` tokens to put in this step; 0 = none. Whole prompts may exceed the budget
// when they are alone in the step (else a prompt longer than the budget would never run).
long prefill_chunk(const EngineState& s, const StepPlan& p, long remaining, long budget, bool whole_prompts)
{
  if (!whole_prompts) return std::min({remaining, budget, s.limits.chunk_tokens});
  return (remaining <= budget || p.prefill.empty()) ? remaining : 0;
}

// Prefill chunks for running requests, then (unless this step preempted) admissions from the waiting queue,
// within `budget` tokens. Every chunk's blocks are reserved before it is scheduled; with `reserve_whole` an
// admission reserves the blocks of the request's whole sequence (prompt + output) at once.
void fill_prefill(EngineState& s, StepPlan& p, long budget, bool whole_prompts, bool reserve_whole = false)
{
  for (size_t i = 0; s.prefilling > 0 && i < s.running.size() && budget > 0;) {
    Request* r = s.running[i];
    if (r->loading || r->prefill_complete() || r->in_step) {
      ++i;
      continue;
    }
    const long n = prefill_chunk(s, p, r->target_prefill - r->prefilled, budget, whole_prompts);
    if (n <= 0) return;
    if (!reserve_or_preempt(s, p, r, r->context + n)) {
      if (std::find(s.running.begin(), s.running.end(), r) == s.running.end()) continue; // r itself went back
      return;                                                                            // nothing left to preempt
    }
    add_prefill(p, r, n);
    budget -= n;
    ++i;
  }
  if (p.preempted) return; // a request preempted now must not come back in the step that preempted it
  while (budget > 0 && !s.waiting.empty() && long(s.running.size()) < s.limits.max_seqs) {
    Request* r = s.waiting.front();
    if (s.prefix && !r->kv.held() && !start_from_cache(s, p, r)) return;
    const long n = prefill_chunk(s, p, r->target_prefill - r->prefilled, budget, whole_prompts);
    const long want =
        reserve_whole ? std::max(r->context + n, r->spec.input_tokens + r->spec.output_tokens) : r->context + n;
    if (n <= 0 || !s.kv->reserve(r->kv, want)) return;
    r->kv_whole = reserve_whole;
    s.waiting.pop_front();
    s.run(r);
    add_prefill(p, r, n);
    budget -= n;
  }
}

// vLLM v1 / Sarathi-Serve: decode tokens first, then prefill chunks in the remaining token budget.
class ChunkedPrefill : public Scheduler {
public:
  void plan(EngineState& s, StepPlan& p) const override
  {
    p.clear();
    add_decodes(s, p, s.limits.token_budget);
    fill_prefill(s, p, s.limits.token_budget - long(p.decode.size()), false);
    if (!p.preempted) admit_incoming(s, p);
  }
};

// vLLM v0 default: whole prompts in prefill-only steps whenever one can be admitted, else a decode step.
class PrefillFirst : public Scheduler {
public:
  void plan(EngineState& s, StepPlan& p) const override
  {
    p.clear();
    fill_prefill(s, p, s.limits.token_budget, true);
    if (p.prefill.empty()) add_decodes(s, p, s.limits.token_budget);
    if (!p.preempted) admit_incoming(s, p);
  }
};

// TensorRT-LLM's default capacity policy, GUARANTEED_NO_EVICT: a request starts only when the KV of its whole
// sequence (prompt + maximum output; here its actual output, which a benchmark's max_tokens equals) fits, so a
// started request is never paused; decode tokens first, then whole prompts in the token budget (context
// chunking is off by default). nvidia.github.io/TensorRT-LLM/performance/performance-tuning-guide/
// useful-runtime-flags.html
class GuaranteedNoEvict : public Scheduler {
public:
  void plan(EngineState& s, StepPlan& p) const override
  {
    p.clear();
    // A prefill instance of a P/D pair (TensorRT-LLM's context server) holds a prompt only until its KV is pulled:
    // it reserves the prompt; the decode side reserves the whole sequence when it admits the hand-off.
    add_decodes(s, p, s.limits.token_budget);
    fill_prefill(s, p, s.limits.token_budget - long(p.decode.size()), true, s.role != Role::prefill);
    if (!p.preempted) admit_incoming(s, p, true);
  }
};

} // namespace

const SchedulerRegistry& scheduler_registry()
{
  static const SchedulerRegistry reg = [] {
    SchedulerRegistry r("scheduler");
    r.add("vllm", "continuous batching, decode first, chunked prefill in the token budget (vLLM v1, Sarathi-Serve)",
          [] { return std::make_unique<ChunkedPrefill>(); });
    r.add("trtllm",
          "TensorRT-LLM in-flight batching, GUARANTEED_NO_EVICT (its default): admits a request only when its whole "
          "sequence's KV fits, never preempts; decode first, whole prompts in the token budget",
          [] { return std::make_unique<GuaranteedNoEvict>(); });
    r.add("prefill_first", "continuous batching, whole-prompt prefill steps take priority (vLLM v0 default)",
          [] { return std::make_unique<PrefillFirst>(); });
    return r;
  }();
  return reg;
}

const ObjectSpec& scheduler_spec()
{
  static const ObjectSpec o = [] {
    std::vector<std::string> types;
    for (auto const& [k, e] : scheduler_registry().entries())
      types.push_back(k);
    return ObjectSpec{"scheduler",
                      "iteration-level batching of every instance (a stage may override any key)",
                      {text("type", "batching policy", types),
                       integer("max_num_batched_tokens", 1, 1e7, "new tokens per step (at least max_num_seqs)"),
                       integer("max_num_seqs", 1, 1e6, "sequences running at once"),
                       integer("prefill_chunk_tokens", 1, 1e7, "longest prefill chunk (default: the token budget)"),
                       integer("block_size_tokens", 1, 4096, "KV cache block"),
                       num("gpu_memory_utilization", 0, 1, "share of device memory the engine may use", true),
                       num("activation_reserve_gib", 0, 1e4, "per chip, for activations and graphs, GiB")},
                      {{"activation_reserve_gb", renamed_to("activation_reserve_gib")}}};
  }();
  return o;
}

SchedulerConfig parse_scheduler_config(const JsonNode& n, const SchedulerConfig& base)
{
  n.expect_object();
  SchedulerConfig c = base;
  c.type = n.string("type", c.type);
  if (!scheduler_registry().has(c.type))
    n.fail("type", "unknown scheduler \"" + c.type + "\"; known: " + scheduler_registry().known());
  c.max_num_batched_tokens = n.positive_int("max_num_batched_tokens", c.max_num_batched_tokens);
  c.max_num_seqs = n.positive_int("max_num_seqs", c.max_num_seqs);
  // Without an explicit chunk size, chunks fill the token budget (vLLM's default).
  const bool chunk_follows = base.prefill_chunk_tokens == base.max_num_batched_tokens;
  c.prefill_chunk_tokens =
      n.positive_int("prefill_chunk_tokens", chunk_follows ? c.max_num_batched_tokens : c.prefill_chunk_tokens);
  c.block_size_tokens = n.positive_int("block_size_tokens", c.block_size_tokens);
  c.gpu_memory_utilization = n.fraction("gpu_memory_utilization", c.gpu_memory_utilization);
  c.activation_reserve_gib = n.non_negative("activation_reserve_gib", c.activation_reserve_gib);
  if (c.gpu_memory_utilization <= 0) n.fail("gpu_memory_utilization", "expected a fraction > 0");
  if (c.max_num_batched_tokens < c.max_num_seqs)
    n.fail("max_num_batched_tokens", "must be >= max_num_seqs (" + std::to_string(c.max_num_seqs) +
                                         ") so that every running sequence can decode in a step, as vLLM requires");
  n.done();
  return c;
}

Json scheduler_config_json(const SchedulerConfig& c)
{
  return {{"type", c.type},
          {"max_num_batched_tokens", c.max_num_batched_tokens},
          {"max_num_seqs", c.max_num_seqs},
          {"prefill_chunk_tokens", c.prefill_chunk_tokens},
          {"block_size_tokens", c.block_size_tokens},
          {"gpu_memory_utilization", c.gpu_memory_utilization},
          {"activation_reserve_gib", c.activation_reserve_gib}};
}

SchedulerLimits limits_of(const SchedulerConfig& c)
{
  return {c.max_num_seqs, c.max_num_batched_tokens, c.prefill_chunk_tokens};
}

} // namespace fs
