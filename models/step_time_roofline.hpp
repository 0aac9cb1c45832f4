#pragma once
#include "step_time.hpp"

namespace fs {

// t_op = max(flops / (peak[dtype] x eff_compute), bytes / (mem_bw x eff_mem)) + kernel overhead, summed over
// the step's ops; ring all-reduce over the scale-up link for TP; a fixed host overhead per step.
class RooflineStepTime : public StepTimeModel {
public:
  explicit RooflineStepTime(const ReplicaConfig& cfg);
  StepTime step(const StepBatch& batch) const override;
  std::string calibration_label() const override { return eff_->label(); }

private:
  ReplicaConfig cfg_;
  std::unique_ptr<EfficiencyModel> eff_;
};

} // namespace fs
