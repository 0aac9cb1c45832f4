// decode_attn: paged decode attention (one query token per sequence), GQA, bf16 KV in blocks of 16 tokens,
// fp32 softmax; flash-decoding split over the context plus a combine kernel.
// K/V cache layout: [num_blocks][kv_heads][16][head_dim]; block table [batch][max_blocks]; Q/out [batch][q_heads][D].
#include <algorithm>
#include <cmath>
#include <random>

#include "attn_common.h"
#include "common.h"

namespace {

constexpr int D = 128, BLK = 16, kThreads = 128, kHalfWarps = kThreads / 16, U = 4;

// Sums v[G] over the 16 lanes of a half-warp, scattering the results: afterwards lane l16 holds the full sum for
// head g in v[0]; `writer` marks one lane per g.
template <int G> __device__ __forceinline__ void reduce_scatter16(float (&v)[G], int l16, int& g, bool& writer) {
  g = 0;
  writer = true;
  int c = G;
#pragma unroll
  for (int o = 8; o >= 1; o >>= 1) {
    if (c > 1) {
      const int half = c / 2;
      const bool bit = (l16 & o) != 0;
#pragma unroll
      for (int j = 0; j < half; ++j) {
        const float send = bit ? v[j] : v[j + half], keep = bit ? v[j + half] : v[j];
        v[j] = keep + __shfl_xor_sync(0xffffffffu, send, o);
      }
      if (bit) g += half;
      c = half;
    } else {
      v[0] += __shfl_xor_sync(0xffffffffu, v[0], o);
      if (l16 & o) writer = false;
    }
  }
}

// grid (kv_heads, batch, splits); one block: one kv head, its G query heads, tokens [split*P, split*P + P).
template <int G>
__global__ void __launch_bounds__(kThreads)
    k_decode(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ Kc,
             const __nv_bfloat16* __restrict__ Vc, const int* __restrict__ table, int max_blocks,
             const int* __restrict__ ctx_lens, int kvh_n, int P, float scale_log2, float* __restrict__ part_o,
             float2* __restrict__ part_ml, __nv_bfloat16* __restrict__ out) {
  extern __shared__ float sm[];
  float* s = sm;               // [G][P] scores, then probabilities
  float* oacc = sm + G * P;    // [G][D]
  float* red_m = oacc + G * D; // [G]
  float* red_l = red_m + G;    // [G]
  const int kvh = blockIdx.x, b = blockIdx.y, split = blockIdx.z, splits = gridDim.z;
  const int ctx = ctx_lens[b], t0 = split * P;
  if (t0 >= ctx) return; // whole block exits
  const int t1 = min(ctx, t0 + P), len = t1 - t0;
  const int tid = threadIdx.x, hw = tid / 16, l16 = tid % 16, warp = tid / 32, lane = tid % 32;
  const int qh_n = kvh_n * G;
  const int* tb = table + (size_t)b * max_blocks;
  auto row = [&](const __nv_bfloat16* cache, int t) {
    return cache + (((size_t)tb[t / BLK] * kvh_n + kvh) * BLK + t % BLK) * D + l16 * 8;
  };

  float q[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    uint4 r = *reinterpret_cast<const uint4*>(Q + ((size_t)b * qh_n + kvh * G + g) * D + l16 * 8);
    fs::unpack8(r, q[g]);
#pragma unroll
    for (int i = 0; i < 8; ++i)
      q[g][i] *= scale_log2;
  }
  for (int i = tid; i < G * D; i += kThreads)
    oacc[i] = 0.0f;

  // Phase 1: scores (log2 domain). Loop bounds are block-uniform so the shuffles see all lanes.
  for (int base = t0; base < t1; base += kHalfWarps * U) {
    uint4 kr[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int t = base + u * kHalfWarps + hw;
      kr[u] = t < t1 ? __ldg(reinterpret_cast<const uint4*>(row(Kc, t))) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int t = base + u * kHalfWarps + hw;
      float k[8], dot[G];
      fs::unpack8(kr[u], k);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        dot[g] = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i)
          dot[g] = fmaf(q[g][i], k[i], dot[g]);
      }
      int g;
      bool writer;
      reduce_scatter16<G>(dot, l16, g, writer);
      if (writer && t < t1) s[g * P + (t - t0)] = dot[0];
    }
  }
  __syncthreads();

  // Softmax statistics per head (one warp per head).
  for (int g = warp; g < G; g += kThreads / 32) {
    float m = -INFINITY;
    for (int i = lane; i < len; i += 32)
      m = fmaxf(m, s[g * P + i]);
    m = fs::warp_max(m);
    float l = 0.0f;
    for (int i = lane; i < len; i += 32) {
      const float p = exp2f(s[g * P + i] - m);
      s[g * P + i] = p;
      l += p;
    }
    l = fs::warp_sum(l);
    if (lane == 0) {
      red_m[g] = m;
      red_l[g] = l;
    }
  }
  __syncthreads();

  // Phase 2: o[g] = sum_t p[g][t] * v[t].
  float acc[G][8];
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int i = 0; i < 8; ++i)
      acc[g][i] = 0.0f;
  for (int base = t0; base < t1; base += kHalfWarps * U) {
    uint4 vr[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int t = base + u * kHalfWarps + hw;
      vr[u] = t < t1 ? __ldg(reinterpret_cast<const uint4*>(row(Vc, t))) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int t = base + u * kHalfWarps + hw;
      if (t >= t1) continue;
      float v[8];
      fs::unpack8(vr[u], v);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const float p = s[g * P + (t - t0)];
#pragma unroll
        for (int i = 0; i < 8; ++i)
          acc[g][i] = fmaf(p, v[i], acc[g][i]);
      }
    }
  }
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int i = 0; i < 8; ++i)
      atomicAdd(&oacc[g * D + l16 * 8 + i], acc[g][i]);
  __syncthreads();

  if (splits == 1) { // single split: normalize and write the output directly
    for (int i = tid; i < G * D; i += kThreads) {
      const int g = i / D;
      out[((size_t)b * qh_n + kvh * G + g) * D + i % D] = __float2bfloat16(oacc[i] / red_l[g]);
    }
  } else {
    for (int i = tid; i < G * D; i += kThreads) {
      const int g = i / D;
      part_o[(((size_t)b * qh_n + kvh * G + g) * splits + split) * D + i % D] = oacc[i];
    }
    if (tid < G) part_ml[((size_t)b * qh_n + kvh * G + tid) * splits + split] = make_float2(red_m[tid], red_l[tid]);
  }
}

