// Model unit tests with hand-computed numbers.
#include "catalog.hpp"
#include "collective.hpp"
#include "cost.hpp"
#include "memory.hpp"
#include "power.hpp"
#include "step_time_roofline.hpp"
#include <cmath>
#include <doctest/doctest.h>

using namespace fs;

namespace {
const Catalog& cat()
{
  static const Catalog c = load_catalog();
  return c;
}
ReplicaConfig replica(const char* model, const char* chip, int tp, int pp = 1)
{
  ReplicaConfig rc{cat().models.at(model), cat().chips.at(chip), Parallelism{tp, pp}, OpDtypes{}, {}, {}};
  const ServerSpec& sv = cat().servers.at("HGX-H100-8");
  rc.links = {sv.chips_per_server, sv.nic_bandwidth_per_chip(), 2 * sv.nic.latency_s + 4e-6};
  return rc;
}
StepBatch decode_batch(long seqs, double ctx)
{
  StepBatch b;
  b.decode_seqs = seqs;
  b.decode_context_sum = seqs * ctx;
  b.logits_tokens = seqs;
  return b;
}
double sum_phases(const StepTime& st, double PhaseSeconds::*f)
{
  double x = 0;
  for (auto const& s : st.stages)
    x += s.phases.*f;
  return x;
}
} // namespace

TEST_CASE("Llama-3.1-70B parameters and KV bytes")
{
  const LlmSpec& m = cat().models.at("Llama-3.1-70B");
  CHECK(param_count(m) == doctest::Approx(70.55e9).epsilon(0.005)); // ~70.6 B
  // 80 layers x 8 KV heads x 128 x (K and V) x 2 bytes
  CHECK(kv_bytes_per_token(m, Dtype::bf16) == 327680);
  CHECK(kv_bytes_per_token_per_chip(m, Dtype::bf16, {8, 1}) == 327680 / 8);
  CHECK(kv_bytes_per_token_per_chip(m, Dtype::bf16, {16, 1}) == 327680 / 8); // KV heads replicated past 8
  CHECK(kv_bytes_per_token_per_chip(m, Dtype::bf16, {4, 2}) == 327680 / 8);  // half the layers per stage
  CHECK(param_count(cat().models.at("Llama-3.1-8B")) == doctest::Approx(8.03e9).epsilon(0.005));
  CHECK(param_count(cat().models.at("Mixtral-8x7B")) == doctest::Approx(46.7e9).epsilon(0.01));
}

TEST_CASE("parallelism checks and pipeline stage split")
{
  const LlmSpec& m = cat().models.at("Llama-3.1-70B");
  CHECK(check_parallelism(m, {8, 1}).empty());
  CHECK(check_parallelism(m, {3, 1}).find("does not divide") != std::string::npos);
  CHECK(stage_layers(80, 3, 0) == 27);
  CHECK(stage_layers(80, 3, 1) == 27);
  CHECK(stage_layers(80, 3, 2) == 26);
  CHECK(Parallelism{4, 2}.chips() == 8);
}

TEST_CASE("decode at batch 1 is bandwidth bound, a 4k prefill is compute bound (H100, TP1, 8B)")
{
  RooflineStepTime st(replica("Llama-3.1-8B", "H100", 1));
  StepTime d = st.step(decode_batch(1, 1000));
  CHECK(sum_phases(d, &PhaseSeconds::memory) > 10 * sum_phases(d, &PhaseSeconds::compute));
  // ~16 GB of weights at 3.35 TB/s x 0.85 is ~5.6 ms; plus overheads.
  CHECK(d.total_s > 5.0e-3);
  CHECK(d.total_s < 9.0e-3);

  StepBatch prefill;
  prefill.prefill.push_back({4096, 0});
  prefill.logits_tokens = 1;
  StepTime p = st.step(prefill);
  CHECK(sum_phases(p, &PhaseSeconds::compute) > 5 * sum_phases(p, &PhaseSeconds::memory));
  // 2 x 8e9 x 4096 = 65.5 TFLOP (+ attention) at 989 x ~0.8 TFLOP/s: ~85-110 ms
  CHECK(p.total_s > 0.080);
  CHECK(p.total_s < 0.130);
}

