// Runtime state of one request, shared by the source, the routers, the engine cores and KV transfers.
#pragma once
#include "kv_cache.hpp"
#include "workload.hpp"
#include <string>

namespace fs {

// Cache-line aligned. What every decode step of its batch reads and writes (its flags, progress, blocks, and the
// spec's output tokens, the spec's first field) is its first 64 bytes: a large factory's running requests do not
// stay in cache between steps, so each costs one line per step, not two (tested in test_scheduler.cpp).
struct alignas(64) Request {
  KvSeq kv;                // blocks on the instance that runs it (20 bytes)
  bool loading = false;    // admitted by a decode instance, KV still arriving: not schedulable
  bool in_step = false;    // part of a step that is planned or running
  bool kv_whole = false;   // its whole sequence's blocks were reserved at admission (trtllm): kept until it leaves
  long context = 0;        // tokens whose KV is computed and held here
  long generated = 0;      // output tokens produced so far (the prefill step samples the first)
  long target_prefill = 0; // tokens whose KV its instance must (re)compute: input + tokens generated so far
  long prefilled = 0;      // of target_prefill
  RequestSpec spec;

  int ve = 0;                // virtual engine (pipeline micro-batch slot) of its instance
  long input_counted = 0;    // prompt tokens already counted in throughput (recompute is not new input)
  KvSeq kv_outgoing;         // blocks still held on the prefill instance until the decode side pulled them
  int holder = -1;           // the engine's index of the instance holding kv_outgoing
  long prefix_pinned = 0;    // prefix caching: leading chunks of spec.prefix_hashes it holds in its instance's cache
  long offloaded_tokens = 0; // preempted with its KV offloaded to a lower tier (restored, not recomputed)

  // What the records and metrics report.
  double first_token = -1;
  double finish = -1;
  double prefill_done = -1;    // P/D: the prefill instance finished it and holds its KV for a decode slot
  double decode_admitted = -1; // P/D: a decode instance reserved its blocks and started the pull
  std::string instances;       // e.g. "mixed3" or "prefill1>decode2"
  double kv_bytes_transferred = 0;
  long cached_tokens = 0; // prompt tokens found in the KV hierarchy at its first admission (no prefill needed)
  int preemptions = 0;
  double host_queue_s = 0; // waiting for a host CPU core (scenario "host"), before and after the accelerators
  double host_work_s = 0;  // on a host CPU core
  std::string dropped;     // reason, empty if not dropped

  bool prefill_complete() const { return prefilled >= target_prefill && generated > 0; }
  long remaining_output() const { return spec.output_tokens - generated; }
  // Seconds between the prefill instance finishing and a decode instance having room (P/D only).
  double decode_wait_s() const { return decode_admitted >= 0 ? decode_admitted - prefill_done : 0; }
  // Seconds the KV pull took (P/D only): from decode-side admission to the first token leaving it.
  double kv_transfer_s() const { return decode_admitted >= 0 ? first_token - decode_admitted : 0; }
};

} // namespace fs