// grid (q_heads, batch), block D: merges the per-split partial results.
__global__ void k_combine(const float* __restrict__ part_o, const float2* __restrict__ part_ml,
                          const int* __restrict__ ctx_lens, int P, int splits, __nv_bfloat16* __restrict__ out) {
  const int h = blockIdx.x, b = blockIdx.y, qh_n = gridDim.x, d = threadIdx.x;
  const int ns = (ctx_lens[b] + P - 1) / P;
  const size_t base = ((size_t)b * qh_n + h) * splits;
  float m = -INFINITY;
  for (int i = 0; i < ns; ++i)
    m = fmaxf(m, part_ml[base + i].x);
  float l = 0.0f, o = 0.0f;
  for (int i = 0; i < ns; ++i) {
    const float w = exp2f(part_ml[base + i].x - m);
    l += w * part_ml[base + i].y;
    o += w * part_o[(base + i) * D + d];
  }
  out[((size_t)b * qh_n + h) * D + d] = __float2bfloat16(o / l);
}

// Device state for one problem: `sets` independent KV caches (rotated through to defeat the L2).
struct Decode {
  int batch = 0, qh = 0, kvh = 0, max_ctx = 0, max_blocks = 0, P = 512, splits = 1, sets = 1;
  size_t blocks_per_set = 0;
  __nv_bfloat16 *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  int *table = nullptr, *ctx = nullptr;
  float* part_o = nullptr;
  float2* part_ml = nullptr;
  std::vector<int> h_table, h_ctx;

