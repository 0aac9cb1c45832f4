#pragma once
#include "step_time_roofline.hpp"

namespace fs {

// Attention/FFN disaggregation for decode (MegaScale-Infer, Step-3 AFD; docs/model.md). Attention and the KV
// cache stay on the instance's chips (tp), the MLP or experts of every layer run on `ffn.chips` other chips
// (experts spread whole over them for MoE, the MLP split for dense models), and each layer's hidden states
// cross the fabric both ways. The batch is cut into m micro-batches that ping-pong between the sides, so a
// layer takes
//   cycle = max(m t_attn, m t_ffn, m t_xfer, t_attn + t_ffn + 2 t_xfer)
// with each t for one micro-batch (the busiest side bounds a full pipeline, the round trip an empty one), and
// a step takes host + layers x cycle + the LM head (on the attention chips).
class AfdStepTime : public StepTimeModel {
public:
  explicit AfdStepTime(const ReplicaConfig& cfg);
  StepTime step(const StepBatch& batch) const override;
  std::string calibration_label() const override { return attn_.calibration_label(); }

private:
  ReplicaConfig cfg_;
  FfnSide ffn_;
  RooflineStepTime attn_, mlp_; // each times ops on one chip of its side
  mutable std::vector<Op> ops_, a_ops_, f_ops_;
};

} // namespace fs
