#pragma once
#include "step_time.hpp"

namespace fs {

// LPU-style SRAM-only chips (docs/model.md, "SRAM pipelines"). The model's weights and KV cache are spread over
// the N chips of an instance (Parallelism::pipeline_chips), each holding a 1/N slice of the layers in SRAM; a
// token visits the chips in sequence. Per chip and step:
//   t_chip = max(sum(flops / peak[dtype]), sum(bytes) / sram_bandwidth) / N
// (streaming chips overlap compute with SRAM reads), and each chip-to-chip hop costs
//   t_hop = hop_latency + activation_bytes / link_bandwidth.
// The chips are grouped into `pp` segments of consecutive chips; a segment is busy for its chips' t_chip and
// inner hops, and the engine keeps one micro-batch per segment in flight. Per-token latency is N x (t_chip +
// t_hop); throughput comes from the micro-batches in flight. No GPU-style efficiency derating: these chips are
// statically scheduled by their compiler and modelled at their datasheet peaks (an optimistic bound).
class SramPipelineStepTime : public StepTimeModel {
public:
  explicit SramPipelineStepTime(const ReplicaConfig& cfg);
  StepTime step(const StepBatch& batch) const override;
  std::string calibration_label() const override { return "datasheet"; }

  // Per-chip time of one step (t_chip above) and the hop after it, split by phase.
  struct ChipStep {
    double busy_s = 0;
    double hop_s = 0;
    bool compute_bound = false;
  };
  ChipStep chip_step(const StepBatch& batch) const;

private:
  ReplicaConfig cfg_;
  mutable std::vector<Op> ops_; // scratch
};

} // namespace fs
