// elementwise: memory-bound per-token kernels: RMSNorm, fused residual-add + RMSNorm, SiLU(gate) * up. bf16 in/out.
#include <algorithm>
#include <cmath>

#include "attn_common.h"
#include "common.h"

namespace {

constexpr int kThreads = 256;
constexpr float kEps = 1e-5f;

__device__ float block_sum(float v) {
  __shared__ float red[kThreads / 32];
  v = fs::warp_sum(v);
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  __syncthreads();
  float t = 0.0f;
#pragma unroll
  for (int i = 0; i < kThreads / 32; ++i)
    t += red[i];
  return t;
}

__device__ __forceinline__ uint4 pack8(const float (&f)[8]) {
  uint4 r;
  __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&r);
#pragma unroll
  for (int i = 0; i < 4; ++i)
    h[i] = __floats2bfloat162_rn(f[2 * i], f[2 * i + 1]);
  return r;
}

// One block per token; each thread holds VPT 16-byte chunks of the row (H == VPT * 8 * kThreads).
// If `res` is non-null: x = x + res is written back to res first (vLLM's fused_add_rms_norm).
template <int VPT>
__global__ void __launch_bounds__(kThreads)
    k_rmsnorm(const __nv_bfloat16* __restrict__ x, __nv_bfloat16* res, const __nv_bfloat16* __restrict__ w,
              __nv_bfloat16* __restrict__ out, int H) {
  const size_t row = (size_t)blockIdx.x * H;
  float v[VPT][8];
  float ss = 0.0f;
#pragma unroll
  for (int c = 0; c < VPT; ++c) {
    const int off = (c * kThreads + threadIdx.x) * 8;
    fs::unpack8(*reinterpret_cast<const uint4*>(x + row + off), v[c]);
    if (res) {
      float r[8];
      fs::unpack8(*reinterpret_cast<const uint4*>(res + row + off), r);
#pragma unroll
      for (int i = 0; i < 8; ++i)
        v[c][i] += r[i];
      *reinterpret_cast<uint4*>(res + row + off) = pack8(v[c]);
    }
#pragma unroll
    for (int i = 0; i < 8; ++i)
      ss += v[c][i] * v[c][i];
  }
  const float inv = rsqrtf(block_sum(ss) / H + kEps);
#pragma unroll
  for (int c = 0; c < VPT; ++c) {
    const int off = (c * kThreads + threadIdx.x) * 8;
    float wf[8], o[8];
    fs::unpack8(*reinterpret_cast<const uint4*>(w + off), wf);
#pragma unroll
    for (int i = 0; i < 8; ++i)
      o[i] = v[c][i] * inv * wf[i];
    *reinterpret_cast<uint4*>(out + row + off) = pack8(o);
  }
}

// in [T][2H] = (gate | up), out [T][H] = silu(gate) * up; grid-stride over 16-byte chunks.
__global__ void k_silu_mul(const __nv_bfloat16* __restrict__ in, __nv_bfloat16* __restrict__ out, size_t T, int H) {
  const size_t cpr = H / 8, n = T * cpr;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const size_t t = i / cpr, c = (i % cpr) * 8;
    float g[8], u[8], o[8];
    fs::unpack8(*reinterpret_cast<const uint4*>(in + t * 2 * H + c), g);
    fs::unpack8(*reinterpret_cast<const uint4*>(in + t * 2 * H + H + c), u);
#pragma unroll
    for (int k = 0; k < 8; ++k)
      o[k] = g[k] / (1.0f + __expf(-g[k])) * u[k];
    *reinterpret_cast<uint4*>(out + t * H + c) = pack8(o);
  }
}

void rmsnorm(const __nv_bfloat16* x, __nv_bfloat16* res, const __nv_bfloat16* w, __nv_bfloat16* out, int T, int H,
             cudaStream_t st) {
  if (H % (8 * kThreads)) {
    fprintf(stderr, "rmsnorm: hidden %d not a multiple of %d\n", H, 8 * kThreads);
    exit(1);
  }
  switch (H / (8 * kThreads)) {
  case 1:
    k_rmsnorm<1><<<T, kThreads, 0, st>>>(x, res, w, out, H);
    break;
  case 2:
    k_rmsnorm<2><<<T, kThreads, 0, st>>>(x, res, w, out, H);
    break;
  case 4:
    k_rmsnorm<4><<<T, kThreads, 0, st>>>(x, res, w, out, H);
    break;
  case 8:
    k_rmsnorm<8><<<T, kThreads, 0, st>>>(x, res, w, out, H);
    break;
  default:
    fprintf(stderr, "rmsnorm: unsupported hidden %d\n", H);
    exit(1);
  }
  CK_LAUNCH();
}

void silu_mul(const __nv_bfloat16* in, __nv_bfloat16* out, int T, int H, cudaStream_t st) {
  const size_t n = (size_t)T * H / 8;
  const unsigned grid = (unsigned)std::min<size_t>((n + kThreads - 1) / kThreads, (size_t)fs::dev().sm_count * 8);
  k_silu_mul<<<grid, kThreads, 0, st>>>(in, out, T, H);
  CK_LAUNCH();
}

