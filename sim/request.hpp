// Runtime state of one request, shared by the source, the router, engines and transfers.
#pragma once
#include "workload.hpp"
#include <string>

namespace fs {

struct Request {
  RequestSpec spec;
  // On the instance that holds it now:
  long target_prefill = 0; // tokens whose KV must be (re)computed here: input + tokens generated so far
  long prefilled = 0;
  long kv_tokens = 0;     // KV-cache tokens held
  long generated = 0;     // output tokens produced so far
  long input_counted = 0; // prompt tokens already counted in throughput (recompute is not new input)
  bool arrived_by_transfer = false;

  double first_token = -1;
  double finish = -1;
  std::string instances; // e.g. "mixed3" or "prefill1>decode2"
  double kv_bytes_transferred = 0;
  int preemptions = 0;
  std::string dropped; // reason, empty if not dropped

  bool prefill_done() const { return prefilled >= target_prefill && generated > 0; }
  long remaining_output() const { return spec.output_tokens - generated; }
  // Work still owed on this request, in tokens (router load metric).
  long outstanding() const { return (target_prefill - prefilled) + remaining_output(); }
};

} // namespace fs