TEST_CASE("step time grows with context and batch; TP adds all-reduce")
{
  RooflineStepTime tp4(replica("Llama-3.1-70B", "H100", 4)), tp8(replica("Llama-3.1-70B", "H100", 8));
  const StepBatch b = decode_batch(32, 1000), longer = decode_batch(32, 8000);
  CHECK(tp4.step(longer).total_s > tp4.step(b).total_s);
  CHECK(sum_phases(tp8.step(b), &PhaseSeconds::comm) > 0);
  CHECK(tp8.step(b).total_s < tp4.step(b).total_s);
}

TEST_CASE("all-reduce: the cheapest algorithm per message size (H100 NVLink4 + NVSwitch)")
{
  const ScaleUpSpec& h100 = cat().chips.at("H100").scaleup;
  // A decode step's all-reduce at TP8, batch 1 of a 70B model: 8192 x 2 bytes. One-shot: 3.9 + 7 x 0.45 us + the
  // reads of 7 x 16 KiB at 450 GB/s; a ring would take 6.6 + 14 x 0.6 us plus its bytes term.
  const CollectiveCost small = allreduce_cost(8192 * 2, 8, h100);
  CHECK(small.algo == AllReduceAlgo::one_shot);
  CHECK(small.seconds == doctest::Approx(3.9e-6 + 7 * 0.45e-6 + 7 * 16384 / 450e9));
  CHECK(small.seconds < 8e-6); // measured 7.8 us at 32 KB (sglang PR #2904), not the 35 us of 14 x 2.5 us
  CHECK(allreduce_seconds(AllReduceAlgo::ring, 8192 * 2, 8, h100) ==
        doctest::Approx(6.6e-6 + 14 * 0.6e-6 + 14.0 / 8 * 16384 / 370e9));
  // A 64 MiB prefill all-reduce: NVLS (480 GB/s bus bandwidth) beats the ring (370 GB/s).
  const CollectiveCost big = allreduce_cost(64.0 * (1 << 20), 8, h100);
  CHECK(big.algo == AllReduceAlgo::nvls);
  CHECK(big.seconds == doctest::Approx(10e-6 + 14.0 / 8 * 64 * (1 << 20) / 480e9));
  // A100 has no NVLS: large messages go around the ring.
  CHECK(allreduce_cost(64.0 * (1 << 20), 8, cat().chips.at("A100").scaleup).algo == AllReduceAlgo::ring);
  CHECK(allreduce_cost(1e6, 1, h100).seconds == 0);
}

TEST_CASE("TP8 is faster than TP4 for an 8B decode step, and the breakdown names the algorithm")
{
  RooflineStepTime tp4(replica("Llama-3.1-8B", "H100", 4)), tp8(replica("Llama-3.1-8B", "H100", 8));
  const StepBatch b = decode_batch(8, 2000);
  const StepTime s8 = tp8.step(b);
  CHECK(s8.total_s < tp4.step(b).total_s);
  CHECK(s8.comm.allreduce_s[size_t(AllReduceAlgo::one_shot)] > 0);
  CHECK(s8.comm.allreduce_s[size_t(AllReduceAlgo::ring)] == 0);
}

