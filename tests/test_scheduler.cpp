// The serving core without SimGrid: KV cache blocks, both schedulers, preemption, hand-offs, token counting.
// Each "finding" case reproduces a bug of the first engine (docs/design.md, "Engine semantics").
#include "engine_core.hpp"
#include <deque>
#include <doctest/doctest.h>
#include <random>
#include <stdexcept>

using namespace fs;

namespace {

// Records what a core reports.
struct Recorder : CoreListener {
  double input = 0, output = 0;
  std::vector<Request*> handed, finished;
  void on_tokens(double, double in, double out) override
  {
    input += in;
    output += out;
  }
  void on_prefilled(Request* r, double) override { handed.push_back(r); }
  void on_finished(Request* r, double) override { finished.push_back(r); }
};

struct Bench {
  std::unique_ptr<Scheduler> sched;
  Recorder rec;
  EngineCore core;
  std::deque<Request> reqs;                    // stable addresses
  const std::deque<Request>* others = nullptr; // requests of another bench that may hold blocks here
  double now = 0;

  Bench(const char* type, Role role, long capacity, int block, SchedulerLimits lim, int ves = 1)
      : sched(scheduler_registry().make(type)), core(CoreConfig{role, capacity, block, ves, lim, {}}, *sched, rec)
  {
  }
  Request* add(long input, long output)
  {
    Request& r = reqs.emplace_back();
    r.spec.id = long(reqs.size()) - 1;
    r.spec.input_tokens = input;
    r.spec.output_tokens = output;
    r.target_prefill = input;
    core.submit(&r);
    return &r;
  }
  // Plans and completes one step of virtual engine `ve`.
  StepPlan step(int ve = 0)
  {
    StepPlan p = core.plan(ve);
    check_invariants();
    if (!p.empty()) {
      now += 0.01;
      core.complete(ve, p, 1, &now);
    }
    check_invariants();
    return p;
  }
  void check_invariants() const
  {
    long blocks = 0;
    std::vector<const Request*> all;
    for (const Request& r : reqs)
      all.push_back(&r);
    if (others)
      for (const Request& r : *others)
        all.push_back(&r);
    for (const Request* rp : all) {
      const Request& r = *rp;
      if (r.kv.held_by(core.kv())) {
        CHECK(r.kv.blocks() == core.kv().blocks_for(r.kv.tokens()));
        CHECK(r.context <= r.kv.tokens());
        blocks += r.kv.blocks();
      }
      if (r.kv_outgoing.held_by(core.kv())) blocks += r.kv_outgoing.blocks();
    }
    CHECK(blocks + core.run_blocks() == core.kv().used_blocks());
    CHECK(core.kv().used_blocks() <= core.kv().capacity_blocks());
    for (int v = 0; v < core.virtual_engines(); ++v) { // what lets a plan skip the prefill walk
      const EngineState& st = core.state(v);
      CHECK(st.prefilling == std::count_if(st.running.begin(), st.running.end(),
                                           [](const Request* r) { return !r->prefill_complete(); }));
    }
  }
};

SchedulerLimits limits(long seqs, long budget, long chunk) { return {seqs, budget, chunk}; }

} // namespace

TEST_CASE("a request's decode-hot fields are in its first cache line")
{
  // What a decode step reads and writes of each request of its batch (EngineCore::complete, add_decodes,
  // start_run): one line per request and step, which is what a factory too large for
  // the cache pays (request.hpp).
  Request r;
  const char* base = reinterpret_cast<const char*>(&r);
  auto end_of = [&](const auto& field) { return reinterpret_cast<const char*>(&field) + sizeof(field) - base; };
  CHECK(alignof(Request) == 64);
  for (long end : {end_of(r.kv), end_of(r.loading), end_of(r.in_step), end_of(r.context), end_of(r.generated),
                   end_of(r.target_prefill), end_of(r.prefilled), end_of(r.spec.output_tokens)})
    CHECK(end <= 64);
  CHECK(sizeof(KvSeq) <= 20);
}