  void alloc(int b, int q_heads, int kv_heads, const std::vector<int>& lens, int n_sets, uint64_t seed) {
    batch = b, qh = q_heads, kvh = kv_heads, sets = n_sets, h_ctx = lens;
    max_ctx = *std::max_element(lens.begin(), lens.end());
    max_blocks = (max_ctx + BLK - 1) / BLK;
    blocks_per_set = 0;
    for (int c : lens)
      blocks_per_set += (c + BLK - 1) / BLK;
    const size_t blk_elems = (size_t)kvh * BLK * D, n_blk = blocks_per_set * sets;
    CK(cudaMalloc(&k, n_blk * blk_elems * 2));
    CK(cudaMalloc(&v, n_blk * blk_elems * 2));
    CK(cudaMalloc(&q, (size_t)batch * qh * D * 2));
    CK(cudaMalloc(&o, (size_t)batch * qh * D * 2));
    fs::fill_bf16(k, n_blk * blk_elems, seed + 1);
    fs::fill_bf16(v, n_blk * blk_elems, seed + 2);
    fs::fill_bf16(q, (size_t)batch * qh * D, seed + 3);
    // Block tables: each set's blocks in a random order (paged, non-contiguous).
    std::mt19937 rng((unsigned)seed);
    h_table.assign((size_t)sets * batch * max_blocks, 0);
    for (int s = 0; s < sets; ++s) {
      std::vector<int> ids(blocks_per_set);
      for (size_t i = 0; i < ids.size(); ++i)
        ids[i] = (int)(s * blocks_per_set + i);
      std::shuffle(ids.begin(), ids.end(), rng);
      size_t next = 0;
      for (int i = 0; i < batch; ++i)
        for (int j = 0; j < (lens[i] + BLK - 1) / BLK; ++j)
          h_table[((size_t)s * batch + i) * max_blocks + j] = ids[next++];
    }
    CK(cudaMalloc(&table, h_table.size() * sizeof(int)));
    CK(cudaMemcpy(table, h_table.data(), h_table.size() * sizeof(int), cudaMemcpyHostToDevice));
    CK(cudaMalloc(&ctx, batch * sizeof(int)));
    CK(cudaMemcpy(ctx, lens.data(), batch * sizeof(int), cudaMemcpyHostToDevice));
    CK(cudaDeviceSynchronize()); // fills ran on the legacy stream; kernels run on a non-blocking one
  }

  // Chooses the split size P (tokens per block) so that the grid has >= 2 blocks per SM, unless forced.
  void plan(int forced_P) {
    P = 512;
    while (P > 64 && (long long)kvh * batch * ((max_ctx + P - 1) / P) < 2LL * fs::dev().sm_count)
      P /= 2;
    if (forced_P > 0) P = forced_P;
    splits = (max_ctx + P - 1) / P;
    if (part_o) CK(cudaFree(part_o));
    if (part_ml) CK(cudaFree(part_ml));
    CK(cudaMalloc(&part_o, (size_t)batch * qh * splits * D * sizeof(float)));
    CK(cudaMalloc(&part_ml, (size_t)batch * qh * splits * sizeof(float2)));
  }

  void run(cudaStream_t st, int set) {
    const int G = qh / kvh;
    const size_t smem = (size_t)(G * P + G * D + 2 * G) * sizeof(float);
    const float scale_log2 = 1.4426950408889634f / sqrtf((float)D);
    const int* tb = table + (size_t)(set % sets) * batch * max_blocks;
    dim3 grid(kvh, batch, splits);
    decltype(&k_decode<1>) fn = nullptr;
    switch (G) {
    case 1:
      fn = k_decode<1>;
      break;
    case 2:
      fn = k_decode<2>;
      break;
    case 4:
      fn = k_decode<4>;
      break;
    case 8:
      fn = k_decode<8>;
      break;
    case 16:
      fn = k_decode<16>;
      break;
    default:
      fprintf(stderr, "decode_attn: unsupported group size %d\n", G);
      exit(1);
    }
    fn<<<grid, kThreads, smem, st>>>(q, k, v, tb, max_blocks, ctx, kvh, P, scale_log2, part_o, part_ml, o);
    CK_LAUNCH();
    if (splits > 1) {
      k_combine<<<dim3(qh, batch), D, 0, st>>>(part_o, part_ml, ctx, P, splits, o);
      CK_LAUNCH();
    }
  }

