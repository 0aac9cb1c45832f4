// LLM architecture arithmetic: parameters, weight and KV bytes, and the ops of one engine step.
#pragma once
#include "specs.hpp"
#include <string>
#include <vector>

namespace fs {

struct Parallelism {
  int tp = 1; // tensor parallel: chips that split every layer (one scale-up domain)
  int pp = 1; // pipeline parallel: stages that each hold a contiguous share of the layers
  // SRAM-pipeline chips (step_time_sram.hpp): chips in one layer-sliced pipeline, grouped into `pp` segments
  // (the micro-batches in flight); 0 for every other chip, whose instance has tp x pp chips.
  int pipeline_chips = 0;
  // Expert parallelism (MoE models): ep > 1 spreads each layer's experts over the instance's ep = tp chips whole
  // (not sharded), runs attention data-parallel (each chip its share of the sequences, all heads), and moves
  // tokens to their experts and back with an all-to-all dispatch and combine per layer (DeepSeek-V3-style
  // DP attention + EP, as SGLang and vLLM serve it).
  int ep = 1;
  double moe_imbalance = 1;   // tokens of the busiest EP rank / the mean (routing skew); >= 1
  bool ffn_offloaded = false; // attention/FFN split: these chips hold no MLP or expert weights
  int chips() const { return pipeline_chips > 0 ? pipeline_chips : tp * pp; }
};

// Layers of pipeline stage `stage` (0-based) when `layers` are split over `pp` stages; the first
// layers % pp stages take one more.
int stage_layers(int layers, int pp, int stage);

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
  // One of `k` equal shares (rounded up): 1/k of the decoding sequences, of their context and logits, and of
  // every prompt chunk. A data-parallel rank's batch, or one of k micro-batches.
  StepBatch share(int k) const;
};

enum class OpKind { gemm, attention_prefill, attention_decode, elementwise, allreduce, p2p, alltoall };

// One op as seen by one chip of the replica. `repeat` copies of it run back to back (experts, all-reduces).
struct Op {
  const char* name;
  OpKind kind;
  double flops = 0;           // per copy
  double bytes = 0;           // memory bytes moved per copy (or bytes on the wire for comm ops)
  double m = 0, n = 0, k = 0; // GEMM shape per copy, when kind == gemm
  double repeat = 1;
  bool grouped = false; // the `repeat` copies run in one kernel (a fused MoE / grouped GEMM): one launch
  double seqs = 0;      // attention: sequences in the op
};

double param_count(const LlmSpec& m);
double layer_param_count(const LlmSpec& m); // one transformer layer
// Parameters pipeline stage `stage` of `pp` holds: its layers, the embedding on the first, the LM head on the
// last (a tied LM head needs its own copy when the embedding sits on another stage).
double stage_param_count(const LlmSpec& m, int pp, int stage);
double weight_bytes(const LlmSpec& m, Dtype weights);
// KV-cache bytes per token of context for one layer on one chip of a TP group (KV heads split by TP, replicated
// when TP exceeds them; an MLA latent is replicated on every rank).
double kv_bytes_per_token_layer(const LlmSpec& m, Dtype kv, int tp);
// KV-cache bytes per token of context for the whole model (all layers, all KV heads).
double kv_bytes_per_token(const LlmSpec& m, Dtype kv);
// KV bytes per token held by each chip of a replica (KV heads split by TP, replicated if TP > KV heads;
// layers split by PP, the largest stage counted).
double kv_bytes_per_token_per_chip(const LlmSpec& m, Dtype kv, Parallelism p);
// Empty string when `p` is a valid split of `m`, else what is wrong.
std::string check_parallelism(const LlmSpec& m, Parallelism p);

struct OpDtypes {
  Dtype weights = Dtype::bf16;
  Dtype kv = Dtype::bf16;
  Dtype activations = Dtype::bf16;
};

// Ops of one transformer layer for one step on one chip of a TP replica (`repeat` = copies per layer); the
// second form refills `out` (no allocation once it has grown).
std::vector<Op> layer_ops(const LlmSpec& m, int tp, const StepBatch& b, OpDtypes d);
void layer_ops(const LlmSpec& m, int tp, const StepBatch& b, OpDtypes d, std::vector<Op>& out);
// Expert parallelism (p.ep > 1): one layer's ops on the busiest chip. Attention and projections run on this chip's
// 1/ep share of the batch (tp 1), experts on the tokens routed to its E/ep experts (x p.moe_imbalance), and an
// all-to-all dispatch and combine move the tokens' hidden states (k copies each) to their experts and back.
void ep_layer_ops(const LlmSpec& m, Parallelism p, const StepBatch& b, OpDtypes d, std::vector<Op>& out);
// Parameters of the expert MLPs (all layers, all experts; 0 for a dense model).
double expert_param_count(const LlmSpec& m);
// Parameters of the MLPs or experts (with routers), all layers: what an attention/FFN split moves off the
// attention chips.
double ffn_param_count(const LlmSpec& m);

// The decode-attention op of one layer: `seqs` sequences whose queries attend to `context_sum` tokens in all.
Op decode_attention_op(const LlmSpec& m, int tp, long seqs, double context_sum, OpDtypes d);
// The op that runs once per step after the last layer (LM head), on one chip of the last stage.
Op head_op(const LlmSpec& m, int tp, const StepBatch& b, OpDtypes d);
// Activation bytes a pipeline stage hands to the next one for this step (hidden states of every new token).
double pp_activation_bytes(const LlmSpec& m, const StepBatch& b, OpDtypes d);

} // namespace fs