TEST_CASE("KV cache: blocks, reserve, trim, free, transfer out")
{
  KvCache kv(100, 16); // 6 whole blocks
  CHECK(kv.capacity_blocks() == 6);
  KvSeq a, b, held;
  CHECK(kv.reserve(a, 17)); // 2 blocks
  CHECK(a.blocks() == 2);
  CHECK(kv.used_blocks() == 2);
  CHECK(kv.reserve(a, 32)); // still 2
  CHECK(kv.used_blocks() == 2);
  CHECK_FALSE(kv.reserve(b, 5 * 16 + 1)); // 6 blocks needed, 4 free: nothing changes
  CHECK_FALSE(b.held());
  CHECK(kv.used_blocks() == 2);
  CHECK(kv.reserve(b, 64));
  CHECK(kv.free_blocks() == 0);
  kv.trim(b, 20); // back to 2 blocks
  CHECK(kv.free_blocks() == 2);
  CHECK(kv.extra_blocks(b, 33) == 1);
  kv.transfer_out(a, held);
  CHECK_FALSE(a.held());
  CHECK(held.outgoing());
  CHECK(kv.outgoing_blocks() == 2);
  CHECK(kv.used_blocks() == 4); // still here until the pull ends
  kv.free(held);
  CHECK(kv.used_blocks() == 2);
  KvCache another(100, 16); // a sequence is its cache's alone
  CHECK(b.held_by(kv));
  CHECK_FALSE(b.held_by(another));
  CHECK_THROWS_AS(another.trim(b, 10), std::logic_error);
  CHECK(kv.outgoing_blocks() == 0);
  CHECK(kv.peak_blocks() == 6);
  KvCache other(100, 16);
  CHECK_THROWS_AS(other.free(b), std::logic_error);   // a sequence of another cache
  CHECK_THROWS_AS(kv.trim(b, 100), std::logic_error); // beyond its reservation
}

TEST_CASE("finding 2: admission and prefill chunks count the decode tokens of the same step")
{
  // Capacity 1000 tokens, 10 sequences decoding with 990 tokens held: the step appends 10 decode tokens, so a
  // 10-token prompt must wait (the first engine admitted it and held 1010 after the step).
  Bench b("vllm", Role::mixed, 1000, 1, limits(256, 8192, 8192));
  for (int i = 0; i < 10; ++i)
    b.add(98, 100);
  b.step(); // prefill all ten: 980 tokens, each samples its first token
  CHECK(b.core.kv().used_blocks() == 980);
  b.step(); // one decode step: 990
  CHECK(b.core.kv().used_blocks() == 990);
  Request* prompt = b.add(10, 5);
  StepPlan p = b.step();
  CHECK(p.decode.size() == 10);
  CHECK(p.prefill.empty()); // no room for the prompt next to the decode tokens
  CHECK(prompt->context == 0);
  CHECK(b.core.kv().used_blocks() == 1000);
  CHECK(b.core.kv().used_blocks() <= b.core.kv().capacity_blocks());
}

TEST_CASE("finding 3: a request preempted in a step is not re-admitted by that step")
{
  // Two sequences fill the cache; the next decode step needs one more block for the older, so the newer is
  // preempted. Its two blocks are free again, but the first engine's re-admission in the same step is gone.
  Bench b("vllm", Role::mixed, 64, 16, limits(256, 8192, 8192));
  Request* old = b.add(31, 3);
  Request* young = b.add(16, 100);
  b.step(); // prefill both: 2 + 1 blocks; each samples a token
  b.step(); // decode: old 32 tokens (2 blocks), young 17 (2 blocks) = 4 blocks, full
  CHECK(b.core.kv().free_blocks() == 0);
  StepPlan p = b.core.plan(0); // old needs a third block: young goes back to the queue
  CHECK(p.preempted == 1);
  CHECK(young->preemptions == 1);
  CHECK(p.decode == std::vector<Request*>{old});
  CHECK(p.prefill.empty()); // young stays queued in this step
  CHECK(b.core.kv().free_blocks() == 1);
  b.now += 0.01;
  b.core.complete(0, p, 1, &b.now); // old finishes
  b.check_invariants();
  CHECK(b.rec.finished == std::vector<Request*>{old});
  StepPlan next = b.core.plan(0); // the next step takes it back: recompute of prompt + generated tokens
  REQUIRE(next.prefill.size() == 1);
  CHECK(next.prefill[0].first == young);
  CHECK(next.prefill[0].second == 16 + 2);
}

