// Phase-aware accelerator power (docs/model.md, "Power"): a chip draws a different share of its TDP while
// compute-bound kernels run (prefill GEMMs), while memory-bound kernels run (decode), during collectives and
// kernel gaps, and idle power otherwise. The fractions are catalog data with sources.
#pragma once

namespace fs {

struct PowerSpec {
  double idle_w = 0;
  double tdp_w = 0;
  double compute_fraction = 0; // of TDP while compute-bound kernels run
  double memory_fraction = 0;  // of TDP while memory-bound kernels run
  double comm_fraction = 0;    // of TDP during collectives and between kernels (launch gaps)
};

// Chip-seconds spent in each phase (summed over the chips of a replica).
struct PhaseSeconds {
  double compute = 0, memory = 0, comm = 0, launch = 0;
  double total() const { return compute + memory + comm + launch; }
  PhaseSeconds& operator+=(const PhaseSeconds& o)
  {
    compute += o.compute;
    memory += o.memory;
    comm += o.comm;
    launch += o.launch;
    return *this;
  }
  PhaseSeconds scaled(double f) const { return {compute * f, memory * f, comm * f, launch * f}; }
};

// Joules drawn by chips over `chip_seconds` of wall time (chips x seconds), `busy` of it in the given phases
// and the rest idle. A phase never draws less than idle power.
double chip_energy_j(const PowerSpec& p, const PhaseSeconds& busy, double chip_seconds);

} // namespace fs
