// LLM architecture arithmetic: parameters, weight and KV bytes, and the ops of one engine step.
#pragma once
#include "specs.hpp"
#include <string>
#include <vector>

namespace fs {

struct Parallelism {
  int tp = 1;
  int pp = 1;
  int gpus() const { return tp * pp; }
};

// A prefill chunk: `tokens` new prompt tokens appended to `context` tokens already in the KV cache.
struct PrefillChunk {
  long tokens = 0;
  long context = 0;
};

// What one iteration of an engine computes. Decode attention is linear in each sequence's own
// context length, so the sum over the batch is exact (not a batch mean).
struct StepBatch {
  std::vector<PrefillChunk> prefill;
  long decode_seqs = 0;
  double decode_context_sum = 0; // sum over decoding sequences of the tokens their query attends to
  long logits_tokens = 0;        // tokens that need the LM head (decode seqs + chunks that end a prompt)

  long new_tokens() const;
  bool empty() const { return prefill.empty() && decode_seqs == 0; }
};

enum class OpKind { gemm, attention_prefill, attention_decode, elementwise, allreduce, p2p };

// One op as seen by one GPU of the replica. `repeat` copies of it run back to back (layers, experts).
struct Op {
  const char* name;
  OpKind kind;
  double flops = 0;           // per copy
  double bytes = 0;           // HBM bytes moved per copy (or bytes on the wire for comm ops)
  double m = 0, n = 0, k = 0; // GEMM shape per copy, when kind == gemm
  double repeat = 1;
  double seqs = 0; // attention: sequences in the op
};

double param_count(const LlmSpec& m);
double weight_bytes(const LlmSpec& m, Dtype weights);
// KV-cache bytes per token of context for the whole model (all layers, all KV heads).
double kv_bytes_per_token(const LlmSpec& m, Dtype kv);
// KV bytes per token held by each GPU of a replica (KV heads split by TP, replicated if TP > KV heads).
double kv_bytes_per_token_per_gpu(const LlmSpec& m, Dtype kv, Parallelism p);
// Empty string when `p` is a valid split of `m`, else what is wrong.
std::string check_parallelism(const LlmSpec& m, Parallelism p);

struct OpDtypes {
  Dtype weights = Dtype::bf16;
  Dtype kv = Dtype::bf16;
  Dtype activations = Dtype::bf16;
};

// Ops of one step on one GPU of a TP×PP replica, all pipeline stages in sequence.
std::vector<Op> step_ops(const LlmSpec& m, Parallelism p, const StepBatch& b, OpDtypes d);

} // namespace fs