TEST_CASE("finding 5: prompt tokens recomputed after a preemption in the middle of a prefill count once")
{
  // Capacity 110 tokens, chunks of 39 (budget 40 less one decode token). X's second chunk does not fit next to
  // A's decode, so X is preempted after 39 of its 100 prompt tokens, again and again until A finishes.
  Bench b("vllm", Role::mixed, 110, 1, limits(256, 40, 40));
  Request* a = b.add(40, 60);
  b.step();
  Request* x = b.add(100, 2);
  for (int i = 0; i < 200 && b.rec.finished.size() < 2; ++i)
    b.step();
  REQUIRE(b.rec.finished.size() == 2);
  CHECK(x->preemptions >= 2);
  CHECK(b.rec.input == 140); // A's 40 + X's 100; the first engine counted X's first chunk again each time
  CHECK(x->input_counted == 100);
  CHECK(b.rec.output == 62);
  CHECK(a->finish > 0);
}

TEST_CASE("chunked prefill (vllm): decode first, chunks fill the token budget, FCFS admission")
{
  Bench b("vllm", Role::mixed, 100000, 16, limits(256, 8192, 8192));
  Request* long_prompt = b.add(20000, 4);
  Request* second = b.add(100, 4);
  StepPlan p = b.step();
  REQUIRE(p.prefill.size() == 1);
  CHECK(p.prefill[0] == std::pair<Request*, long>{long_prompt, 8192});
  p = b.step();
  CHECK(p.prefill[0].second == 8192);
  p = b.step(); // the rest of the long prompt, then the second prompt in what is left of the budget
  REQUIRE(p.prefill.size() == 2);
  CHECK(p.prefill[0] == std::pair<Request*, long>{long_prompt, 20000 - 2 * 8192});
  CHECK(p.prefill[1] == std::pair<Request*, long>{second, 100});
  CHECK(long_prompt->first_token > 0);
  p = b.step(); // both decode
  CHECK(p.decode.size() == 2);
  CHECK(p.batch.decode_context_sum == (20000 + 1) + (100 + 1));
}

TEST_CASE("prefill_first: whole prompts in prefill-only steps, decode when nothing can be admitted")
{
  Bench b("prefill_first", Role::mixed, 100000, 16, limits(256, 4096, 4096));
  Request* a = b.add(3000, 3);
  Request* c = b.add(3000, 3);
  StepPlan p = b.step();
  CHECK(p.prefill.size() == 1); // the second prompt does not fit the budget with the first
  CHECK(p.decode.empty());
  p = b.step();
  CHECK(p.prefill == std::vector<std::pair<Request*, long>>{{c, 3000}});
  CHECK(p.decode.empty()); // a waits while a prompt runs
  p = b.step();
  CHECK(p.decode.size() == 2);
  CHECK(a->generated == 2);
  Request* big = b.add(9000, 2); // longer than the budget: runs alone
  p = b.step();
  CHECK(p.prefill == std::vector<std::pair<Request*, long>>{{big, 9000}});
}

TEST_CASE("preemption order: newest first, never a sequence already in the step")
{
  Bench b("vllm", Role::mixed, 16 * 6, 16, limits(256, 8192, 8192));
  Request* r1 = b.add(16, 50);
  Request* r2 = b.add(16, 50);
  Request* r3 = b.add(16, 50);
  b.step();                    // 3 blocks
  b.step();                    // each 17 tokens: 6 blocks, full
  StepPlan p = b.core.plan(0); // all fit (17 -> 18 stays in 2 blocks)
  CHECK(p.preempted == 0);
  b.now += 0.01;
  b.core.complete(0, p, 1, &b.now);
  for (int i = 0; i < 14; ++i)
    b.step(); // contexts reach 32: the next token needs a third block each
  CHECK(r1->context == 32);
  p = b.core.plan(0);
  CHECK(p.preempted == 1);
  CHECK(r3->preemptions == 1); // the newest goes back
  CHECK(r1->preemptions == 0);
  CHECK(r2->preemptions == 0);
  CHECK(p.decode == std::vector<Request*>{r1, r2});
  b.now += 0.01;
  b.core.complete(0, p, 1, &b.now);
  b.check_invariants();
}

