// prefill_attn: causal attention for one chunk of n new tokens after c cached tokens (GQA, head_dim 128, bf16),
// FlashAttention-2 style: mma.sync m16n8k16 bf16 tensor cores, online softmax in registers, 2-stage cp.async K/V.
// Layouts: Q/O [n][q_heads][128]; K/V [c+n][kv_heads][128] (contiguous). Query row i sees keys 0 .. c+i.
#include <algorithm>
#include <cmath>

#include "common.h"

namespace {

constexpr int D = 128, BM = 64, BN = 64, LDS = D + 8, kThreads = 128; // 4 warps x 16 query rows
constexpr size_t kSmem = (size_t)(BM + 4 * BN) * LDS * 2;             // Q + 2 x (K, V)

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
  unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}
__device__ __forceinline__ void cp_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const void* smem) {
  unsigned s = (unsigned)__cvta_generic_to_shared(smem);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 t = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&t);
}

__device__ __forceinline__ uint32_t lds32(const __nv_bfloat16* p) { return *reinterpret_cast<const uint32_t*>(p); }

// Copies rows [r0, r0+64) of a [rows][heads][D] tensor (one head) into smem [64][LDS]; rows >= limit become 0.
__device__ __forceinline__ void load_tile(__nv_bfloat16* sm, const __nv_bfloat16* g, int r0, int limit, int heads,
                                          int head) {
#pragma unroll
  for (int i = 0; i < BN * D / 8 / kThreads; ++i) {
    const int c = threadIdx.x + i * kThreads, row = c / (D / 8), col = (c % (D / 8)) * 8;
    __nv_bfloat16* dst = sm + row * LDS + col;
    if (r0 + row < limit)
      cp_async16(dst, g + ((size_t)(r0 + row) * heads + head) * D + col);
    else
      *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
  }
}

