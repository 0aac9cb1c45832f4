// Step time of one engine replica: the time one iteration (prefill chunks + decode tokens) takes.
// Variants by chip kind: "roofline" (GPU: per-op roofline x efficiency + TP collectives + overheads).
#pragma once
#include "efficiency.hpp"
#include "llm.hpp"
#include "registry.hpp"
#include <memory>
#include <string>

namespace fs {

struct StepTime {
  double total_s = 0;
  double compute_bound_s = 0; // ops whose FLOP term dominated
  double memory_bound_s = 0;  // ops whose byte term dominated
  double comm_s = 0;          // TP all-reduce, PP hops
  double overhead_s = 0;      // kernel launches + per-step host work
};

struct ReplicaConfig {
  LlmSpec model;
  ChipSpec chip;
  Parallelism par;
  OpDtypes dtypes;
};

class StepTimeModel {
public:
  virtual ~StepTimeModel() = default;
  virtual StepTime step(const StepBatch& batch) const = 0;
  virtual std::string calibration_label() const = 0;
};

using StepTimeRegistry = Registry<StepTimeModel, const ReplicaConfig&>;
const StepTimeRegistry& step_time_registry();

} // namespace fs