TEST_CASE("KV invariants hold under random load, every scheduler, with fast-mode runs cut short")
{
  for (const char* type : {"vllm", "prefill_first", "trtllm"}) { // trtllm: whole sequences reserved at admission
    std::mt19937_64 rng(7);
    Bench b(type, Role::mixed, 4000, 16, limits(32, 512, 256), 1);
    std::uniform_int_distribution<long> len(1, 900), out(1, 300);
    int submitted = 0;
    for (int step = 0; step < 40000 && (submitted < 300 || b.rec.finished.size() < 300); ++step) {
      if (submitted < 300 && rng() % 3 == 0) {
        b.add(len(rng), out(rng));
        submitted++;
      }
      StepPlan p = b.core.plan(0);
      b.check_invariants();
      if (p.empty()) continue;
      // A fast-mode run of decode steps, sometimes cut short as an arrival would (before it lands, or found out
      // only when it lands).
      const int k = b.core.start_run(p, 64);
      b.check_invariants();
      const int taken = k > 1 ? int(1 + rng() % k) : 1;
      if (k > 1) CHECK(b.core.run_need_between(k, taken) == b.core.run_need(k) - b.core.run_need(taken));
      if (taken < k && rng() % 2) {
        b.core.trim_run(taken);
        b.check_invariants();
      }
      std::vector<double> ends(taken);
      for (double& e : ends)
        e = b.now += 0.01;
      b.core.complete(0, p, taken, ends.data());
      b.check_invariants();
    }
    CHECK_MESSAGE(b.rec.finished.size() == 300, type);
    long in = 0, outp = 0;
    for (const Request& r : b.reqs) {
      in += r.spec.input_tokens;
      outp += r.spec.output_tokens;
    }
    CHECK(b.rec.input == in);
    CHECK(b.rec.output == outp);
    CHECK(b.core.kv().used_blocks() == 0);
    if (std::string(type) == "trtllm") CHECK(b.core.preemptions() == 0); // what its whole reservations guarantee
  }
}

TEST_CASE("P/D: the prefill side holds the KV until it is pulled and stalls when full of it")
{
  Bench p("vllm", Role::prefill, 16 * 4, 16, limits(256, 8192, 8192));
  Bench d("vllm", Role::decode, 16 * 8, 16, limits(1, 8192, 8192)); // one decode slot
  d.others = &p.reqs;
  Request* a = p.add(32, 4);
  Request* c = p.add(32, 4);
  p.step(); // both prefilled: 4 blocks held for hand-off, the first token sampled, no first_token yet
  REQUIRE(p.rec.handed.size() == 2);
  CHECK(a->first_token < 0);
  CHECK(p.core.kv().used_blocks() == 4);
  CHECK(p.core.kv().outgoing_blocks() == 4);
  Request* e = p.add(16, 4);
  CHECK(p.step().empty()); // a third prompt waits: the cache is full of KV nobody has pulled yet
  CHECK(e->context == 0);
  // The decode instance admits one (one slot), reserving blocks before it pulls.
  for (Request* r : p.rec.handed)
    d.core.submit_handoff(r);
  StepPlan pd = d.core.plan(0);
  CHECK(pd.pulls == std::vector<Request*>{a});
  CHECK(pd.empty()); // nothing to compute while the KV travels
  CHECK(d.core.kv().used_blocks() == 2);
  p.core.release_outgoing(a); // the pull ended
  d.core.loaded(a, 1.0);
  CHECK(a->first_token == 1.0); // the first token leaves the decode side
  CHECK(p.core.kv().used_blocks() == 2);
  CHECK(p.step().prefill.size() == 1); // the waiting prompt gets in now
  while (d.rec.finished.empty())
    d.step();
  StepPlan second = d.core.plan(0); // the slot is free: c is admitted now
  CHECK(second.pulls == std::vector<Request*>{c});
  CHECK(c->first_token < 0); // its wait belongs to TTFT
}

