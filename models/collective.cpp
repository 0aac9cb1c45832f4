#include "collective.hpp"
#include <limits>

namespace fs {

const char* algo_name(AllReduceAlgo a)
{
  switch (a) {
  case AllReduceAlgo::none:
    return "none";
  case AllReduceAlgo::ring:
    return "ring";
  case AllReduceAlgo::one_shot:
    return "one_shot";
  case AllReduceAlgo::nvls:
    return "nvls";
  }
  return "?";
}

double allreduce_seconds(AllReduceAlgo a, double bytes, int n, const ScaleUpSpec& s)
{
  const double inf = std::numeric_limits<double>::infinity();
  if (n <= 1) return 0;
  const double peers = n - 1;
  switch (a) {
  case AllReduceAlgo::ring:
    // Reduce-scatter then all-gather around the ring: 2(n-1)/n of the buffer crosses each link, in 2(n-1) steps.
    return s.ring_base_latency_s + 2 * peers * s.ring_step_latency_s + 2 * peers / n * bytes / s.ring_bus_bandwidth;
  case AllReduceAlgo::one_shot:
    // Every chip reads the n-1 peer buffers through the switch and reduces locally: one step, (n-1)x the data.
    if (s.one_shot_latency_s <= 0) return inf;
    return s.one_shot_latency_s + peers * s.one_shot_peer_latency_s + peers * bytes / s.bandwidth;
  case AllReduceAlgo::nvls:
    // The switch sums the buffers and multicasts the result; nccl-tests report it as a bus bandwidth.
    if (s.nvls_bus_bandwidth <= 0) return inf;
    return s.nvls_latency_s + 2 * peers / n * bytes / s.nvls_bus_bandwidth;
  case AllReduceAlgo::none:
    break;
  }
  return inf;
}

CollectiveCost allreduce_cost(double bytes, int n, const ScaleUpSpec& s)
{
  if (n <= 1) return {0, AllReduceAlgo::none};
  CollectiveCost best{std::numeric_limits<double>::infinity(), AllReduceAlgo::none};
  for (AllReduceAlgo a : {AllReduceAlgo::ring, AllReduceAlgo::one_shot, AllReduceAlgo::nvls}) {
    const double t = allreduce_seconds(a, bytes, n, s);
    if (t < best.seconds) best = {t, a};
  }
  return best;
}

} // namespace fs
