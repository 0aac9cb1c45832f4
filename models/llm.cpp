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

double layer_param_count(const LlmSpec& m)
{
  const double h = m.hidden_size, hd = m.head_dim;
  const double attn = h * m.num_attention_heads * hd * 2 + h * m.num_kv_heads * hd * 2; // q,o + k,v
  double mlp = 3.0 * h * m.intermediate_size;                                           // gate, up, down
  if (m.moe) mlp = mlp * m.moe->num_experts + h * m.moe->num_experts;                   // experts + router
  return attn + mlp + 2 * h;                                                            // + two norms
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
  return double(m.num_layers) * m.num_kv_heads * m.head_dim * 2 * dtype_bytes(kv);
}

double kv_bytes_per_token_per_chip(const LlmSpec& m, Dtype kv, Parallelism p)
{
  const double heads = std::max(1.0, double(m.num_kv_heads) / p.tp);
  const double layers = stage_layers(m.num_layers, p.pp, 0); // the first stage is the largest
  return layers * heads * m.head_dim * 2 * dtype_bytes(kv);
}

int stage_layers(int layers, int pp, int stage) { return layers / pp + (stage < layers % pp ? 1 : 0); }

std::string check_parallelism(const LlmSpec& m, Parallelism p)
{
  if (p.tp < 1 || p.pp < 1) return "tp and pp must be >= 1";
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
  const double act = dtype_bytes(d.activations), kvb = dtype_bytes(d.kv);
  const double kv_tok_layer = kv_heads * hd * 2 * kvb; // bytes of K and V per token per layer per chip

  ops.push_back(gemm("qkv_proj", T, (q_heads + 2 * kv_heads) * hd, H, d.weights, d.activations));

  if (!b.prefill.empty()) {
    Op a{"attention_prefill", OpKind::attention_prefill};
    for (auto const& c : b.prefill) {
      const double n = c.tokens, ctx = c.context;
      const double pairs = n * ctx + n * (n + 1) / 2; // causal (query, key) pairs
      a.flops += 4 * q_heads * hd * pairs;
      a.bytes += (ctx + n) * kv_tok_layer + 2 * n * q_heads * hd * act; // read K,V; read Q, write O
      a.seqs += 1;
    }
    a.m = double(T - b.decode_seqs) / a.seqs; // mean query tokens per chunk
    ops.push_back(a);
  }
  if (b.decode_seqs > 0) ops.push_back(decode_attention_op(m, tp_, b.decode_seqs, b.decode_context_sum, d));
  ops.push_back(gemm("o_proj", T, H, q_heads * hd, d.weights, d.activations));

  if (m.moe) {
    const double E = m.moe->num_experts, k = m.moe->experts_per_token;
    // Expected number of distinct experts a batch of T tokens touches (uniform routing).
    const double active = E * (1 - std::pow(1 - k / E, T));
    const double per_expert = T * k / active;
    ops.push_back(gemm("moe_router", T, E, H, d.weights, d.activations));
    ops.push_back(gemm("moe_gate_up", per_expert, 2 * m.intermediate_size / tp, H, d.weights, d.activations, active));
    ops.push_back(gemm("moe_down", per_expert, H, m.intermediate_size / tp, d.weights, d.activations, active));
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

Op decode_attention_op(const LlmSpec& m, int tp, long seqs, double context_sum, OpDtypes d)
{
  const double hd = m.head_dim, q_heads = double(m.num_attention_heads) / tp;
  const double kv_heads = std::max(1.0, double(m.num_kv_heads) / tp);
  const double kv_tok_layer = kv_heads * hd * 2 * dtype_bytes(d.kv);
  Op a{"attention_decode", OpKind::attention_decode};
  a.flops = 4 * q_heads * hd * context_sum;
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