TEST_CASE("virtual engines: requests spread over the pipeline's micro-batch slots, sharing one KV cache")
{
  Bench b("vllm", Role::mixed, 10000, 16, limits(2, 8192, 8192), 2);
  std::vector<Request*> rs;
  for (int i = 0; i < 4; ++i)
    rs.push_back(b.add(100, 10));
  CHECK(rs[0]->ve != rs[1]->ve); // least outstanding work first
  StepPlan p0 = b.core.plan(0), p1 = b.core.plan(1);
  CHECK(p0.prefill.size() == 2); // max_num_seqs per virtual engine
  CHECK(p1.prefill.size() == 2);
  CHECK(b.core.kv().used_blocks() == 4 * 7);
}

TEST_CASE("decode tokens come out of the token budget before blocks are reserved for them")
{
  // Two decoding sequences, a budget of one token: the second gets no token this step, so it must neither take
  // a block nor cause a preemption (review finding on the first Engine v2 draft).
  KvCache kv(48, 16);
  EngineState s;
  s.kv = &kv;
  s.limits = limits(256, 1, 1);
  Request a, b;
  for (auto [r, ctx] : {std::pair{&a, 20L}, std::pair{&b, 16L}}) {
    r->spec.input_tokens = ctx;
    r->spec.output_tokens = 10;
    r->target_prefill = r->prefilled = r->context = ctx;
    r->generated = 1;
    REQUIRE(kv.reserve(r->kv, ctx));
    s.running.push_back(r);
  }
  CHECK(kv.free_blocks() == 0);
  StepPlan p = scheduler_registry().make("vllm")->plan(s);
  CHECK(p.decode == std::vector<Request*>{&a});
  CHECK(p.preempted == 0);
  CHECK(b.preemptions == 0);
  CHECK(b.kv.blocks() == 1);
}

TEST_CASE("trtllm (GUARANTEED_NO_EVICT): admits only what can finish, so nothing is ever preempted")
{
  // 10 blocks of 10 tokens; each request needs 30 + 40 = 7 blocks to finish. vLLM admits both prompts (3 blocks
  // each) and preempts when decoding outgrows the cache; TensorRT-LLM's default runs them one after the other.
  const SchedulerLimits lim{8, 256, 256};
  for (const char* type : {"vllm", "trtllm"}) {
    Bench b(type, Role::mixed, 100, 10, lim);
    Request* r1 = b.add(30, 40);
    Request* r2 = b.add(30, 40);
    const StepPlan first = b.step();
    CHECK(first.prefill.size() == (std::string(type) == "vllm" ? 2u : 1u));
    for (int i = 0; i < 200 && b.rec.finished.size() < 2; ++i)
      b.step();
    REQUIRE(b.rec.finished.size() == 2);
    if (std::string(type) == "trtllm") {
      CHECK(r1->preemptions + r2->preemptions == 0);
      CHECK(b.rec.finished[0] == r1);
    } else {
      CHECK(r1->preemptions + r2->preemptions > 0);
    }
    CHECK(b.rec.output == doctest::Approx(80));
  }
}

