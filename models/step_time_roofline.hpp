#pragma once
#include "step_time.hpp"

namespace fs {

// t_op = max(flops / (peak[dtype] x eff_compute), bytes / (mem_bw x eff_mem)) + kernel overhead, summed over
// the ops of each stage's layers; TP all-reduce by the cheapest algorithm the scale-up links offer; pipeline
// hops over the scale-up links inside a server and over the fabric between servers; a host overhead per step.
class RooflineStepTime : public StepTimeModel {
public:
  explicit RooflineStepTime(const ReplicaConfig& cfg);
  StepTime step(const StepBatch& batch) const override;
  StepSummary summary(const StepBatch& batch) const override;
  // Only the decode attention changes from step to step of a run: the rest of the layer is timed once.
  void decode_run(const StepBatch& first, int n, StepSummary* out) const override;
  void decode_run_ends(const StepBatch& first, int n, double start, double* ends) const override;
  // Keeps each step's decode attention time, its sign the phase: + compute-bound, - memory-bound.
  void decode_run_ends(const StepBatch& first, int n, double start, double* ends, double* kept) const override;
  void decode_run_kept(const StepBatch& first, int m, const double* kept, StepSummary* out) const override;
  std::string calibration_label() const override { return eff_->label(); }
  double host_s() const { return eff_->step_overhead_s(); } // per step, before the chips start
  // Adds the time of `ops` on one chip of this replica to `st` and `comm` (the attention/FFN split times each side).
  void time_ops(const std::vector<Op>& ops, StageTime& st, CommBreakdown& comm) const
  {
    add_ops(ops.data(), ops.data() + ops.size(), 1, st, comm);
  }

private:
  // Adds the time of ops [begin, end) (each run `times` over) to `st` and `comm`.
  void add_ops(const Op* begin, const Op* end, double times, StageTime& st, CommBreakdown& comm) const;
  // A compute or memory op (not a collective) once: its time `t`; true when compute-bound.
  bool op_time(const Op& op, double& t) const;
  // Adds `t` (compute-bound or not) run n times, with `launches` kernel launches, to `st` (what add_ops does).
  void add_op_time(double t, bool compute, double n, double launches, StageTime& st) const
  {
    const double kernel = eff_->op_overhead_s();
    (compute ? st.phases.compute : st.phases.memory) += t * n;
    st.phases.launch += kernel * launches;
    st.busy_s += t * n + kernel * launches;
  }
  double hop_s(int stage, double bytes) const;
  double alltoall_s(double bytes) const; // one expert-parallel all-to-all of `bytes` per chip
  // One layer's time (and the LM head's) for `batch`, the decode attention left out when `skip_decode_attention`.
  void layer_and_head(const StepBatch& batch, bool skip_decode_attention, StageTime& layer, CommBreakdown& layer_comm,
                      StageTime& head, CommBreakdown& head_comm) const;

  // A decode run's time without its decode attention (every layer and the head), for its batch.
  struct DecodeFixed {
    long logits_tokens = -1; // of the batch it was timed for (-1: none yet)
    StageTime st;
    CommBreakdown comm;
  };
  const DecodeFixed& decode_fixed(const StepBatch& first) const;
  bool closed_form_run(const StepBatch& first) const; // decode_run's shortcut applies (pp = ep = 1, decode only)
  // Calls f(j, stage, comm, attention) with the time of step j < n of a decode run (closed_form_run); attention: its
  // decode attention's time, + compute-bound, - memory-bound (decode_run_kept).
  template <class F> void each_decode_step(const StepBatch& first, int n, F&& f) const;
  StepSummary decode_step_summary(const StageTime& st, const CommBreakdown& comm) const;
  static constexpr size_t max_memo_seqs = 4096;

  ReplicaConfig cfg_;
  std::unique_ptr<EfficiencyModel> eff_;
  mutable std::vector<DecodeFixed> decode_fixed_; // memo per decode batch size (below max_memo_seqs)
  mutable DecodeFixed scratch_fixed_;
};

} // namespace fs
