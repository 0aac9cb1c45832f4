#include "engine_core.hpp"
#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace fs {

EngineCore::EngineCore(const CoreConfig& cfg, const Scheduler& sched, CoreListener& listener)
    : cfg_(cfg), sched_(sched), listener_(listener), kv_(cfg.kv_capacity_tokens, cfg.block_tokens),
      ves_(std::max(1, cfg.virtual_engines)), load_(ves_.size(), 0)
{
  if (cfg.prefix && cfg.role != Role::decode) prefix_ = std::make_unique<PrefixCache>(kv_, *cfg.prefix);
  for (EngineState& s : ves_) {
    s.kv = &kv_;
    s.prefix = prefix_.get();
    s.limits = cfg.limits;
    s.role = cfg.role;
  }
}

long EngineCore::load_of(const Request* r) const
{
  const long prefill = r->target_prefill - r->prefilled;
  return cfg_.role == Role::prefill ? prefill : prefill + r->remaining_output();
}

int EngineCore::least_loaded_ve() const { return int(std::min_element(load_.begin(), load_.end()) - load_.begin()); }

long EngineCore::waiting() const
{
  long n = 0;
  for (const EngineState& s : ves_)
    n += long(s.waiting.size() + s.incoming.size());
  return n;
}

long EngineCore::running() const
{
  long n = 0;
  for (const EngineState& s : ves_)
    n += long(s.running.size());
  return n;
}

void EngineCore::recount()
{
  for (size_t v = 0; v < ves_.size(); ++v) {
    long n = 0;
    for (const Request* r : ves_[v].waiting)
      n += load_of(r);
    for (const Request* r : ves_[v].incoming)
      n += load_of(r);
    for (const Request* r : ves_[v].running)
      n += load_of(r);
    load_[v] = n;
  }
  outstanding_ = std::accumulate(load_.begin(), load_.end(), 0L);
}

void EngineCore::add_load(int ve, long tokens)
{
  load_[ve] += tokens;
  outstanding_ += tokens;
}

void EngineCore::prefetch(const StepPlan& p) const
{
  // A batch's requests went cold while its step ran (other instances ran meanwhile): ask for all their lines at
  // once rather than missing on them one request at a time in complete().
  // What a decode step reads of a request is in its first (aligned) cache line (request.hpp).
  for (const Request* r : p.decode)
    __builtin_prefetch(r, 1);
}

void EngineCore::submit(Request* r)
{
  r->ve = least_loaded_ve();
  ves_[r->ve].waiting.push_back(r);
  add_load(r->ve, load_of(r));
}

void EngineCore::submit_handoff(Request* r)
{
  r->ve = least_loaded_ve();
  ves_[r->ve].incoming.push_back(r);
  add_load(r->ve, load_of(r));
}

void EngineCore::loaded(Request* r, double now)
{
  r->loading = false;
  if (r->first_token < 0) r->first_token = now; // the token the prefill sampled leaves the decode side
}

void EngineCore::release_outgoing(Request* r)
{
  kv_.free(r->kv_outgoing);
  if (prefix_) prefix_->release(r->spec.prefix_hashes, r->prefix_pinned);
}

void EngineCore::plan(int ve, StepPlan& p)
{
  sched_.plan(ves_[ve], p);
  if (p.preempted) preemptions_ += p.preempted;
  cached_tokens_ += p.cached_tokens;
  restored_tokens_ += p.restored_tokens;
  if (p.preempted || p.cached_tokens || p.restored_tokens)
    recount(); // a preempted request owes its prompt again; a hit owes less
}

int EngineCore::start_run(const StepPlan& p, int max_steps)
{
  if (!p.decode_only() || p.preempted || !p.pulls.empty()) return 1;
  if (run_) throw std::logic_error("a decode run started before the last one landed");
  long k = max_steps;
  // One pass over the (cold) requests; the search below reads this copy. Per sequence: tokens after its base,
  // blocks held. A scratch every core of the thread shares: it stays in cache.
  // A sequence whose whole reservation (kv_whole) holds the run's tokens needs no extra blocks for any step count: it
  // counts as its constant blocks (tokens -1).
  thread_local std::vector<std::pair<long, long>> seqs;
  seqs.clear();
  for (const Request* r : p.decode) {
    k = std::min(k, r->remaining_output());
    if (r->kv_whole && r->context + r->remaining_output() > r->kv.tokens())
      throw std::logic_error("a whole-sequence reservation smaller than the sequence");
    seqs.emplace_back(r->kv_whole ? -1 : r->context - r->kv.base_tokens(), r->kv.blocks());
  }
  // Blocks one sequence adds for `steps` more tokens (KvCache::extra_blocks); the plan reserved one token each. Find
  // the longest run whose extra blocks are all free.
  auto seq_extra = [&](long tokens, long blocks, long steps) {
    return tokens < 0 ? 0L : std::max(0L, kv_.blocks_for(tokens + steps) - blocks);
  };
  auto extra = [&](long steps) {
    long n = 0;
    for (auto [tokens, blocks] : seqs)
      n += seq_extra(tokens, blocks, steps);
    return n;
  };
  long lo = 1, hi = std::max(1L, k);
  long held = extra(hi);
  if (kv_.fits(held)) // the common case: blocks are not what stops the run
    lo = hi;
  else {
    hi--;
    while (lo < hi) {
      const long mid = (lo + hi + 1) / 2;
      if (kv_.fits(extra(mid)))
        lo = mid;
      else
        hi = mid - 1;
    }
    held = extra(lo);
  }
  if (lo == 1) return 1;
  // As KvCache::reserve would grow each sequence: in one count when they are free (nothing to evict: the same peak),
  // else sequence by sequence, so that cached chunks are evicted, and the peak recorded, at the same points.
  if (held <= kv_.free_blocks()) {
    if (!kv_.hold(held)) throw std::logic_error("decode run reserved more blocks than free");
  } else
    for (auto [tokens, blocks] : seqs)
      if (const long n = seq_extra(tokens, blocks, lo); n > 0 && !kv_.hold(n))
        throw std::logic_error("decode run reserved more blocks than free");
  run_ = &p;
  run_blocks_ = held;
  // What trim_run and views need without the requests: blocks_for(t + m) = t / B + ceil((t % B + m) / B).
  const long B = kv_.block_tokens();
  run_rem_.assign(size_t(B), 0);
  run_whole_ = run_start_blocks_ = 0;
  for (auto [tokens, blocks] : seqs) {
    if (tokens < 0)
      run_whole_ += blocks;
    else {
      run_rem_[size_t(tokens % B)]++;
      run_whole_ += tokens / B;
    }
    run_start_blocks_ += blocks;
  }
  return int(lo);
}