TEST_CASE("trtllm in P/D: the prefill side reserves the prompt, the decode side the whole sequence")
{
  // Each request: 32 + 48 tokens, 5 blocks of 16. The prefill cache (4 blocks) holds both prompts (2 blocks each)
  // although neither whole sequence would fit it; the decode cache (8 blocks) takes one whole sequence at a time, so
  // the second hand-off waits for the first to finish instead of both growing into a preemption.
  Bench p("trtllm", Role::prefill, 16 * 4, 16, limits(256, 8192, 8192));
  Bench d("trtllm", Role::decode, 16 * 8, 16, limits(256, 8192, 8192));
  d.others = &p.reqs;
  Request* a = p.add(32, 48);
  Request* c = p.add(32, 48);
  CHECK(p.step().prefill.size() == 2);
  REQUIRE(p.rec.handed.size() == 2);
  CHECK(p.core.kv().outgoing_blocks() == 4);
  for (Request* r : p.rec.handed)
    d.core.submit_handoff(r);
  StepPlan pulls = d.core.plan(0);
  CHECK(pulls.pulls == std::vector<Request*>{a});
  CHECK(d.core.kv().used_blocks() == 5);
  p.core.release_outgoing(a);
  d.core.loaded(a, 1.0);
  while (d.rec.finished.empty()) {
    StepPlan q = d.step();
    CHECK(q.pulls.empty()); // c waits while a's reservation is unfilled
    if (a->finish < 0) CHECK(a->kv.blocks() == 5);
  }
  CHECK(d.core.plan(0).pulls == std::vector<Request*>{c});
  CHECK(d.core.preemptions() == 0);
  CHECK(a->preemptions + c->preemptions == 0);
  // A decode cache exactly as large as the sequence (32 + 49 tokens: the last one's KV is never computed, 80 = 5
  // blocks) takes it, as the router's capacity check said it would (one token more would never fit, and block
  // every hand-off behind it).
  Bench p2("trtllm", Role::prefill, 16 * 4, 16, limits(256, 8192, 8192));
  Bench d2("trtllm", Role::decode, 16 * 5, 16, limits(256, 8192, 8192));
  d2.others = &p2.reqs;
  Request* e = p2.add(32, 49);
  p2.step();
  REQUIRE(p2.rec.handed.size() == 1);
  CHECK(e->context + e->remaining_output() == 80);
  d2.core.submit_handoff(e);
  CHECK(d2.core.plan(0).pulls == std::vector<Request*>{e});
  p2.core.release_outgoing(e);
  d2.core.loaded(e, 1.0);
  for (int i = 0; i < 100 && d2.rec.finished.empty(); ++i)
    d2.step();
  CHECK(e->generated == 49);
  CHECK(d2.core.kv().used_blocks() == 0);
}

TEST_CASE("trtllm keeps a request's whole-sequence reservation while it decodes, step by step or in runs")
{
  // 10 blocks of 10 tokens. r1 reserves its whole 30 + 40 tokens (7 blocks): r2 (20 + 20, 4 blocks) must wait until
  // r1 finishes. Had r1's first decode step given back the blocks it had not filled yet, r2 would get in beside it,
  // and r1 would run out of blocks before its end and preempt r2, which GUARANTEED_NO_EVICT never does.
  for (bool runs : {false, true}) {
    CAPTURE(runs);
    Bench b("trtllm", Role::mixed, 100, 10, limits(8, 256, 256));
    Request* r1 = b.add(30, 40);
    Request* r2 = b.add(20, 20);
    for (int i = 0; i < 200 && b.rec.finished.size() < 2; ++i) {
      StepPlan p = b.core.plan(0);
      b.check_invariants();
      if (p.empty()) continue;
      if (r1->kv.held()) CHECK(r1->kv.blocks() == 7);
      const int k = runs ? b.core.start_run(p, 5) : 1;
      if (k > 2 && i % 2) b.core.trim_run(k - 1); // cut short, as an arrival would
      const int taken = k > 2 && i % 2 ? k - 1 : k;
      std::vector<double> ends(static_cast<size_t>(taken));
      for (double& e : ends)
        e = b.now += 0.01;
      b.core.complete(0, p, taken, ends.data());
      b.check_invariants();
      if (r1->finish < 0) CHECK(r2->context == 0); // not admitted while r1 runs
    }
    REQUIRE(b.rec.finished.size() == 2);
    CHECK(b.rec.finished[0] == r1);
    CHECK(r1->preemptions + r2->preemptions == 0);
    CHECK(b.core.preemptions() == 0);
    CHECK(b.core.kv().used_blocks() == 0);
  }
}

