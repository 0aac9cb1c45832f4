// Chip families and placements of the heterogeneous factory: SRAM pipelines (LPU-style), expert parallelism.
#include "catalog.hpp"
#include "memory.hpp"
#include "scenario.hpp"
#include "step_time_afd.hpp"
#include "step_time_roofline.hpp"
#include "step_time_sram.hpp"
#include "support.hpp"
#include <doctest/doctest.h>
#include <fstream>

using namespace fs;

namespace {
const Catalog& cat()
{
  static const Catalog c = load_catalog();
  return c;
}
StepBatch decode(long seqs, double ctx)
{
  StepBatch b;
  b.decode_seqs = seqs;
  b.decode_context_sum = double(seqs) * ctx;
  b.logits_tokens = seqs;
  return b;
}
} // namespace

TEST_CASE("Llama-2-70B on Groq LPU v1, from catalog numbers alone: hundreds of chips, hundreds of tok/s per user")
{
  // Published: Groq served Llama-2-70B on 576 LPU v1 chips (Groq via HN item 39435411; "568 GroqChips", HN item
  // 39445809; >= 512 to hold INT8 70B + 4K context, isopack.blogspot.com "About that Groq demo", Feb 2024) at
  // ~240-300 output tokens/s per user (kickllm.com LLM speed benchmark; 100 tok/s in Aug 2023 per Moor Insights).
  const LlmSpec& m = cat().models.at("Llama-2-70B");
  const ChipSpec& lpu = cat().chips.at("Groq-LPU-v1");
  const OpDtypes d{Dtype::int8, Dtype::int8, Dtype::bf16};
  const double act = 2.0 * 256 * m.hidden_size * 2; // a 256-token step's hidden states in and out
  const long kv_tokens = 64 * 4096;                 // 64 users at the full 4K context
  const long chips = sram_chips_needed(m, lpu, d, 1.0, act, double(kv_tokens));
  MESSAGE("chips for Llama-2-70B int8 + 64 x 4K KV: " << chips);
  CHECK(chips >= 100);
  CHECK(chips < 1000);
  // Weights alone: 69 GB / 230 MB = ~300 chips.
  CHECK(sram_chips_needed(m, lpu, d, 1.0, act, 0) ==
        doctest::Approx(weight_bytes(m, Dtype::int8) / (lpu.memory_capacity_bytes - act)).epsilon(0.01));

  Parallelism p;
  p.pipeline_chips = int(chips);
  p.pp = m.num_layers;
  const MemoryPlan mp = plan_memory(m, lpu, p, d, 1.0, act);
  REQUIRE(mp.fits);
  CHECK(mp.kv_tokens >= kv_tokens);

  SramPipelineStepTime model({m, lpu, p, d, {}, {}});
  const StepTime one = model.step(decode(1, 2048));
  const double per_user = 1.0 / one.total_s;
  MESSAGE("per-user speed at batch 1: " << per_user << " tok/s (published ~240-300)");
  CHECK(per_user >= 100);
  CHECK(per_user < 1000);
  // Per-token latency is the chips in sequence: N x (t_chip + hop).
  const auto c = model.chip_step(decode(1, 2048));
  CHECK(one.total_s == doctest::Approx(chips * c.busy_s + (chips - 1) * c.hop_s));
  CHECK(one.stages.size() == size_t(m.num_layers));
  // Throughput comes from micro-batches in flight: a segment is busy for ~1/80 of the token latency, so 80
  // single-sequence micro-batches give ~80x the tokens/s of one.
  double max_busy = 0;
  for (const StageTime& s : one.stages)
    max_busy = std::max(max_busy, s.busy_s + s.hop_s);
  CHECK(one.total_s / max_busy > 60);
}

TEST_CASE("an SRAM pipeline too small for the model says how many chips it needs")
{
  const LlmSpec& m = cat().models.at("Llama-3.1-70B");
  const ChipSpec& lpu = cat().chips.at("Groq-LPU-v1");
  Parallelism p;
  p.pipeline_chips = 64;
  p.pp = 64;
  const MemoryPlan mp = plan_memory(m, lpu, p, OpDtypes{}, 0.9, 8e6);
  CHECK(!mp.fits);
  CHECK(mp.why.find("it needs at least") != std::string::npos);
  CHECK(mp.why.find("chips") != std::string::npos);
}

