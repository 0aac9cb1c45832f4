// Model unit tests with hand-computed numbers.
#include "catalog.hpp"
#include "cost.hpp"
#include "memory.hpp"
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
ReplicaConfig replica(const char* model, const char* chip, int tp)
{
  return {cat().models.at(model), cat().chips.at(chip), Parallelism{tp, 1}, OpDtypes{}};
}
} // namespace

TEST_CASE("Llama-3.1-70B parameters and KV bytes")
{
  const LlmSpec& m = cat().models.at("Llama-3.1-70B");
  CHECK(param_count(m) == doctest::Approx(70.55e9).epsilon(0.005)); // ~70.6 B
  // 80 layers x 8 KV heads x 128 x (K and V) x 2 bytes
  CHECK(kv_bytes_per_token(m, Dtype::bf16) == 327680);
  CHECK(kv_bytes_per_token_per_gpu(m, Dtype::bf16, {8, 1}) == 327680 / 8);
  CHECK(kv_bytes_per_token_per_gpu(m, Dtype::bf16, {16, 1}) == 327680 / 8); // KV heads replicated past 8
  CHECK(param_count(cat().models.at("Llama-3.1-8B")) == doctest::Approx(8.03e9).epsilon(0.005));
  CHECK(param_count(cat().models.at("Mixtral-8x7B")) == doctest::Approx(46.7e9).epsilon(0.01));
}

TEST_CASE("parallelism checks")
{
  const LlmSpec& m = cat().models.at("Llama-3.1-70B");
  CHECK(check_parallelism(m, {8, 1}).empty());
  CHECK(check_parallelism(m, {3, 1}).find("does not divide") != std::string::npos);
}

TEST_CASE("decode at batch 1 is bandwidth bound, a 4k prefill is compute bound (H100, TP1, 8B)")
{
  RooflineStepTime st(replica("Llama-3.1-8B", "H100", 1));
  StepBatch decode;
  decode.decode_seqs = 1;
  decode.decode_context_sum = 1000;
  decode.logits_tokens = 1;
  StepTime d = st.step(decode);
  CHECK(d.memory_bound_s > 10 * d.compute_bound_s);
  // ~16 GB of weights at 3.35 TB/s x 0.85 is ~5.6 ms; plus overheads.
  CHECK(d.total_s > 5.0e-3);
  CHECK(d.total_s < 9.0e-3);

  StepBatch prefill;
  prefill.prefill.push_back({4096, 0});
  prefill.logits_tokens = 1;
  StepTime p = st.step(prefill);
  CHECK(p.compute_bound_s > 5 * p.memory_bound_s);
  // 2 x 8e9 x 4096 = 65.5 TFLOP (+ attention) at 989 x ~0.8 TFLOP/s: ~85-110 ms
  CHECK(p.total_s > 0.080);
  CHECK(p.total_s < 0.130);
}

TEST_CASE("step time grows with context and batch; TP adds all-reduce")
{
  RooflineStepTime tp1(replica("Llama-3.1-70B", "H100", 4)), tp8(replica("Llama-3.1-70B", "H100", 8));
  StepBatch b;
  b.decode_seqs = 32;
  b.decode_context_sum = 32 * 1000.0;
  b.logits_tokens = 32;
  StepBatch longer = b;
  longer.decode_context_sum = 32 * 8000.0;
  CHECK(tp1.step(longer).total_s > tp1.step(b).total_s);
  CHECK(tp8.step(b).comm_s > 0);
  CHECK(tp8.step(b).total_s < tp1.step(b).total_s);
}

TEST_CASE("memory plan: KV capacity and models that do not fit")
{
  const LlmSpec& m = cat().models.at("Llama-3.1-70B");
  const ChipSpec& h100 = cat().chips.at("H100");
  MemoryPlan fit = plan_memory(m, h100, {4, 1}, {}, 0.9, 4e9);
  CHECK(fit.fits);
  const double expect = (80e9 * 0.9 - param_count(m) * 2 / 4 - 4e9) / (327680.0 / 4);
  CHECK(double(fit.kv_tokens) == std::floor(expect));
  MemoryPlan no = plan_memory(m, h100, {1, 1}, {}, 0.9, 4e9);
  CHECK_FALSE(no.fits);
  CHECK(no.why.find("raise tp") != std::string::npos);
}

TEST_CASE("cost: capex amortisation + energy")
{
  Economics e{0.10, 1.5, 5, 0.8};
  CostResult r = cost_per_hour({{"gpu", 8, 30000, 500}}, e);
  const double hours = 5 * 365.25 * 24;
  CHECK(r.capex_usd_per_hour == doctest::Approx(8 * 30000 / hours));
  CHECK(r.power_kw == doctest::Approx(4.0));
  CHECK(r.energy_usd_per_hour == doctest::Approx(4.0 * 1.5 * 0.10));
  CHECK(usd_per_million(3.6, 1000) == doctest::Approx(1.0)); // $3.6/h over 3.6 M tokens/h
  CHECK(accelerator_power_w(100, 700, 0.5, 0.8) == doctest::Approx(0.5 * 100 + 0.5 * 560));
}