TEST_CASE("fast-mode decode runs, cut short or not, end as the step-by-step engine does, hand-offs joining")
{
  // Two cores fed the same requests at the same step boundaries: one steps one step at a time (plan, complete), the
  // other in fast-mode runs (start_run), sometimes cut short (trim_run). Hand-offs join a decode batch as their KV
  // arrives, at random boundaries. Every request must end at the same step with the same tokens, and both caches
  // must hold the same blocks at every boundary, with the same peak. (What any change to how runs hold their blocks
  // or update their requests must keep.)
  for (const char* type : {"vllm", "prefill_first", "trtllm"})
    for (Role role : {Role::mixed, Role::decode}) {
      CAPTURE(std::string(type));
      CAPTURE(int(role));
      std::mt19937_64 rng(11);
      const long capacity = role == Role::decode ? 1600 : 3000; // blocks run out in both: runs stop short of them
      Bench a(type, role, capacity, 16, limits(24, 512, 256)), b(type, role, capacity, 16, limits(24, 512, 256));
      std::uniform_int_distribution<long> len(1, 400), out(1, 120);
      std::vector<std::pair<Request*, Request*>> loading; // hand-offs whose KV is on its way, in both cores
      auto handoff = [](Bench& x, long input, long output) {
        Request& r = x.reqs.emplace_back();
        r.spec.id = long(x.reqs.size()) - 1;
        r.spec.input_tokens = input;
        r.spec.output_tokens = output;
        r.target_prefill = r.prefilled = r.context = input; // prefilled elsewhere: the first token sampled there
        r.input_counted = input;
        r.generated = 1;
        x.core.submit_handoff(&r);
        return &r;
      };
      int submitted = 0;
      long steps = 0;
      for (int round = 0; round < 20000 && (submitted < 200 || b.rec.finished.size() < 200); ++round) {
        if (submitted < 200 && rng() % 3 == 0) {
          const long in = len(rng), o = out(rng) + 1;
          if (role == Role::decode)
            handoff(a, in, o), handoff(b, in, o);
          else
            a.add(in, o), b.add(in, o);
          submitted++;
        }
        for (size_t i = 0; i < loading.size();) // a pull ends
          if (rng() % 2) {
            a.core.loaded(loading[i].first, a.now);
            b.core.loaded(loading[i].second, b.now);
            loading.erase(loading.begin() + long(i));
          } else
            ++i;
        StepPlan p = a.core.plan(0);
        a.check_invariants();
        StepPlan q = b.core.plan(0);
        REQUIRE(p.decode.size() == q.decode.size());
        REQUIRE(p.prefill.size() == q.prefill.size());
        REQUIRE(p.pulls.size() == q.pulls.size());
        for (size_t i = 0; i < p.pulls.size(); ++i)
          loading.emplace_back(p.pulls[i], q.pulls[i]);
        CHECK(p.batch.decode_context_sum == q.batch.decode_context_sum);
        if (p.empty()) continue;
        const int k = a.core.start_run(p, 64);
        a.check_invariants();
        const int taken = k > 1 && rng() % 3 == 0 ? int(1 + rng() % k) : k;
        if (taken < k) a.core.trim_run(taken);
        std::vector<double> ends(static_cast<size_t>(taken));
        for (double& e : ends)
          e = a.now += 0.01;
        a.core.complete(0, p, taken, ends.data());
        a.check_invariants();
        for (int j = 0; j < taken; ++j) {
          if (j > 0) q = b.core.plan(0);
          REQUIRE(q.decode.size() == p.decode.size());
          b.now += 0.01;
          b.core.complete(0, q, 1, &b.now);
        }
        steps += taken;
        CHECK(a.core.kv().used_blocks() == b.core.kv().used_blocks());
        CHECK(a.core.outstanding() == b.core.outstanding());
        CHECK(a.rec.finished.size() == b.rec.finished.size());
      }
      REQUIRE(b.rec.finished.size() == 200);
      REQUIRE(a.rec.finished.size() == 200);
      for (size_t i = 0; i < a.reqs.size(); ++i) {
        CHECK(a.reqs[i].finish == doctest::Approx(b.reqs[i].finish).epsilon(1e-12));
        CHECK(a.reqs[i].generated == b.reqs[i].generated);
        CHECK(a.reqs[i].preemptions == b.reqs[i].preemptions);
      }
      CHECK(a.core.preemptions() == b.core.preemptions());
      CHECK(a.core.kv().peak_blocks() == b.core.kv().peak_blocks());
      CHECK(a.core.kv().used_blocks() == 0);
      MESSAGE(std::string(type) << " role " << int(role) << ": " << steps << " steps, " << a.core.preemptions()
                                << " preemptions, peak " << a.core.kv().peak_blocks() << " blocks");
    }
}
