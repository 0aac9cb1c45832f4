#include "llm.hpp"
#include <algorithm>
#include <cmath>

namespace fs {

long StepBatch::new_tokens() const
{
  long t = decode_seqs;
  for (auto const& c : prefill)
    t += c.tokens;
  return t;
}

StepBatch StepBatch::share(int k) const
{
  StepBatch s;
  for (const PrefillChunk& c : prefill)
    s.prefill.push_back({std::max(1L, long(std::ceil(double(c.tokens) / k))), c.context});
  s.decode_seqs = long(std::ceil(double(decode_seqs) / k));
  s.decode_context_sum = decode_context_sum / k;
  s.logits_tokens = long(std::ceil(double(logits_tokens) / k));
  return s;
}

namespace {
double attention_param_count(const LlmSpec& m)
{
  const double h = m.hidden_size, hd = m.head_dim, heads = m.num_attention_heads;
  if (!m.mla) return h * heads * hd * 2 + h * m.num_kv_heads * hd * 2; // q,o + k,v
  const MlaSpec& a = *m.mla;
  return h * a.q_lora_rank + a.q_lora_rank * heads * (a.qk_nope_head_dim + a.qk_rope_head_dim) // q down, q up
         + h * a.latent() + a.kv_lora_rank * heads * (a.qk_nope_head_dim + a.v_head_dim)       // kv down, kv up
         + heads * a.v_head_dim * h;                                                           // o
}
} // namespace

double layer_param_count(const LlmSpec& m)
{
  const double h = m.hidden_size;
  double mlp = 3.0 * h * m.intermediate_size;                                                   // gate, up, down
  if (m.moe) mlp = mlp * (m.moe->num_experts + m.moe->shared_experts) + h * m.moe->num_experts; // experts + router
  return attention_param_count(m) + mlp + 2 * h;                                                // + two norms
}

double kv_bytes_per_token_layer(const LlmSpec& m, Dtype kv, int tp)
{
  if (m.mla) return double(m.mla->latent()) * dtype_bytes(kv);
  return std::max(1.0, double(m.num_kv_heads) / tp) * m.head_dim * 2 * dtype_bytes(kv);
}

double expert_param_count(const LlmSpec& m) // routed experts only: shared experts stay with every rank
{
  return m.moe ? double(m.num_layers) * m.moe->num_experts * 3.0 * m.hidden_size * m.intermediate_size : 0.0;
}

double ffn_param_count(const LlmSpec& m)
{
  const double h = m.hidden_size;
  double mlp = 3.0 * h * m.intermediate_size;
  if (m.moe) mlp = mlp * (m.moe->num_experts + m.moe->shared_experts) + h * m.moe->num_experts;
  return m.num_layers * mlp;
}

double param_count(const LlmSpec& m)
{
  const double embed = double(m.vocab_size) * m.hidden_size * (m.tie_word_embeddings ? 1 : 2);
  return m.num_layers * layer_param_count(m) + embed + m.hidden_size;
}

double stage_param_count(const LlmSpec& m, int pp, int stage)
{
  const double table = double(m.vocab_size) * m.hidden_size;
  double p = stage_layers(m.num_layers, pp, stage) * layer_param_count(m);
  if (stage == 0) p += table; // token embedding
  if (stage == pp - 1) {
    p += m.hidden_size; // final norm
    // The LM head: its own matrix, or the embedding's when tied and both sit on this stage.
    if (!m.tie_word_embeddings || pp > 1) p += table;
  }
  return p;
}

double weight_bytes(const LlmSpec& m, Dtype weights) { return param_count(m) * dtype_bytes(weights); }

double kv_bytes_per_token(const LlmSpec& m, Dtype kv)
{
  return double(m.num_layers) * kv_bytes_per_token_layer(m, kv, 1);
}

double kv_bytes_per_token_per_chip(const LlmSpec& m, Dtype kv, Parallelism p)
{
  const double layers = stage_layers(m.num_layers, p.pp, 0); // the first stage is the largest
  return layers * kv_bytes_per_token_layer(m, kv, p.tp);
}

int stage_layers(int layers, int pp, int stage) { return layers / pp + (stage < layers % pp ? 1 : 0); }

std::string check_parallelism(const LlmSpec& m, Parallelism p)
{
  if (p.tp < 1 || p.pp < 1) return "tp and pp must be >= 1";
  if (p.pipeline_chips > 0) {
    if (p.tp != 1) return "chips of an SRAM pipeline are layer slices in sequence: tp must be 1";
    if (p.pp > p.pipeline_chips)
      return "pp=" + std::to_string(p.pp) + " segments exceed the " + std::to_string(p.pipeline_chips) +
             " chips of the pipeline";
    return "";
  }
  if (p.ep > 1) {
    if (!m.moe) return "ep=" + std::to_string(p.ep) + ": " + m.name + " has no experts (expert parallelism is for MoE)";
    if (p.ep != p.tp)
      return "ep must equal tp (experts spread over the instance's tp chips); got ep=" + std::to_string(p.ep) +
             ", tp=" + std::to_string(p.tp);
    if (p.pp != 1) return "expert parallelism with pp > 1 is not modelled; use pp=1";
    if (m.moe->num_experts % p.ep != 0)
      return "ep=" + std::to_string(p.ep) + " does not divide the " + std::to_string(m.moe->num_experts) +
             " experts of " + m.name;
    if (p.moe_imbalance < 1) return "moe_imbalance must be >= 1";
    return "";
  }
  if (m.num_attention_heads % p.tp != 0)
    return "tp=" + std::to_string(p.tp) + " does not divide the " + std::to_string(m.num_attention_heads) +
           " attention heads of " + m.name;
  if (m.num_kv_heads % p.tp != 0 && p.tp % m.num_kv_heads != 0)
    return "tp=" + std::to_string(p.tp) + " neither divides nor is a multiple of the " +
           std::to_string(m.num_kv_heads) + " KV heads of " + m.name;
  if (p.pp > m.num_layers)
    return "pp=" + std::to_string(p.pp) + " exceeds the " + std::to_string(m.num_layers) + " layers of " + m.name;
  return "";
}

namespace {
Op gemm(const char* name, double m, double n, double k, Dtype w, Dtype act, double repeat = 1)
{
  Op op{name, OpKind::gemm};
  op.m = m;
  op.n = n;
  op.k = k;
  op.flops = 2 * m * n * k;
  op.bytes = n * k * dtype_bytes(w) + (m * k + m * n) * dtype_bytes(act);
  op.repeat = repeat;
  return op;
}
} // namespace

std::vector<Op> layer_ops(const LlmSpec& m, int tp, const StepBatch& b, OpDtypes d)
{
  std::vector<Op> ops;
  layer_ops(m, tp, b, d, ops);
  return ops;
}

void layer_ops(const LlmSpec& m, int tp_, const StepBatch& b, OpDtypes d, std::vector<Op>& ops)
{
  ops.clear();
  const double T = double(b.new_tokens());
  if (T <= 0) return;
  const double H = m.hidden_size, hd = m.head_dim, tp = tp_;
  const double q_heads = m.num_attention_heads / tp;
  const double kv_heads = std::max(1.0, m.num_kv_heads / tp);
  const double act = dtype_bytes(d.activations);
  const double kv_tok_layer = kv_bytes_per_token_layer(m, d.kv, tp_); // K and V (or the MLA latent) per token

  if (m.mla) { // down-projections replicated on every rank, up-projections split by heads
    const MlaSpec& a = *m.mla;
    ops.push_back(gemm("q_down", T, a.q_lora_rank, H, d.weights, d.activations));
    ops.push_back(
        gemm("q_up", T, q_heads * (a.qk_nope_head_dim + a.qk_rope_head_dim), a.q_lora_rank, d.weights, d.activations));
    ops.push_back(gemm("kv_down", T, a.latent(), H, d.weights, d.activations));
    ops.push_back(
        gemm("kv_up", T, q_heads * (a.qk_nope_head_dim + a.v_head_dim), a.kv_lora_rank, d.weights, d.activations));
  } else {
    ops.push_back(gemm("qkv_proj", T, (q_heads + 2 * kv_heads) * hd, H, d.weights, d.activations));
  }
  // Per (query, key) pair and head: q.k and p.v (MLA prefill decompresses to q.k over nope + rope, p.v over v).
  const double pair_flops =
      m.mla ? 2.0 * (m.mla->qk_nope_head_dim + m.mla->qk_rope_head_dim + m.mla->v_head_dim) : 4.0 * hd;

  if (!b.prefill.empty()) {
    Op a{"attention_prefill", OpKind::attention_prefill};
    for (auto const& c : b.prefill) {
      const double n = c.tokens, ctx = c.context;
      const double pairs = n * ctx + n * (n + 1) / 2; // causal (query, key) pairs
      a.flops += pair_flops * q_heads * pairs;
      a.bytes += (ctx + n) * kv_tok_layer + 2 * n * q_heads * hd * act; // read K,V; read Q, write O
      a.seqs += 1;
    }
    a.m = double(T - b.decode_seqs) / a.seqs; // mean query tokens per chunk
    ops.push_back(a);
  }
  if (b.decode_seqs > 0) ops.push_back(decode_attention_op(m, tp_, b.decode_seqs, b.decode_context_sum, d));
  ops.push_back(gemm("o_proj", T, H, q_heads * (m.mla ? m.mla->v_head_dim : hd), d.weights, d.activations));

  if (m.moe) {
    const double E = m.moe->num_experts, k = m.moe->experts_per_token;
    // Expected number of distinct experts a batch of T tokens touches (uniform routing).
    const double active = E * (1 - std::pow(1 - k / E, T));
    const double per_expert = T * k / active;
    ops.push_back(gemm("moe_router", T, E, H, d.weights, d.activations));
    // vLLM's and SGLang's fused MoE kernels run all experts of a layer in one launch.
    ops.push_back(gemm("moe_gate_up", per_expert, 2 * m.intermediate_size / tp, H, d.weights, d.activations, active));
    ops.back().grouped = true;
    ops.push_back(gemm("moe_down", per_expert, H, m.intermediate_size / tp, d.weights, d.activations, active));
    ops.back().grouped = true;
    if (m.moe->shared_experts > 0) { // every token, like a dense MLP of shared_experts x the expert width
      const double w = double(m.moe->shared_experts) * m.intermediate_size / tp;
      ops.push_back(gemm("moe_shared_gate_up", T, 2 * w, H, d.weights, d.activations));
      ops.push_back(gemm("moe_shared_down", T, H, w, d.weights, d.activations));
    }
  } else {
    ops.push_back(gemm("mlp_gate_up", T, 2 * m.intermediate_size / tp, H, d.weights, d.activations));
    ops.push_back(gemm("mlp_down", T, H, m.intermediate_size / tp, d.weights, d.activations));
  }
  // Two RMSNorms + residual adds (read+write H per token each) and SiLU*mul over the MLP width.
  Op ew{"norm_act", OpKind::elementwise};
  ew.bytes = (4 * 2 * T * H + 3 * T * m.intermediate_size / tp) * act;
  ops.push_back(ew);

  if (tp_ > 1) {
    Op ar{"tp_allreduce", OpKind::allreduce};
    ar.bytes = T * H * act; // one all-reduce after attention, one after the MLP
    ar.repeat = 2;
    ops.push_back(ar);
  }
}

void ep_layer_ops(const LlmSpec& m, Parallelism p, const StepBatch& b, OpDtypes d, std::vector<Op>& ops)
{
  ops.clear();
  const double T = double(b.new_tokens());
  if (T <= 0 || !m.moe) return;
  const double ep = p.ep, H = m.hidden_size, act = dtype_bytes(d.activations);
  const StepBatch mine = b.share(p.ep); // this chip's sequences for attention (data parallel, balanced)
  LlmSpec dense = m;
  dense.moe.reset();
  layer_ops(dense, 1, mine, d, ops);
  // Drop the dense MLP the tp-1 layer added; the experts replace it.
  ops.erase(
      std::remove_if(ops.begin(), ops.end(), [](const Op& o) { return std::string(o.name).rfind("mlp_", 0) == 0; }),
      ops.end());
  const double Tm = double(mine.new_tokens());
  const double E = m.moe->num_experts, k = m.moe->experts_per_token, local = E / ep;
  const double routed = T * k / ep * p.moe_imbalance;         // token-expert pairs on the busiest chip
  const double active = local * (1 - std::pow(1 - k / E, T)); // its experts that get any token
  const double per_expert = routed / std::max(1.0, active);
  ops.push_back(gemm("moe_router", Tm, E, H, d.weights, d.activations));
  ops.push_back(gemm("moe_gate_up", per_expert, 2.0 * m.intermediate_size, H, d.weights, d.activations, active));
  ops.back().grouped = true;
  ops.push_back(gemm("moe_down", per_expert, H, m.intermediate_size, d.weights, d.activations, active));
  ops.back().grouped = true;
  if (m.moe->shared_experts > 0) { // replicated on every rank, run on its own tokens
    const double w = double(m.moe->shared_experts) * m.intermediate_size;
    ops.push_back(gemm("moe_shared_gate_up", Tm, 2 * w, H, d.weights, d.activations));
    ops.push_back(gemm("moe_shared_down", Tm, H, w, d.weights, d.activations));
  }
  Op a2a{"ep_alltoall", OpKind::alltoall};
  a2a.bytes = routed * H * act * (ep - 1) / ep; // what leaves (dispatch) or returns to (combine) this chip
  a2a.repeat = 2;
  ops.push_back(a2a);
}

Op decode_attention_op(const LlmSpec& m, int tp, long seqs, double context_sum, OpDtypes d)
{
  const double hd = m.head_dim, q_heads = double(m.num_attention_heads) / tp;
  const double kv_tok_layer = kv_bytes_per_token_layer(m, d.kv, tp);
  Op a{"attention_decode", OpKind::attention_decode};
  // MLA decode absorbs the up-projections: q.k over the latent and p.v over kv_lora_rank, per head.
  a.flops = (m.mla ? 2.0 * (m.mla->latent() + m.mla->kv_lora_rank) : 4.0 * hd) * q_heads * context_sum;
  a.bytes = context_sum * kv_tok_layer + 2 * double(seqs) * q_heads * hd * dtype_bytes(d.activations);
  a.seqs = double(seqs);
  return a;
}

Op head_op(const LlmSpec& m, int tp, const StepBatch& b, OpDtypes d)
{
  const double logits = std::max<long>(b.logits_tokens, 1);
  return gemm("lm_head", logits, double(m.vocab_size) / tp, m.hidden_size, d.weights, d.activations);
}

double pp_activation_bytes(const LlmSpec& m, const StepBatch& b, OpDtypes d)
{
  return double(b.new_tokens()) * m.hidden_size * dtype_bytes(d.activations);
}

} // namespace fs