// grid (ceil(n/64), q_heads); the longest (last) query tiles are scheduled first.
__global__ void __launch_bounds__(kThreads, 2)
    k_prefill(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,
              const __nv_bfloat16* __restrict__ V, __nv_bfloat16* __restrict__ O, int n, int c, int qh_n, int kvh_n,
              float scale_log2) {
  extern __shared__ __align__(16) __nv_bfloat16 smem[];
  __nv_bfloat16* qs = smem;
  auto ks = [&](int b) { return smem + (BM + b * 2 * BN) * LDS; };
  auto vs = [&](int b) { return smem + (BM + b * 2 * BN + BN) * LDS; };
  const int mt = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, kh = h / (qh_n / kvh_n);
  const int m0 = mt * BM, total = c + n;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, tig = lane % 4;
  const int kv_end = c + min(m0 + BM, n), ntiles = (kv_end + BN - 1) / BN;
  const int r0 = m0 + warp * 16 + g, r1 = r0 + 8; // this thread's two query rows (chunk-relative)

  load_tile(qs, Q, m0, n, qh_n, h);
  cp_commit();
  load_tile(ks(0), K, 0, total, kvh_n, kh);
  load_tile(vs(0), V, 0, total, kvh_n, kh);
  cp_commit();

  uint32_t qa[D / 16][4];
  float o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i)
    o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float row_m[2] = {-INFINITY, -INFINITY}, row_l[2] = {0.0f, 0.0f};

  for (int j = 0; j < ntiles; ++j) {
    const int buf = j & 1;
    if (j + 1 < ntiles) {
      load_tile(ks(buf ^ 1), K, (j + 1) * BN, total, kvh_n, kh);
      load_tile(vs(buf ^ 1), V, (j + 1) * BN, total, kvh_n, kh);
      cp_commit();
      cp_wait<1>();
    } else {
      cp_wait<0>();
    }
    __syncthreads();
    if (j == 0) {
      const __nv_bfloat16* q0 = qs + (warp * 16 + g) * LDS + tig * 2;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        qa[kk][0] = lds32(q0 + kk * 16);
        qa[kk][1] = lds32(q0 + 8 * LDS + kk * 16);
        qa[kk][2] = lds32(q0 + kk * 16 + 8);
        qa[kk][3] = lds32(q0 + 8 * LDS + kk * 16 + 8);
      }
    }
    // S = Q K^T for this warp's 16 rows x 64 keys.
    float s[BN / 8][4];
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt)
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
    const __nv_bfloat16* kb = ks(buf) + g * LDS + tig * 2;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
      for (int nt = 0; nt < BN / 8; ++nt)
        mma16816(s[nt], qa[kk], lds32(kb + nt * 8 * LDS + kk * 16), lds32(kb + nt * 8 * LDS + kk * 16 + 8));

    // Scale, causal mask, online softmax (rows r0: elements 0,1; r1: elements 2,3).
    const bool diag = j * BN + BN - 1 > c + m0;
    float tmax[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int key = j * BN + nt * 8 + tig * 2 + (e & 1), row = e < 2 ? r0 : r1;
        float v = s[nt][e] * scale_log2;
        if (diag && key > c + row) v = -INFINITY;
        s[nt][e] = v;
        tmax[e / 2] = fmaxf(tmax[e / 2], v);
      }
    float alpha[2], base[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tmax[r] = fmaxf(tmax[r], __shfl_xor_sync(0xffffffffu, tmax[r], 1));
      tmax[r] = fmaxf(tmax[r], __shfl_xor_sync(0xffffffffu, tmax[r], 2));
      const float m_new = fmaxf(row_m[r], tmax[r]);
      base[r] = m_new == -INFINITY ? 0.0f : m_new;
      alpha[r] = exp2f(row_m[r] - base[r]);
      row_m[r] = m_new;
      row_l[r] *= alpha[r];
    }
    uint32_t pa[BN / 16][4];
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt) {
      const float p0 = exp2f(s[nt][0] - base[0]), p1 = exp2f(s[nt][1] - base[0]);
      const float p2 = exp2f(s[nt][2] - base[1]), p3 = exp2f(s[nt][3] - base[1]);
      row_l[0] += p0 + p1;
      row_l[1] += p2 + p3;
      pa[nt / 2][(nt & 1) * 2 + 0] = pack_bf16(p0, p1);
      pa[nt / 2][(nt & 1) * 2 + 1] = pack_bf16(p2, p3);
    }
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      o[dt][0] *= alpha[0];
      o[dt][1] *= alpha[0];
      o[dt][2] *= alpha[1];
      o[dt][3] *= alpha[1];
    }
    // O += P V: B fragments of V (k = key, n = d) via ldmatrix.trans from the row-major [key][d] tile.
    const __nv_bfloat16* vb = vs(buf) + (((lane >> 3) & 1) * 8 + (lane & 7)) * LDS + (lane >> 4) * 8;
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk)
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t b[4];
        ldsm_x4_trans(b, vb + kk * 16 * LDS + dp * 16);
        mma16816(o[2 * dp], pa[kk], b[0], b[1]);
        mma16816(o[2 * dp + 1], pa[kk], b[2], b[3]);
      }
    __syncthreads(); // buffer `buf` is refilled by the next iteration's prefetch
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_l[r] += __shfl_xor_sync(0xffffffffu, row_l[r], 1);
    row_l[r] += __shfl_xor_sync(0xffffffffu, row_l[r], 2);
  }
  const float inv0 = 1.0f / row_l[0], inv1 = 1.0f / row_l[1];
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt) {
    const int d = dt * 8 + tig * 2;
    if (r0 < n)
      *reinterpret_cast<__nv_bfloat162*>(O + ((size_t)r0 * qh_n + h) * D + d) =
          __floats2bfloat162_rn(o[dt][0] * inv0, o[dt][1] * inv0);
    if (r1 < n)
      *reinterpret_cast<__nv_bfloat162*>(O + ((size_t)r1 * qh_n + h) * D + d) =
          __floats2bfloat162_rn(o[dt][2] * inv1, o[dt][3] * inv1);
  }
}

struct Prefill {
  int n, c, qh, kvh, sets;
  __nv_bfloat16 *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  Prefill(int n_, int c_, int qh_, int kvh_, int sets_, uint64_t seed) : n(n_), c(c_), qh(qh_), kvh(kvh_), sets(sets_) {
    CK(cudaMalloc(&q, qsz() * sets * 2));
    CK(cudaMalloc(&o, qsz() * sets * 2));
    CK(cudaMalloc(&k, kvsz() * sets * 2));
    CK(cudaMalloc(&v, kvsz() * sets * 2));
    fs::fill_bf16(q, qsz() * sets, seed + 1);
    fs::fill_bf16(k, kvsz() * sets, seed + 2);
    fs::fill_bf16(v, kvsz() * sets, seed + 3);
    CK(cudaMemset(o, 0xFF, qsz() * sets * 2)); // NaN poison
    CK(cudaDeviceSynchronize());               // legacy-stream setup before non-blocking-stream kernels
  }
  ~Prefill() {
    for (void* p : {(void*)q, (void*)k, (void*)v, (void*)o})
      CK(cudaFree(p));
  }
  size_t qsz() const { return (size_t)n * qh * D; }
  size_t kvsz() const { return (size_t)(c + n) * kvh * D; }
  void run(cudaStream_t st, int i) const {
    const size_t s = (size_t)(i % sets);
    dim3 grid((n + BM - 1) / BM, qh);
    k_prefill<<<grid, kThreads, kSmem, st>>>(q + s * qsz(), k + s * kvsz(), v + s * kvsz(), o + s * qsz(), n, c, qh,
                                             kvh, 1.4426950408889634f / sqrtf((float)D));
    CK_LAUNCH();
  }
};

