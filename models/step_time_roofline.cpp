#include "step_time_roofline.hpp"
#include <algorithm>

namespace fs {

RooflineStepTime::RooflineStepTime(const ReplicaConfig& cfg) : cfg_(cfg), eff_(make_efficiency(cfg.chip.calibration)) {}

StepTime RooflineStepTime::step(const StepBatch& batch) const
{
  StepTime st;
  if (batch.empty()) return st;
  const ChipSpec& chip = cfg_.chip;
  const double tp = cfg_.par.tp;
  const double kernel = eff_->op_overhead_s();
  for (const Op& op : step_ops(cfg_.model, cfg_.par, batch, cfg_.dtypes)) {
    double t = 0;
    if (op.kind == OpKind::allreduce) {
      // Ring all-reduce: 2(t-1)/t of the buffer crosses each link, 2(t-1) latency-bound steps.
      t = 2 * (tp - 1) / tp * op.bytes / chip.scaleup_bandwidth + 2 * (tp - 1) * chip.scaleup_latency_s;
      st.comm_s += t * op.repeat;
    } else if (op.kind == OpKind::p2p) {
      t = op.bytes / chip.scaleup_bandwidth + chip.scaleup_latency_s;
      st.comm_s += t * op.repeat;
    } else {
      const Dtype dt = op.kind == OpKind::gemm ? cfg_.dtypes.weights : Dtype::bf16;
      std::optional<double> measured;
      if (op.kind == OpKind::attention_decode) measured = eff_->decode_attention_s(op.seqs, op.bytes);
      const double tc = op.flops > 0 ? op.flops / (chip.peak(dt) * eff_->compute_eff(op, dt)) : 0.0;
      const double tm = op.bytes / (chip.mem_bandwidth * eff_->mem_eff(op.bytes));
      t = measured ? *measured : std::max(tc, tm);
      (tc >= tm ? st.compute_bound_s : st.memory_bound_s) += t * op.repeat;
      st.overhead_s += kernel * op.repeat;
      t += kernel;
    }
    st.total_s += t * op.repeat;
  }
  st.overhead_s += eff_->step_overhead_s();
  st.total_s += eff_->step_overhead_s();
  return st;
}

const StepTimeRegistry& step_time_registry()
{
  static const StepTimeRegistry reg = [] {
    StepTimeRegistry r("step-time model");
    r.add("roofline", "GPU: per-op roofline x (calibrated) efficiency + TP ring all-reduce + per-step overhead",
          [](const ReplicaConfig& c) { return std::make_unique<RooflineStepTime>(c); });
    return r;
  }();
  return reg;
}

} // namespace fs