  // Double-precision host reference for set 0.
  std::vector<double> reference() {
    std::vector<float> hq = fs::to_host_f32(q, (size_t)batch * qh * D);
    std::vector<float> hk = fs::to_host_f32(k, blocks_per_set * kvh * BLK * D);
    std::vector<float> hv = fs::to_host_f32(v, blocks_per_set * kvh * BLK * D);
    std::vector<double> ref((size_t)batch * qh * D, 0.0);
    const int G = qh / kvh;
    for (int b = 0; b < batch; ++b)
      for (int h = 0; h < qh; ++h) {
        const int c = h_ctx[b];
        std::vector<double> sc(c);
        double mx = -1e300, sum = 0;
        auto at = [&](int t) {
          return (((size_t)h_table[(size_t)b * max_blocks + t / BLK] * kvh + h / G) * BLK + t % BLK) * D;
        };
        for (int t = 0; t < c; ++t) {
          double d = 0;
          for (int i = 0; i < D; ++i)
            d += (double)hq[((size_t)b * qh + h) * D + i] * hk[at(t) + i];
          sc[t] = d / std::sqrt((double)D);
          mx = std::max(mx, sc[t]);
        }
        for (int t = 0; t < c; ++t)
          sum += (sc[t] = std::exp(sc[t] - mx));
        for (int t = 0; t < c; ++t)
          for (int i = 0; i < D; ++i)
            ref[((size_t)b * qh + h) * D + i] += sc[t] / sum * hv[at(t) + i];
      }
    return ref;
  }

  ~Decode() {
    for (void* p : {(void*)q, (void*)k, (void*)v, (void*)o, (void*)table, (void*)ctx, (void*)part_o, (void*)part_ml})
      if (p) CK(cudaFree(p));
  }
};

bool selftest(cudaStream_t st, const char* what, int qh, int kvh, std::vector<int> lens, int P) {
  Decode d;
  d.alloc((int)lens.size(), qh, kvh, lens, 1, 77 + qh + P);
  d.plan(P);
  CK(cudaMemset(d.o, 0xFF, (size_t)d.batch * qh * D * 2)); // NaN poison
  CK(cudaDeviceSynchronize());
  d.run(st, 0);
  CK(cudaStreamSynchronize(st));
  std::vector<float> got = fs::to_host_f32(d.o, (size_t)d.batch * qh * D);
  return fs::emit_selftest(what, fs::rel_l2_err(got, d.reference()), 1e-2);
}

} // namespace

int main(int argc, char** argv) {
  fs::Args a = fs::parse_args(argc, argv, "decode_attn");
  fs::init(a, "decode_attn");
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));

  bool ok = true;
  ok &= selftest(st, "decode_g4_split64", 8, 2, {1, 37, 600}, 64);
  ok &= selftest(st, "decode_g8_split512", 16, 2, {1, 37, 600, 1500}, 512);
  ok &= selftest(st, "decode_g1_split64", 4, 4, {20, 300}, 64);
  ok &= selftest(st, "decode_g4_single_split", 8, 2, {5, 60}, 64);

  struct Cfg {
    const char* model;
    int qh, kvh;
  };
  const Cfg cfgs[] = {{"llama70b", 64, 8}, {"llama8b", 32, 8}, {"llama70b_tp8", 8, 1}};
  std::vector<int> batches = {1, 4, 16, 64, 256}, ctxs = {128, 512, 2048, 8192, 32768};
  if (a.quick) batches = {1, 64}, ctxs = {512, 8192};
  const double kMaxKv = 8.0 * (1ull << 30);
  for (const Cfg& c : cfgs) {
    if (a.quick && c.kvh == 1) continue;
    for (int b : batches)
      for (int ctx : ctxs) {
        const double kv_bytes = 2.0 * b * (double)ctx * c.kvh * D * 2; // K and V, bf16
        if (kv_bytes > kMaxKv) continue;
        Decode d;
        d.alloc(b, c.qh, c.kvh, std::vector<int>(b, ctx), fs::rotation_sets((size_t)kv_bytes, 512), 1000 + b + ctx);
        d.plan(0);
        fs::Op op = [&](cudaStream_t s, int i) { d.run(s, i); };
        fs::Timing t = fs::time_op(op, st, a, d.sets);
        fs::JLine("decode_attn")
            .str("model", c.model)
            .i64("batch", b)
            .i64("context", ctx)
            .i64("q_heads", c.qh)
            .i64("kv_heads", c.kvh)
            .i64("head_dim", D)
            .i64("block_size", BLK)
            .i64("kv_bytes", (long long)kv_bytes)
            .num("flops", 4.0 * b * (double)ctx * c.qh * D)
            .i64("split_tokens", d.P)
            .i64("splits", d.splits)
            .i64("rotation_sets", d.sets)
            .timing(t)
            .num("gbps", kv_bytes / t.median_s * 1e-9)
            .emit();
      }
  }
  CK(cudaStreamDestroy(st));
  return ok ? 0 : 3;
}