TEST_CASE("expert parallelism: experts whole on ep chips, all-to-all per layer, skew slows the busiest rank")
{
  const LlmSpec& m = cat().models.at("Mixtral-8x7B");
  const ChipSpec& h100 = cat().chips.at("H100");
  Parallelism tp8{8, 1};
  Parallelism ep8{8, 1};
  ep8.ep = 8;
  CHECK(check_parallelism(m, ep8).empty());
  Parallelism bad = ep8;
  bad.ep = 4;
  CHECK(check_parallelism(m, bad).find("ep must equal tp") != std::string::npos);
  CHECK(check_parallelism(cat().models.at("Llama-3.1-70B"), ep8).find("no experts") != std::string::npos);

  // Memory: attention replicated, experts spread: weights per chip = dense + experts / 8.
  const MemoryPlan a = plan_memory(m, h100, tp8, OpDtypes{}, 0.9, 4.0 * (1 << 30));
  const MemoryPlan b = plan_memory(m, h100, ep8, OpDtypes{}, 0.9, 4.0 * (1 << 30));
  const double experts = expert_param_count(m);
  CHECK(b.weight_bytes_per_chip == doctest::Approx((param_count(m) - experts + experts / 8) * 2));
  CHECK(b.weight_bytes_per_chip > a.weight_bytes_per_chip); // attention is no longer split

  const ServerSpec& sv = cat().servers.at("HGX-H100-8");
  auto time = [&](Parallelism p, const StepBatch& batch) {
    ReplicaConfig rc{m, h100, p, OpDtypes{}, {sv.chips_per_server, sv.nic_bandwidth_per_chip(), 6e-6}, {}};
    return RooflineStepTime(rc).step(batch);
  };
  const StepBatch batch = decode(256, 1024);
  const StepTime e = time(ep8, batch);
  CHECK(e.comm.alltoall_s > 0);
  CHECK(e.comm.allreduce_s[size_t(AllReduceAlgo::ring)] + e.comm.allreduce_s[size_t(AllReduceAlgo::one_shot)] +
            e.comm.allreduce_s[size_t(AllReduceAlgo::nvls)] ==
        0);
  Parallelism skew = ep8;
  skew.moe_imbalance = 2;
  CHECK(time(skew, batch).total_s > e.total_s);
  // The all-to-all moves k = 2 copies of each token's hidden state, 7/8 of them off-chip, per direction.
  const double bytes = 256.0 * 2 / 8 * m.hidden_size * 2 * 7 / 8;
  const double one = h100.scaleup.ring_base_latency_s + bytes / h100.scaleup.bandwidth;
  CHECK(e.comm.alltoall_s == doctest::Approx(2 * m.num_layers * one));
}

namespace {
Json scenario_file(const char* name)
{
  std::ifstream in(std::string("scenarios/") + name);
  return Json::parse(in);
}
std::string error_of(const Json& doc) { return test::scenario_error(doc); }
} // namespace

TEST_CASE("an LPU stage is sized from the workload, and its keys are checked")
{
  Json d = scenario_file("hetero_h100_prefill_lpu_decode.json");
  Scenario s = parse_scenario(d, "t.json");
  const StageConfig& st = s.placements.at(2).stage("decode");
  CHECK(st.par.pipeline_chips > 100);
  CHECK(st.par.pipeline_chips % 8 == 0); // whole GroqNodes
  CHECK(st.par.pp == s.model.num_layers);
  // The resolved scenario carries the derived size, so it re-runs as it is.
  CHECK(s.resolved["placements"][2]["stages"][1]["chips"] == st.par.pipeline_chips);

  Json e = d;
  e["placements"][2]["stages"][1]["chips"] = 64;
  CHECK(error_of(e).find("t.json: placements[2].stages[1].chips: Llama-3.1-70B") == 0);
  CHECK(error_of(e).find("it needs at least") != std::string::npos);
  e = d;
  e["placements"][0]["chips"] = 64;
  CHECK(error_of(e).find("t.json: placements[0].chips: applies to SRAM-pipeline chips only") == 0);
}