bool selftests(cudaStream_t st) {
  const int T = 3, H = 4096;
  __nv_bfloat16 *x, *res, *w, *o;
  CK(cudaMalloc(&x, (size_t)T * 2 * H * 2));
  CK(cudaMalloc(&res, (size_t)T * H * 2));
  CK(cudaMalloc(&w, H * 2));
  CK(cudaMalloc(&o, (size_t)T * H * 2));
  fs::fill_bf16(x, (size_t)T * 2 * H, 1, 3.0f);
  fs::fill_bf16(res, (size_t)T * H, 2);
  fs::fill_bf16(w, H, 3);
  std::vector<float> hx = fs::to_host_f32(x, (size_t)T * 2 * H), hr = fs::to_host_f32(res, (size_t)T * H);
  std::vector<float> hw = fs::to_host_f32(w, H);
  bool ok = true;
  for (int fused = 0; fused < 2; ++fused) {
    CK(cudaMemset(o, 0xFF, (size_t)T * H * 2));
    CK(cudaDeviceSynchronize());
    rmsnorm(x, fused ? res : nullptr, w, o, T, H, st);
    std::vector<float> got = fs::to_host_f32(o, (size_t)T * H);
    std::vector<double> ref((size_t)T * H);
    for (int t = 0; t < T; ++t) {
      double ss = 0;
      std::vector<double> v(H);
      for (int i = 0; i < H; ++i)
        ss += (v[i] = hx[(size_t)t * H + i] + (fused ? hr[(size_t)t * H + i] : 0.0)) * v[i];
      const double inv = 1.0 / std::sqrt(ss / H + kEps);
      for (int i = 0; i < H; ++i)
        ref[(size_t)t * H + i] = v[i] * inv * hw[i];
    }
    ok &= fs::emit_selftest(fused ? "add_rmsnorm" : "rmsnorm", fs::rel_l2_err(got, ref), 1e-2);
  }
  CK(cudaMemset(o, 0xFF, (size_t)T * H * 2));
  CK(cudaDeviceSynchronize());
  silu_mul(x, o, T, H, st);
  std::vector<float> got = fs::to_host_f32(o, (size_t)T * H);
  std::vector<double> ref((size_t)T * H);
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < H; ++i) {
      const double g = hx[(size_t)t * 2 * H + i], u = hx[(size_t)t * 2 * H + H + i];
      ref[(size_t)t * H + i] = g / (1.0 + std::exp(-g)) * u;
    }
  ok &= fs::emit_selftest("silu_mul", fs::rel_l2_err(got, ref), 1e-2);
  for (void* p : {(void*)x, (void*)res, (void*)w, (void*)o})
    CK(cudaFree(p));
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  fs::Args a = fs::parse_args(argc, argv, "elementwise");
  fs::init(a, "elementwise");
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  bool ok = selftests(st);

  std::vector<int> tokens = {1, 16, 256, 4096, 16384}, hiddens = {4096, 8192};
  if (a.quick) tokens = {1, 4096};
  const char* ops[] = {"rmsnorm", "add_rmsnorm", "silu_mul"};
  for (int H : hiddens)
    for (int T : tokens)
      for (int op_i = 0; op_i < 3; ++op_i) {
        // Per set: input (silu_mul: 2H wide), residual, output; one weight vector shared.
        const size_t in_e = (size_t)T * H * (op_i == 2 ? 2 : 1), tok_e = (size_t)T * H;
        const double bytes = 2.0 * (op_i == 0 ? 2.0 * tok_e + H : op_i == 1 ? 4.0 * tok_e + H : 3.0 * tok_e);
        const int sets = fs::rotation_sets((size_t)bytes, 4096);
        __nv_bfloat16 *in, *res, *w, *out;
        CK(cudaMalloc(&in, in_e * sets * 2));
        CK(cudaMalloc(&res, tok_e * sets * 2));
        CK(cudaMalloc(&out, tok_e * sets * 2));
        CK(cudaMalloc(&w, (size_t)H * 2));
        fs::fill_bf16(in, in_e * sets, 7);
        fs::fill_bf16(res, tok_e * sets, 8);
        fs::fill_bf16(w, H, 9);
        fs::Op op = [&](cudaStream_t s, int i) {
          const size_t k = (size_t)(i % sets);
          if (op_i == 2)
            silu_mul(in + k * in_e, out + k * tok_e, T, H, s);
          else
            rmsnorm(in + k * in_e, op_i == 1 ? res + k * tok_e : nullptr, w, out + k * tok_e, T, H, s);
        };
        fs::Timing t = fs::time_op(op, st, a, sets);
        fs::JLine("elementwise")
            .str("op", ops[op_i])
            .i64("tokens", T)
            .i64("hidden", H)
            .i64("bytes", (long long)bytes)
            .i64("rotation_sets", sets)
            .timing(t)
            .num("gbps", bytes / t.median_s * 1e-9)
            .emit();
        for (void* p : {(void*)in, (void*)res, (void*)w, (void*)out})
          CK(cudaFree(p));
      }
  CK(cudaStreamDestroy(st));
  return ok ? 0 : 3;
}
