// Step time of one engine replica: how long one iteration (prefill chunks + decode tokens) takes, stage by
// stage when the replica is pipelined. Variants are named by the chip's catalog entry ("step_time_model").
#pragma once
#include "efficiency.hpp"
#include "llm.hpp"
#include "power.hpp"
#include "registry.hpp"
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fs {

// Links between the chips of one replica, besides the chip's own scale-up port (ChipSpec::scaleup).
struct ReplicaLinks {
  int chips_per_server = 8;      // a pipeline hop between chips on different servers crosses the fabric
  double scaleout_bandwidth = 0; // bytes/s one chip can send to another server (its share of the NICs)
  double scaleout_latency_s = 0; // one way, NIC to NIC through the fabric
};

// Attention/FFN disaggregation (step_time_afd.hpp): the MLP or experts of every layer run on other chips.
struct FfnSide {
  ChipSpec chip;
  int chips = 0;         // FFN chips per instance: experts spread over them (MoE), or the MLP split (dense)
  int micro_batches = 2; // ping-pong: while one micro-batch is in the FFN, the next is in attention
  double bandwidth = 0;  // bytes/s each way between the two sides (the smaller side's NICs)
  double latency_s = 0;  // one way
  double moe_imbalance = 1;
};

struct ReplicaConfig {
  LlmSpec model;
  ChipSpec chip;
  Parallelism par;
  OpDtypes dtypes;
  ReplicaLinks links;
  std::optional<FfnSide> ffn;
};

// Seconds of communication per all-reduce algorithm, and pipeline hops (the breakdown shows which ran).
struct CommBreakdown {
  std::array<double, 4> allreduce_s{}; // indexed by AllReduceAlgo
  double pp_hop_s = 0;
  double alltoall_s = 0;     // expert-parallel dispatch and combine
  double afd_transfer_s = 0; // attention/FFN split: hidden states to the FFN chips and back
  CommBreakdown& operator+=(const CommBreakdown& o)
  {
    for (size_t i = 0; i < allreduce_s.size(); ++i)
      allreduce_s[i] += o.allreduce_s[i];
    pp_hop_s += o.pp_hop_s;
    alltoall_s += o.alltoall_s;
    afd_transfer_s += o.afd_transfer_s;
    return *this;
  }
};

// One pipeline stage's part of a step, as seen by each of its chips.
struct StageTime {
  PhaseSeconds offload; // per chip of an attention/FFN split's FFN side (0 otherwise)
  double busy_s = 0;    // the stage's chips are occupied this long
  double hop_s = 0;     // then the activations take this long to reach the next stage (0 for the last)
  PhaseSeconds phases;  // busy_s split by what bounded each op (per chip)
};

// A step's totals over its stages: what an unpipelined replica needs to time and account it.
struct StepSummary {
  PhaseSeconds offload; // per FFN-side chip of an attention/FFN split, summed over stages
  double host_s = 0;
  double busy_s = 0;   // sum of the stages' busy time
  double total_s = 0;  // host + busy + hops
  PhaseSeconds phases; // per chip, summed over stages
  CommBreakdown comm;  // per chip, summed over stages
};

struct StepTime {
  double host_s = 0;             // scheduling, sampling, input preparation before the first stage (chips idle)
  std::vector<StageTime> stages; // in pipeline order; one when pp = 1
  CommBreakdown comm;            // per chip, summed over stages
  double total_s = 0;            // latency through an idle pipeline: host + every stage + every hop
  StepSummary summary() const;
};

class StepTimeModel {
public:
  virtual ~StepTimeModel() = default;
  virtual StepTime step(const StepBatch& batch) const = 0;
  // step(batch).summary(), which a variant may compute without the per-stage detail.
  virtual StepSummary summary(const StepBatch& batch) const { return step(batch).summary(); }
  // Summaries of `n` decode steps in a row, step j with every sequence's context grown by j tokens
  // (fast mode's closed-form runs). The default calls step() n times.
  virtual void decode_run(const StepBatch& first, int n, StepSummary* out) const;
  // When those `n` steps end if the first starts at `start`: ends[j] = start + their total_s up to j, added in step
  // order (what decode_run's summaries give), without keeping the summaries. The default calls decode_run.
  virtual void decode_run_ends(const StepBatch& first, int n, double start, double* ends) const;
  // decode_run_ends that also writes into kept[0..n) what decode_run_kept needs to give the steps' summaries
  // without timing them again (when the run lands after m <= n steps). The default keeps nothing.
  virtual void decode_run_ends(const StepBatch& first, int n, double start, double* ends, double* /*kept*/) const
  {
    decode_run_ends(first, n, start, ends);
  }
  // decode_run(first, m, out), bit for bit, from what decode_run_ends kept for the same run (m <= its n).
  virtual void decode_run_kept(const StepBatch& first, int m, const double* /*kept*/, StepSummary* out) const
  {
    decode_run(first, m, out);
  }
  virtual std::string calibration_label() const = 0;
};

using StepTimeRegistry = Registry<StepTimeModel, const ReplicaConfig&>;
const StepTimeRegistry& step_time_registry();

} // namespace fs
