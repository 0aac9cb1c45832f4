#include "step_time_sram.hpp"
#include <algorithm>

namespace fs {

SramPipelineStepTime::SramPipelineStepTime(const ReplicaConfig& cfg) : cfg_(cfg)
{
  if (cfg_.par.pipeline_chips <= 0) cfg_.par.pipeline_chips = cfg_.par.chips();
}

SramPipelineStepTime::ChipStep SramPipelineStepTime::chip_step(const StepBatch& batch) const
{
  const LlmSpec& m = cfg_.model;
  const ChipSpec& chip = cfg_.chip;
  // The whole model's work for this step (one layer's ops x layers, plus the LM head), then a 1/N share.
  layer_ops(m, 1, batch, cfg_.dtypes, ops_);
  double compute_s = 0, bytes = 0;
  auto add = [&](const Op& op, double times) {
    const Dtype dt = op.kind == OpKind::gemm ? cfg_.dtypes.weights : Dtype::bf16;
    if (op.flops > 0) compute_s += op.flops * op.repeat * times / chip.peak(dt);
    bytes += op.bytes * op.repeat * times;
  };
  for (const Op& op : ops_)
    add(op, m.num_layers);
  add(head_op(m, 1, batch, cfg_.dtypes), 1);
  const double n = cfg_.par.pipeline_chips;
  const double memory_s = bytes / chip.memory_bandwidth;
  ChipStep c;
  c.busy_s = std::max(compute_s, memory_s) / n;
  c.compute_bound = compute_s >= memory_s;
  c.hop_s = chip.scaleup.hop_latency_s + pp_activation_bytes(m, batch, cfg_.dtypes) / chip.scaleup.bandwidth;
  return c;
}

StepTime SramPipelineStepTime::step(const StepBatch& batch) const
{
  StepTime st;
  if (batch.empty()) return st;
  const ChipStep c = chip_step(batch);
  const int pp = cfg_.par.pp, n = cfg_.par.pipeline_chips;
  st.stages.resize(pp);
  for (int s = 0; s < pp; ++s) {
    StageTime& stage = st.stages[s];
    const int chips = stage_layers(n, pp, s); // consecutive chips of segment s
    const double inner_hops = (chips - 1) * c.hop_s;
    stage.busy_s = chips * c.busy_s + inner_hops;
    (c.compute_bound ? stage.phases.compute : stage.phases.memory) += chips * c.busy_s;
    stage.phases.comm += inner_hops;
    st.comm.pp_hop_s += inner_hops;
    if (s < pp - 1) {
      stage.hop_s = c.hop_s;
      st.comm.pp_hop_s += c.hop_s;
    }
  }
  st.total_s = 0;
  for (const StageTime& s : st.stages)
    st.total_s += s.busy_s + s.hop_s;
  return st;
}

} // namespace fs