TEST_CASE("attention/FFN split: checked against both pools, FFN power charged to the FFN pool")
{
  Json d = scenario_file("moe_mixtral_ep_afd.json");
  Json e = d;
  e["placements"][2]["decode"]["ffn"]["chips"] = 3;
  CHECK(error_of(e).find("t.json: placements[2].decode.ffn.chips: 3 FFN chips do not divide the 8 experts") == 0);
  e = d;
  e["placements"][2]["decode"].erase("ffn");
  CHECK(error_of(e).find("t.json: placements[2].decode.ffn: missing required key") == 0);
  e = d;
  e["placements"][2]["type"] = "stages";
  e["placements"][2].erase("prefill");
  e["placements"][2].erase("decode");
  e["placements"][2]["stages"] = Json::parse(R"([{"name": "m", "pool": "h200", "instances": 1, "tp": 4,
                                                 "ffn": {"pool": "h100", "chips": 4}}])");
  CHECK(error_of(e).find("t.json: placements[2].stages[0].ffn: an attention/FFN split applies to decode stages") == 0);

  // The model: attention chips hold no MLP weights; a step costs at least the per-layer round trips.
  Scenario s = parse_scenario(d, "t.json");
  const StageConfig& st = s.placements.at(2).stage("decode");
  CHECK(st.par.ffn_offloaded);
  const ChipSpec& h200 = cat().chips.at("H200");
  ReplicaConfig rc{s.model, h200, st.par, s.dtypes, {8, 50e9, 6e-6}, {}};
  FfnSide f;
  f.chip = cat().chips.at("H100");
  f.chips = 4;
  f.bandwidth = 100e9;
  f.latency_s = 1e-3; // an absurd fabric: the round trips dominate
  rc.ffn = f;
  AfdStepTime afd(rc);
  const StepTime t = afd.step(decode(64, 1024));
  CHECK(t.total_s >= s.model.num_layers * 2 * 1e-3);
  CHECK(t.total_s < s.model.num_layers * 2 * 1e-3 * 1.25); // plus one micro-batch of attention and FFN per layer
  CHECK(t.summary().offload.total() > 0);
  CHECK(t.comm.afd_transfer_s > 0);
  const MemoryPlan with = plan_memory(s.model, h200, st.par, s.dtypes, 0.9, 4.0 * (1 << 30));
  Parallelism plain = st.par;
  plain.ffn_offloaded = false;
  const MemoryPlan without = plan_memory(s.model, h200, plain, s.dtypes, 0.9, 4.0 * (1 << 30));
  CHECK(without.weight_bytes_per_chip - with.weight_bytes_per_chip ==
        doctest::Approx(ffn_param_count(s.model) * 2 / st.par.tp));
}

TEST_CASE("a stage may hold its weights and KV cache in its own dtypes")
{
  Json d = scenario_file("hetero_placements_70b.json");
  d["dtype"] = "bf16";
  d["kv_dtype"] = "bf16";
  d["placements"][4]["prefill"]["dtype"] = "fp8";    // 70B in bf16 does not fit one CPX
  d["placements"][3]["stages"][1]["dtype"] = "int8"; // LPU decode: 8-bit weights and KV, H100 prefill in bf16
  d["placements"][3]["stages"][1]["kv_dtype"] = "int8";
  Scenario s = parse_scenario(d, "t.json");
  const StageConfig& pre = s.placements.at(3).stage("prefill");
  const StageConfig& dec = s.placements.at(3).stage("decode");
  CHECK(pre.dtypes.weights == Dtype::bf16);
  CHECK(dec.dtypes.weights == Dtype::int8);
  CHECK(dec.dtypes.kv == Dtype::int8);
  // Half the bytes per parameter and per cached token: about half the chips for the same KV budget.
  Json b = d;
  b["placements"][3]["stages"][1].erase("dtype");
  b["placements"][3]["stages"][1].erase("kv_dtype");
  b["pools"][2]["servers"] = 200; // bf16 needs more GroqNodes
  const Scenario t = parse_scenario(b, "t.json");
  const double ratio = double(t.placements.at(3).stage("decode").par.pipeline_chips) / dec.par.pipeline_chips;
  CHECK(ratio > 1.8);
  CHECK(ratio < 2.2);
  CHECK(s.resolved["placements"][3]["stages"][1]["kv_dtype"] == "int8");
  d["placements"][3]["stages"][1]["kv_dtype"] = "int7";
  CHECK(error_of(d).find("t.json: placements[3].stages[1].kv_dtype:") == 0);
}