TEST_CASE("pipeline stages: each holds its share of the layers; hops cross the fabric only between servers")
{
  // 70B TP4 x PP2 on one 8-chip server: two stages of 40 layers, one NVLink hop.
  RooflineStepTime pp2(replica("Llama-3.1-70B", "H100", 4, 2)), pp1(replica("Llama-3.1-70B", "H100", 4, 1));
  const StepBatch b = decode_batch(64, 2000);
  const StepTime s2 = pp2.step(b), s1 = pp1.step(b);
  REQUIRE(s2.stages.size() == 2);
  REQUIRE(s1.stages.size() == 1);
  CHECK(s2.stages[1].hop_s == 0);
  const double act = 64 * 8192 * 2.0;
  const ScaleUpSpec& su = cat().chips.at("H100").scaleup;
  CHECK(s2.stages[0].hop_s == doctest::Approx(act / su.bandwidth + su.ring_base_latency_s + su.ring_step_latency_s));
  // Each stage does half the layer work (the last adds the LM head): about half the single-stage time.
  CHECK(s2.stages[0].busy_s == doctest::Approx(s1.stages[0].busy_s / 2).epsilon(0.05));
  CHECK(s2.stages[0].busy_s + s2.stages[1].busy_s == doctest::Approx(s1.stages[0].busy_s).epsilon(1e-9));
  // TP8 x PP2 spans two servers: the hop goes over a 400G NIC per chip.
  RooflineStepTime cross(replica("Llama-3.1-70B", "H100", 8, 2));
  const ServerSpec& sv = cat().servers.at("HGX-H100-8");
  CHECK(cross.step(b).stages[0].hop_s ==
        doctest::Approx(act / sv.nic_bandwidth_per_chip() + 2 * sv.nic.latency_s + 4e-6));
}

TEST_CASE("memory plan: KV capacity in the units the device reports, and models that do not fit")
{
  const LlmSpec& m = cat().models.at("Llama-3.1-70B");
  const ChipSpec& h100 = cat().chips.at("H100");
  CHECK(h100.memory_capacity_bytes == 81559.0 * 1024 * 1024); // nvidia-smi: 81,559 MiB, not 80e9 bytes
  const double gib = 1024.0 * 1024 * 1024;
  MemoryPlan fit = plan_memory(m, h100, {4, 1}, {}, 0.9, 4 * gib);
  CHECK(fit.fits);
  const double expect = (81559.0 * 1024 * 1024 * 0.9 - param_count(m) * 2 / 4 - 4 * gib) / (327680.0 / 4);
  CHECK(double(fit.kv_tokens) == std::floor(expect));
  // Pipelined: each stage holds its own weights and its layers' KV; the tightest stage bounds the replica.
  // 80 layers over 3 stages: 27 + embedding, 27, 26 + LM head; the first binds.
  MemoryPlan pp3 = plan_memory(m, h100, {4, 3}, {}, 0.9, 4 * gib);
  const double first = (27 * layer_param_count(m) + 128256.0 * 8192) * 2 / 4;
  CHECK(pp3.weight_bytes_per_chip == doctest::Approx(first));
  CHECK(double(pp3.kv_tokens) ==
        std::floor((81559.0 * 1024 * 1024 * 0.9 - first - 4 * gib) / (27 * 327680.0 / 80 / 4)));
  CHECK(stage_param_count(m, 3, 0) + stage_param_count(m, 3, 1) + stage_param_count(m, 3, 2) ==
        doctest::Approx(param_count(m)));
  MemoryPlan no = plan_memory(m, h100, {1, 1}, {}, 0.9, 4 * gib);
  CHECK_FALSE(no.fits);
  CHECK(no.why.find("raise tp") != std::string::npos);
  CHECK(no.why.find("GiB") != std::string::npos);
}

TEST_CASE("power by phase: compute-bound at the compute fraction, memory-bound lower, idle otherwise")
{
  const PowerSpec p{75, 700, 1.0, 0.54, 0.3};
  PhaseSeconds busy{2, 3, 1, 0.5}; // chip-seconds
  const double j = chip_energy_j(p, busy, 10);
  CHECK(j == doctest::Approx(2 * 700 + 3 * 0.54 * 700 + 1.5 * 0.3 * 700 + 3.5 * 75));
  // A fraction below idle never draws less than idle.
  CHECK(chip_energy_j({100, 700, 0.1, 0.1, 0.1}, {1, 0, 0, 0}, 1) == doctest::Approx(100));
}