void EngineCore::trim_run(int steps)
{
  if (!run_) throw std::logic_error("trim_run without a decode run in flight");
  // Each sequence now holds blocks for `steps` more tokens, as KvCache::trim sets them; one with its whole sequence
  // reserved keeps what it held (start_run counted it as a constant).
  const long keep = run_need(steps) - run_start_blocks_;
  kv_.release(run_blocks_ - keep);
  run_blocks_ = keep;
}

void EngineCore::leave(EngineState& s, Request* r)
{
  s.stop(r);
  add_load(r->ve, -load_of(r));
}

void EngineCore::complete(int ve, const StepPlan& p, int steps, const double* ends)
{
  EngineState& s = ves_[ve];
  const double t_end = ends[steps - 1];
  if (!p.decode.empty()) listener_.on_decode_tokens(ends, steps, double(p.decode.size()));
  std::vector<Request*>& done = done_;
  std::vector<Request*>& handed = handed_;
  done.clear();
  handed.clear();
  for (auto [r, n] : p.prefill) {
    r->in_step = false;
    const long before = load_of(r);
    const bool was_prefilling = !r->prefill_complete();
    // Prompt tokens computed for the first time count as input; recomputing after a preemption does not.
    // (Prompt tokens found in the prefix cache count as input too: they are served, without compute.)
    const long new_input = std::max(0L, std::min(r->prefilled + n, r->spec.input_tokens) - r->input_counted);
    listener_.on_tokens(t_end, double(new_input), 0);
    r->input_counted = std::max(r->input_counted, std::min(r->prefilled + n, r->spec.input_tokens));
    r->prefilled += n;
    r->context += n;
    if (prefix_) prefix_->computed(r->spec.prefix_hashes, r->prefilled, r->kv, r->prefix_pinned);
    if (r->prefilled >= r->target_prefill) {
      r->generated++; // the prefill step samples the next token
      if (was_prefilling) s.prefilling--;
      listener_.on_tokens(t_end, 0, 1);
      if (r->first_token < 0 && (cfg_.role != Role::prefill || r->remaining_output() == 0)) r->first_token = t_end;
      if (r->remaining_output() == 0)
        done.push_back(r);
      else if (cfg_.role == Role::prefill)
        handed.push_back(r);
    }
    add_load(ve, load_of(r) - before);
  }
  if (run_ == &p) {
    // A run: each sequence now holds exactly its context (as a trim to it would leave it), out of the run's count;
    // one with its whole sequence reserved keeps it.
    run_ = nullptr;
    kv_.release(run_blocks_);
    for (Request* r : p.decode) {
      r->in_step = false;
      r->context += steps;
      r->generated += steps;
      kv_.settle(r->kv, r->kv_whole ? r->kv.tokens() : r->context);
      if (r->remaining_output() == 0) done.push_back(r);
    }
  } else {
    for (Request* r : p.decode) {
      r->in_step = false;
      r->context += steps;
      r->generated += steps;
      // Gives back what the plan reserved beyond it (not a whole-sequence reservation: trtllm's guarantee).
      if (r->kv.tokens() != r->context && !r->kv_whole) kv_.trim(r->kv, r->context);
      if (r->remaining_output() == 0) done.push_back(r);
    }
  }
  add_load(ve, -long(steps) * long(p.decode.size()));
  for (Request* r : done) {
    leave(s, r);
    kv_.free(r->kv);
    if (prefix_) prefix_->release(r->spec.prefix_hashes, r->prefix_pinned);
    r->finish = t_end;
    listener_.on_finished(r, t_end);
  }
  for (Request* r : handed) {
    leave(s, r);
    r->kv_whole = false;                     // the decode side reserves its own
    kv_.transfer_out(r->kv, r->kv_outgoing); // held here until the decode side has pulled it
    r->prefill_done = t_end;
    listener_.on_prefilled(r, t_end);
  }
}

} // namespace fs
