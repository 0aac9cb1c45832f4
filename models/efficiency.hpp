// How close to its datasheet peaks a chip runs an op: the eff_* terms of the roofline in docs/model.md.
// Variants: "datasheet" (documented defaults) and "measured" (curves fitted by calibration/).
#pragma once
#include "llm.hpp"
#include "registry.hpp"
#include "specs.hpp"
#include <memory>
#include <optional>
#include <string>

namespace fs {

class EfficiencyModel {
public:
  virtual ~EfficiencyModel() = default;
  // Fraction of the dense peak FLOP/s that `op` reaches when compute bound.
  virtual double compute_eff(const Op& op, Dtype dtype) const = 0;
  // Fraction of the peak memory bandwidth reached when moving `bytes` in one kernel.
  virtual double mem_eff(double bytes) const = 0;
  // Fixed time per kernel (launch, tail) and per engine step (scheduler, sampling, host work).
  virtual double op_overhead_s() const = 0;
  virtual double step_overhead_s() const = 0;
  // Measured decode-attention time for one layer, when a fit exists (else the roofline is used).
  virtual std::optional<double> decode_attention_s(double seqs, double kv_bytes) const
  {
    (void)seqs;
    (void)kv_bytes;
    return std::nullopt;
  }
  // "datasheet" or "measured:<device>", printed in every report.
  virtual std::string label() const = 0;
};

// A variant is built from the chip it times (the measured variant reads chip.measured).
using EfficiencyRegistry = Registry<EfficiencyModel, const ChipSpec&>;
const EfficiencyRegistry& efficiency_registry();

// The variant a chip asks for: "measured" when its catalog entry names a calibration, else "datasheet".
std::unique_ptr<EfficiencyModel> make_efficiency(const ChipSpec& chip);

} // namespace fs