TEST_CASE("cost: capex amortisation + energy")
{
  Economics e{0.10, 1.5, 5};
  CostResult r = cost_per_hour({{"gpu", 8, 30000, 500, "pool", "chip"}}, e);
  const double hours = 5 * 365.25 * 24;
  CHECK(r.capex_usd_per_hour == doctest::Approx(8 * 30000 / hours));
  CHECK(r.power_kw == doctest::Approx(4.0));
  CHECK(r.energy_usd_per_hour == doctest::Approx(4.0 * 1.5 * 0.10));
  CHECK(usd_per_million(3.6, 1000) == doctest::Approx(1.0)); // $3.6/h over 3.6 M tokens/h
}

TEST_CASE("decode runs: ends alone, a shorter run and a memoized batch size give the full computation's times")
{
  // Fast mode times a run's steps by their ends when it starts and makes the summaries of the steps it took when it
  // lands: both must be the numbers of the one computation, bit for bit.
  auto same = [](const StepSummary& a, const StepSummary& b) {
    CHECK(a.total_s == b.total_s);
    CHECK(a.busy_s == b.busy_s);
    CHECK(a.host_s == b.host_s);
    CHECK(a.phases.compute == b.phases.compute);
    CHECK(a.phases.memory == b.phases.memory);
    CHECK(a.phases.launch == b.phases.launch);
    CHECK(a.phases.comm == b.phases.comm);
    CHECK(a.offload.total() == b.offload.total());
    CHECK(a.comm.allreduce_s == b.comm.allreduce_s);
  };
  // pp = 1: the closed form (a memo per batch size); pp = 2: the step-by-step default, in chunks of 16.
  for (int pp : {1, 2}) {
    const RooflineStepTime model(replica("Llama-3.1-70B", "H100", 4, pp));
    const int n = 40;
    for (long seqs : {1L, 37L, 256L, 37L, 1L}) { // sizes again: the memo answers
      StepBatch b = decode_batch(seqs, 1000 + 7 * seqs);
      std::vector<StepSummary> full(n), part(n);
      model.decode_run(b, n, full.data());
      std::vector<double> ends(n);
      const double start = 12.5;
      model.decode_run_ends(b, n, start, ends.data());
      double t = start;
      for (int j = 0; j < n; ++j)
        CHECK(ends[j] == (t += full[j].total_s));
      model.decode_run(b, 9, part.data()); // a run truncated after 9 steps, timed again when it lands
      for (int j = 0; j < 9; ++j)
        same(part[j], full[j]);
      // Or from what the ends kept of each step: the same summaries, bit for bit.
      std::vector<double> kept(n), ends2(n);
      model.decode_run_ends(b, n, start, ends2.data(), kept.data());
      CHECK(ends2 == ends);
      for (int m : {1, 9, n}) {
        std::fill(part.begin(), part.end(), StepSummary{});
        model.decode_run_kept(b, m, kept.data(), part.data());
        for (int j = 0; j < m; ++j)
          same(part[j], full[j]);
      }
      const RooflineStepTime fresh(replica("Llama-3.1-70B", "H100", 4, pp)); // nothing memoized
      fresh.decode_run(b, n, part.data());
      for (int j = 0; j < n; ++j)
        same(part[j], full[j]);
      // Step j is the batch grown by j tokens per sequence.
      b.decode_context_sum += 5.0 * double(seqs);
      model.decode_run(b, 1, part.data());
      same(part[0], full[5]);
    }
    // Equal sizes with other logits (a batch whose prompts end) are not taken from the memo.
    StepBatch b = decode_batch(37, 900);
    StepSummary a, c;
    model.decode_run(b, 1, &a);
    b.logits_tokens = 38;
    model.decode_run(b, 1, &c);
    CHECK(c.total_s > a.total_s);
  }
}