bool selftest(cudaStream_t st, int n, int c, int qh, int kvh) {
  Prefill p(n, c, qh, kvh, 1, 500 + n + c);
  p.run(st, 0);
  CK(cudaStreamSynchronize(st));
  std::vector<float> hq = fs::to_host_f32(p.q, p.qsz()), hk = fs::to_host_f32(p.k, p.kvsz());
  std::vector<float> hv = fs::to_host_f32(p.v, p.kvsz()), got = fs::to_host_f32(p.o, p.qsz());
  std::vector<double> ref(p.qsz(), 0.0);
  const int G = qh / kvh;
  for (int i = 0; i < n; ++i)
    for (int h = 0; h < qh; ++h) {
      const int nk = c + i + 1;
      std::vector<double> sc(nk);
      double mx = -1e300, sum = 0;
      for (int t = 0; t < nk; ++t) {
        double d = 0;
        for (int x = 0; x < D; ++x)
          d += (double)hq[((size_t)i * qh + h) * D + x] * hk[((size_t)t * kvh + h / G) * D + x];
        sc[t] = d / std::sqrt((double)D);
        mx = std::max(mx, sc[t]);
      }
      for (int t = 0; t < nk; ++t)
        sum += (sc[t] = std::exp(sc[t] - mx));
      for (int t = 0; t < nk; ++t)
        for (int x = 0; x < D; ++x)
          ref[((size_t)i * qh + h) * D + x] += sc[t] / sum * hv[((size_t)t * kvh + h / G) * D + x];
    }
  std::string what = "prefill_n" + std::to_string(n) + "_c" + std::to_string(c) + "_q" + std::to_string(qh) + "_kv" +
                     std::to_string(kvh);
  return fs::emit_selftest(what.c_str(), fs::rel_l2_err(got, ref), 1e-2);
}

} // namespace

int main(int argc, char** argv) {
  fs::Args a = fs::parse_args(argc, argv, "prefill_attn");
  fs::init(a, "prefill_attn");
  if ((int)kSmem > fs::dev().smem_optin) {
    fprintf(stderr, "prefill_attn: needs %zu bytes of shared memory per block, device allows %d\n", kSmem,
            fs::dev().smem_optin);
    return 1;
  }
  CK(cudaFuncSetAttribute(k_prefill, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kSmem));
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));

  bool ok = true;
  ok &= selftest(st, 100, 37, 4, 2);
  ok &= selftest(st, 130, 0, 2, 2);
  ok &= selftest(st, 64, 64, 8, 1);

  struct Cfg {
    const char* model;
    int qh, kvh;
  };
  const Cfg cfgs[] = {{"llama70b", 64, 8}, {"llama8b", 32, 8}};
  std::vector<int> ns = {128, 512, 2048, 8192}, cs = {0, 2048, 8192};
  if (a.quick) ns = {512, 2048}, cs = {0, 2048};
  for (const Cfg& cf : cfgs)
    for (int n : ns)
      for (int c : cs) {
        const double bytes = 2.0 * ((double)n * cf.qh * D * 2 + (double)(c + n) * cf.kvh * D * 2); // Q,O + K,V
        const int sets = fs::rotation_sets((size_t)bytes, 128);
        Prefill p(n, c, cf.qh, cf.kvh, sets, 900 + n + c);
        fs::Op op = [&](cudaStream_t s, int i) { p.run(s, i); };
        fs::Timing t = fs::time_op(op, st, a, sets);
        // Causal flops: token t (1-based) attends c + t keys; QK^T and PV each 2 * head_dim flops per (query, key).
        const double pairs = (double)n * c + 0.5 * (double)n * (n + 1);
        const double flops = 4.0 * cf.qh * D * pairs;
        fs::JLine("prefill_attn")
            .str("model", cf.model)
            .str("impl", "fa2_mma_sync_bf16")
            .i64("n", n)
            .i64("context", c)
            .i64("q_heads", cf.qh)
            .i64("kv_heads", cf.kvh)
            .i64("head_dim", D)
            .num("flops", flops)
            .i64("bytes", (long long)bytes)
            .i64("rotation_sets", sets)
            .timing(t)
            .num("tflops", flops / t.median_s * 1e-12)
            .emit();
      }
  CK(cudaStreamDestroy(st));
  return ok ? 0 : 3;
}
