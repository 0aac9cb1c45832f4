#include "step_time_roofline.hpp"
#include "step_time_sram.hpp"
#include <algorithm>
#include <cmath>

namespace fs {

namespace {
void add_scaled(StageTime& into, const StageTime& x, double n)
{
  into.busy_s += x.busy_s * n;
  into.phases += x.phases.scaled(n);
}
void add_scaled(CommBreakdown& into, const CommBreakdown& x, double n)
{
  for (size_t i = 0; i < into.allreduce_s.size(); ++i)
    into.allreduce_s[i] += x.allreduce_s[i] * n;
  into.pp_hop_s += x.pp_hop_s * n;
  into.alltoall_s += x.alltoall_s * n;
  into.afd_transfer_s += x.afd_transfer_s * n;
}
} // namespace

StepSummary StepTime::summary() const
{
  StepSummary s;
  s.host_s = host_s;
  s.total_s = total_s;
  s.comm = comm;
  for (const StageTime& st : stages) {
    s.offload += st.offload;
    s.busy_s += st.busy_s;
    s.phases += st.phases;
  }
  return s;
}

void StepTimeModel::decode_run(const StepBatch& first, int n, StepSummary* out) const
{
  StepBatch b = first;
  for (int j = 0; j < n; ++j) {
    out[j] = step(b).summary();
    b.decode_context_sum += double(b.decode_seqs);
  }
}

void StepTimeModel::decode_run_ends(const StepBatch& first, int n, double start, double* ends) const
{
  StepBatch b = first;
  StepSummary sums[16];
  double t = start;
  for (int j0 = 0; j0 < n; j0 += 16) {
    const int m = std::min(16, n - j0);
    decode_run(b, m, sums);
    for (int j = 0; j < m; ++j)
      ends[j0 + j] = t += sums[j].total_s;
    b.decode_context_sum += double(m) * double(b.decode_seqs); // whole tokens: the same sum step by step
  }
}

RooflineStepTime::RooflineStepTime(const ReplicaConfig& cfg) : cfg_(cfg), eff_(make_efficiency(cfg.chip)) {}

void RooflineStepTime::add_ops(const Op* begin, const Op* end, double times, StageTime& st, CommBreakdown& comm) const
{
  const ChipSpec& chip = cfg_.chip;
  for (const Op* op = begin; op != end; ++op) {
    const double n = op->repeat * times;
    if (op->kind == OpKind::allreduce) {
      const CollectiveCost c = allreduce_cost(op->bytes, cfg_.par.tp, chip.scaleup);
      comm.allreduce_s[size_t(c.algo)] += c.seconds * n;
      st.phases.comm += c.seconds * n;
      st.busy_s += c.seconds * n;
      continue;
    }
    if (op->kind == OpKind::alltoall) {
      const double t = alltoall_s(op->bytes);
      comm.alltoall_s += t * n;
      st.phases.comm += t * n;
      st.busy_s += t * n;
      continue;
    }
    double t = 0;
    const bool compute = op_time(*op, t);
    add_op_time(t, compute, n, op->grouped ? times : n, st);
  }
}

bool RooflineStepTime::op_time(const Op& op, double& t) const
{
  const ChipSpec& chip = cfg_.chip;
  const Dtype dt = op.kind == OpKind::gemm ? cfg_.dtypes.weights : Dtype::bf16;
  std::optional<double> measured;
  if (op.kind == OpKind::attention_decode) measured = eff_->decode_attention_s(op.seqs, op.bytes);
  const double tc = op.flops > 0 ? op.flops / (chip.peak(dt) * eff_->compute_eff(op, dt)) : 0.0;
  const double tm = op.bytes / (chip.memory_bandwidth * eff_->mem_eff(op.bytes));
  t = measured ? *measured : std::max(tc, tm);
  return tc >= tm;
}

double RooflineStepTime::alltoall_s(double bytes) const
{
  // Every chip sends to and receives from all others at once: its bytes over its own scale-up port (or its
  // NIC share when the EP group spans servers), after a fixed latency like a ring's base (NCCL's alltoall is
  // point-to-point sends over the same transports).
  const ScaleUpSpec& su = cfg_.chip.scaleup;
  const bool one_server = cfg_.par.chips() <= cfg_.links.chips_per_server;
  const double bw = one_server ? su.bandwidth : cfg_.links.scaleout_bandwidth;
  return su.ring_base_latency_s + bytes / bw + (one_server ? 0.0 : cfg_.links.scaleout_latency_s);
}

double RooflineStepTime::hop_s(int stage, double bytes) const
{
  // Stage s sits on chips [s*tp, (s+1)*tp) of the replica; chips fill servers in order.
  const int tp = cfg_.par.tp, per_server = std::max(1, cfg_.links.chips_per_server);
  const bool same_server = (stage * tp) / per_server == ((stage + 1) * tp) / per_server;
  // Each of the tp chips sends its copy of the hidden states to its peer in the next stage, in parallel.
  // A point-to-point NCCL send inside a server: its base latency plus one link step.
  const ScaleUpSpec& su = cfg_.chip.scaleup;
  if (same_server) return bytes / su.bandwidth + su.ring_base_latency_s + su.ring_step_latency_s;
  return bytes / cfg_.links.scaleout_bandwidth + cfg_.links.scaleout_latency_s;
}

void RooflineStepTime::layer_and_head(const StepBatch& batch, bool skip_decode_attention, StageTime& layer,
                                      CommBreakdown& layer_comm, StageTime& head, CommBreakdown& head_comm) const
{
  const bool ep = cfg_.par.ep > 1;
  // Scratch shared by every model of the thread: one stays in cache where one per replica would not.
  thread_local std::vector<Op> ops_;
  if (ep)
    ep_layer_ops(cfg_.model, cfg_.par, batch, cfg_.dtypes, ops_);
  else
    layer_ops(cfg_.model, cfg_.par.tp, batch, cfg_.dtypes, ops_);
  if (skip_decode_attention)
    ops_.erase(std::remove_if(ops_.begin(), ops_.end(), [](const Op& o) { return o.kind == OpKind::attention_decode; }),
               ops_.end());
  add_ops(ops_.data(), ops_.data() + ops_.size(), 1, layer, layer_comm);
  // With data-parallel attention (ep) each chip computes the logits of its own sequences with the whole head.
  StepBatch logits;
  logits.logits_tokens = ep ? long(std::ceil(double(batch.logits_tokens) / cfg_.par.ep)) : batch.logits_tokens;
  const Op lm = head_op(cfg_.model, ep ? 1 : cfg_.par.tp, logits, cfg_.dtypes);
  add_ops(&lm, &lm + 1, 1, head, head_comm);
}

StepTime RooflineStepTime::step(const StepBatch& batch) const
{
  StepTime st;
  if (batch.empty()) return st;
  const int pp = cfg_.par.pp, L = cfg_.model.num_layers;
  // Every layer of a step does the same work: time one, then scale by the layers of each stage.
  StageTime layer, last;
  CommBreakdown layer_comm, head_comm;
  layer_and_head(batch, false, layer, layer_comm, last, head_comm);
  const double act = pp > 1 ? pp_activation_bytes(cfg_.model, batch, cfg_.dtypes) : 0;
  st.stages.resize(pp);
  for (int s = 0; s < pp; ++s) {
    StageTime& stage = st.stages[s];
    const double n = stage_layers(L, pp, s);
    add_scaled(stage, layer, n);
    add_scaled(st.comm, layer_comm, n);
    if (s == pp - 1) {
      add_scaled(stage, last, 1);
      add_scaled(st.comm, head_comm, 1);
    } else {
      stage.hop_s = hop_s(s, act);
      st.comm.pp_hop_s += stage.hop_s;
    }
  }
  st.host_s = eff_->step_overhead_s();
  st.total_s = st.host_s;
  for (const StageTime& s : st.stages)
    st.total_s += s.busy_s + s.hop_s;
  return st;
}

StepSummary RooflineStepTime::summary(const StepBatch& batch) const
{
  if (cfg_.par.pp > 1 || batch.empty()) return step(batch).summary();
  StageTime layer, last;
  CommBreakdown layer_comm, head_comm;
  layer_and_head(batch, false, layer, layer_comm, last, head_comm);
  StepSummary s;
  StageTime st;
  add_scaled(st, layer, cfg_.model.num_layers);
  add_scaled(st, last, 1);
  add_scaled(s.comm, layer_comm, cfg_.model.num_layers);
  add_scaled(s.comm, head_comm, 1);
  s.host_s = eff_->step_overhead_s();
  s.busy_s = st.busy_s;
  s.total_s = s.host_s + st.busy_s;
  s.phases = st.phases;
  return s;
}

const RooflineStepTime::DecodeFixed& RooflineStepTime::decode_fixed(const StepBatch& first) const
{
  // Without prefill chunks and the decode attention, a layer's ops depend on the batch size and logits alone.
  const size_t n = size_t(first.decode_seqs);
  DecodeFixed* f = &scratch_fixed_;
  if (n < max_memo_seqs) {
    if (decode_fixed_.size() <= n) decode_fixed_.resize(n + 1);
    f = &decode_fixed_[n];
    if (f->logits_tokens == first.logits_tokens) return *f;
  }
  StageTime layer, last;
  CommBreakdown layer_comm, head_comm;
  layer_and_head(first, true, layer, layer_comm, last, head_comm);
  const double L = cfg_.model.num_layers;
  *f = DecodeFixed{};
  f->logits_tokens = first.logits_tokens;
  add_scaled(f->st, layer, L);
  add_scaled(f->st, last, 1);
  add_scaled(f->comm, layer_comm, L);
  add_scaled(f->comm, head_comm, 1);
  return *f;
}

template <class F> void RooflineStepTime::each_decode_step(const StepBatch& first, int n, F&& f) const
{
  // Everything but the decode attention, once (and once per batch size: runs repeat sizes); then the attention of
  // each step's context.
  const DecodeFixed& fx = decode_fixed(first);
  const double L = cfg_.model.num_layers;
  for (int j = 0; j < n; ++j) {
    const Op attn = decode_attention_op(cfg_.model, cfg_.par.tp, first.decode_seqs,
                                        first.decode_context_sum + double(j) * double(first.decode_seqs), cfg_.dtypes);
    StageTime st = fx.st;
    double t = 0;
    const bool compute = op_time(attn, t); // add_ops for this one op (not a collective: the comm is fx's)
    const double times = attn.repeat * L;
    add_op_time(t, compute, times, attn.grouped ? L : times, st);
    f(j, st, fx.comm, compute ? t : -t);
  }
}

StepSummary RooflineStepTime::decode_step_summary(const StageTime& st, const CommBreakdown& comm) const
{
  StepSummary s;
  s.host_s = eff_->step_overhead_s();
  s.busy_s = st.busy_s;
  s.total_s = s.host_s + st.busy_s;
  s.phases = st.phases;
  s.comm = comm;
  return s;
}

bool RooflineStepTime::closed_form_run(const StepBatch& first) const
{
  return cfg_.par.pp == 1 && cfg_.par.ep == 1 && first.prefill.empty() && first.decode_seqs > 0;
}

void RooflineStepTime::decode_run(const StepBatch& first, int n, StepSummary* out) const
{
  if (n <= 0) return;
  if (!closed_form_run(first)) return StepTimeModel::decode_run(first, n, out);
  each_decode_step(first, n, [&](int j, const StageTime& st, const CommBreakdown& comm, double) {
    out[j] = decode_step_summary(st, comm);
  });
}

void RooflineStepTime::decode_run_kept(const StepBatch& first, int m, const double* kept, StepSummary* out) const
{
  if (m <= 0) return;
  if (!closed_form_run(first)) return StepTimeModel::decode_run(first, m, out);
  const DecodeFixed& fx = decode_fixed(first);
  const double L = cfg_.model.num_layers;
  const Op attn =
      decode_attention_op(cfg_.model, cfg_.par.tp, first.decode_seqs, first.decode_context_sum, cfg_.dtypes);
  const double times = attn.repeat * L; // the same for every step of the run: only the context grows
  for (int j = 0; j < m; ++j) {
    StageTime st = fx.st;
    add_op_time(std::abs(kept[j]), !std::signbit(kept[j]), times, attn.grouped ? L : times, st);
    out[j] = decode_step_summary(st, fx.comm);
  }
}

void RooflineStepTime::decode_run_ends(const StepBatch& first, int n, double start, double* ends) const
{
  if (n <= 0) return;
  if (!closed_form_run(first)) return StepTimeModel::decode_run_ends(first, n, start, ends);
  const double host = eff_->step_overhead_s();
  double t = start;
  each_decode_step(first, n,
                   [&](int j, const StageTime& st, const CommBreakdown&, double) { ends[j] = t += host + st.busy_s; });
}

void RooflineStepTime::decode_run_ends(const StepBatch& first, int n, double start, double* ends, double* kept) const
{
  if (n <= 0) return;
  if (!closed_form_run(first)) return StepTimeModel::decode_run_ends(first, n, start, ends);
  const double host = eff_->step_overhead_s();
  double t = start;
  each_decode_step(first, n, [&](int j, const StageTime& st, const CommBreakdown&, double attention) {
    ends[j] = t += host + st.busy_s;
    kept[j] = attention;
  });
}

const StepTimeRegistry& step_time_registry()
{
  static const StepTimeRegistry reg = [] {
    StepTimeRegistry r("step-time model");
    r.add("roofline",
          "per-op roofline x (calibrated) efficiency, cheapest TP all-reduce, PP stages and hops, per-step host "
          "overhead (GPU-class chips)",
          [](const ReplicaConfig& c) { return std::make_unique<RooflineStepTime>(c); });
    r.add("sram_pipeline",
          "LPU-style SRAM-only chips: the model sliced over a pipeline of chips, each step at the chips' peaks, a "
          "latency and link-bandwidth charge per chip-to-chip hop, one micro-batch per segment in flight",
          [](const ReplicaConfig& c) { return std::make_unique<SramPipelineStepTime>(c); });
    return r;
  }();
  return reg;
}

} // namespace fs
