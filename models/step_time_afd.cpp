#include "step_time_afd.hpp"
#include <algorithm>
#include <cmath>

namespace fs {

namespace {
ReplicaConfig ffn_config(const ReplicaConfig& c)
{
  ReplicaConfig f = c;
  f.chip = c.ffn->chip;
  f.par = Parallelism{c.ffn->chips, 1};
  f.ffn.reset();
  return f;
}

// The MLP or expert ops, which move to the FFN chips (the MoE router stays with attention: it decides where
// the hidden states go).
bool is_ffn(const Op& o)
{
  const std::string n = o.name;
  return n.rfind("mlp_", 0) == 0 || (n.rfind("moe_", 0) == 0 && n != "moe_router");
}
} // namespace

AfdStepTime::AfdStepTime(const ReplicaConfig& cfg)
    : cfg_(cfg), ffn_(*cfg.ffn), attn_([&] {
        ReplicaConfig a = cfg;
        a.ffn.reset();
        return a;
      }()),
      mlp_(ffn_config(cfg))
{
}

StepTime AfdStepTime::step(const StepBatch& batch) const
{
  StepTime st;
  if (batch.empty()) return st;
  const LlmSpec& m = cfg_.model;
  const int mb = std::max(1, ffn_.micro_batches);
  const StepBatch b = batch.share(mb);
  const double T = double(b.new_tokens()), H = m.hidden_size, act = dtype_bytes(cfg_.dtypes.activations);

  // Attention side: the layer without its MLP, and one TP all-reduce (after attention) instead of two.
  layer_ops(m, cfg_.par.tp, b, cfg_.dtypes, ops_);
  a_ops_.clear();
  for (Op o : ops_) {
    if (is_ffn(o)) continue;
    if (o.kind == OpKind::allreduce) o.repeat = 1;
    a_ops_.push_back(o);
  }
  // FFN side: experts spread whole over its chips (the busiest gets its share x the imbalance), or the MLP split.
  f_ops_.clear();
  const double n = ffn_.chips;
  if (m.moe) {
    Parallelism p{ffn_.chips, 1};
    p.ep = ffn_.chips;
    p.moe_imbalance = ffn_.moe_imbalance;
    ep_layer_ops(m, p, b, cfg_.dtypes, ops_); // the experts see every token of the micro-batch
    for (const Op& o : ops_) // the dispatch to the FFN chips is the fabric transfer below, not an all-to-all
      if (is_ffn(o)) f_ops_.push_back(o);
  } else {
    layer_ops(m, ffn_.chips, b, cfg_.dtypes, ops_);
    for (const Op& o : ops_)
      if (is_ffn(o) || o.kind == OpKind::allreduce) {
        Op x = o;
        if (x.kind == OpKind::allreduce) x.repeat = 1;
        f_ops_.push_back(x);
      }
  }
  StageTime a, f;
  attn_.time_ops(a_ops_, a, st.comm);
  CommBreakdown ffn_comm;
  mlp_.time_ops(f_ops_, f, ffn_comm);
  // Hidden states of the micro-batch, one way (MoE: k copies, one per chosen expert's chip, unless they share).
  const double copies = m.moe ? std::min<double>(m.moe->experts_per_token, n) : 1.0;
  const double xfer = ffn_.latency_s + T * H * act * copies / ffn_.bandwidth;
  const double cycle = std::max({mb * a.busy_s, mb * f.busy_s, mb * xfer, a.busy_s + f.busy_s + 2 * xfer});
  const double L = m.num_layers;

  StageTime head;
  CommBreakdown head_comm;
  const Op lm = head_op(m, cfg_.par.tp, batch, cfg_.dtypes);
  attn_.time_ops({lm}, head, head_comm);

  st.stages.resize(1);
  StageTime& s = st.stages[0];
  s.busy_s = L * cycle + head.busy_s;
  s.phases = a.phases.scaled(L * mb);
  s.phases += head.phases;
  s.offload = f.phases.scaled(L * mb); // waiting for the other side is idle time on either side
  st.comm.afd_transfer_s += L * mb * 2 * xfer;
  for (double& x : st.comm.allreduce_s)
    x *= L * mb;
  st.comm += head_comm;
  st.host_s = attn_.host_s();
  st.total_s = st.host_s + s.busy_s;
  return st;
}

} // namespace fs
