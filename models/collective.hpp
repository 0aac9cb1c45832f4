// Collectives over a server's scale-up links (NVLink/NVSwitch, Infinity Fabric): the tensor-parallel
// all-reduce, costed per algorithm so the cheapest one for the message size is used, as NCCL's tuner and
// the custom all-reduce kernels of vLLM and TensorRT-LLM do (docs/model.md, "Collectives").
#pragma once
#include <string>

namespace fs {

// What one chip's scale-up port offers. Latencies are per algorithm because they differ by an order of
// magnitude between a multi-step ring and a single-step push through the switch.
struct ScaleUpSpec {
  double bandwidth = 0;               // bytes/s per direction per chip (datasheet): pipeline hops, one-shot reads
  double ring_bus_bandwidth = 0;      // bus bandwidth a ring all-reduce reaches (nccl-tests "busbw")
  double ring_base_latency_s = 0;     // fixed cost of one ring all-reduce
  double ring_step_latency_s = 0;     // per ring step; a ring all-reduce has 2(n-1) steps
  double one_shot_latency_s = 0;      // one-shot all-reduce fixed cost; 0 = the software stack has none
  double one_shot_peer_latency_s = 0; // added per peer (the barrier and the reads grow with n)
  double nvls_bus_bandwidth = 0;      // NVLink SHARP (in-switch reduction) bus bandwidth; 0 = no NVLS
  double nvls_latency_s = 0;
  double hop_latency_s = 0; // one chip-to-chip pipeline hop (SRAM-pipeline chips' C2C links)
};

enum class AllReduceAlgo { none, ring, one_shot, nvls };
const char* algo_name(AllReduceAlgo a);

struct CollectiveCost {
  double seconds = 0;
  AllReduceAlgo algo = AllReduceAlgo::none;
};

// Time of one all-reduce of `bytes` (the buffer each chip holds) among `n` chips of one scale-up domain,
// with the cheapest algorithm the hardware offers.
CollectiveCost allreduce_cost(double bytes, int n, const ScaleUpSpec& s);
// The same for one named algorithm (seconds = infinity when the hardware lacks it).
double allreduce_seconds(AllReduceAlgo a, double bytes, int n, const ScaleUpSpec& s);

} // namespace fs
