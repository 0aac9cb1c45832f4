// membw: device memory bandwidth: copy (b -> a), triad (a = b + s*c) and cudaMemcpyAsync D2D, 64 KiB .. 4 GiB.
#include <algorithm>

#include "common.h"

namespace {

constexpr int kThreads = 256;
constexpr int kUnroll = 4;

__global__ void k_copy(float4* __restrict__ a, const float4* __restrict__ b, size_t n) {
  const size_t step = (size_t)gridDim.x * kThreads * kUnroll;
  for (size_t base = (size_t)blockIdx.x * kThreads * kUnroll + threadIdx.x; base < n; base += step) {
    float4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      size_t i = base + (size_t)u * kThreads;
      if (i < n) v[u] = b[i];
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      size_t i = base + (size_t)u * kThreads;
      if (i < n) a[i] = v[u];
    }
  }
}

__global__ void k_triad(float4* __restrict__ a, const float4* __restrict__ b, const float4* __restrict__ c, float s,
                        size_t n) {
  const size_t step = (size_t)gridDim.x * kThreads * kUnroll;
  for (size_t base = (size_t)blockIdx.x * kThreads * kUnroll + threadIdx.x; base < n; base += step) {
    float4 x[kUnroll], y[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      size_t i = base + (size_t)u * kThreads;
      if (i < n) {
        x[u] = b[i];
        y[u] = c[i];
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      size_t i = base + (size_t)u * kThreads;
      if (i < n) a[i] = make_float4(x[u].x + s * y[u].x, x[u].y + s * y[u].y, x[u].z + s * y[u].z, x[u].w + s * y[u].w);
    }
  }
}

unsigned grid_for(size_t n4) {
  size_t need = (n4 + (size_t)kThreads * kUnroll - 1) / ((size_t)kThreads * kUnroll);
  return (unsigned)std::max<size_t>(1, std::min<size_t>(need, (size_t)fs::dev().sm_count * 8));
}

} // namespace

int main(int argc, char** argv) {
  fs::Args a = fs::parse_args(argc, argv, "membw");
  fs::init(a, "membw");
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));

  size_t max_bytes = a.quick ? (256ull << 20) : (4ull << 30);
  // Three arrays of max_bytes; shrink if the card lacks the memory (keep 1 GiB spare).
  while (max_bytes > (64ull << 10) && 3 * max_bytes + (1ull << 30) > fs::mem_free_bytes())
    max_bytes /= 2;
  float4 *A, *B, *C;
  CK(cudaMalloc(&A, max_bytes));
  CK(cudaMalloc(&B, max_bytes));
  CK(cudaMalloc(&C, max_bytes));
  fs::fill_f32((float*)A, max_bytes / 4, 1);
  fs::fill_f32((float*)B, max_bytes / 4, 2);
  fs::fill_f32((float*)C, max_bytes / 4, 3);
  CK(cudaDeviceSynchronize());

  // Self-test: triad on a small odd-sized prefix against the host.
  {
    const size_t n4 = 12345;
    k_triad<<<grid_for(n4), kThreads, 0, st>>>(A, B, C, 0.5f, n4);
    CK_LAUNCH();
    CK(cudaStreamSynchronize(st));
    std::vector<float> ha(n4 * 4), hb(n4 * 4), hc(n4 * 4);
    CK(cudaMemcpy(ha.data(), A, n4 * 16, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hb.data(), B, n4 * 16, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(hc.data(), C, n4 * 16, cudaMemcpyDeviceToHost));
    std::vector<double> ref(n4 * 4);
    for (size_t i = 0; i < ref.size(); ++i)
      ref[i] = (double)hb[i] + 0.5 * (double)hc[i];
    fs::emit_selftest("membw_triad", fs::rel_l2_err(ha, ref), 1e-6);
  }

  const char* ops[] = {"copy", "triad", "memcpy"};
  for (size_t S = 64ull << 10; S <= max_bytes; S *= 2) {
    for (int o = 0; o < 3; ++o) {
      const int arrays = o == 1 ? 3 : 2;
      for (int hot = 0; hot < 2; ++hot) {
        if (hot && (long long)(arrays * S) > fs::dev().l2_bytes) continue; // "hot" only where it fits in L2
        int sets = hot ? 1 : (int)std::min<size_t>(fs::rotation_sets(arrays * S, 4096), max_bytes / S);
        const size_t n4 = S / 16;
        fs::Op op = [&, o, sets, n4](cudaStream_t s, int k) {
          size_t off = (size_t)(k % sets) * n4;
          if (o == 0) {
            k_copy<<<grid_for(n4), kThreads, 0, s>>>(A + off, B + off, n4);
            CK_LAUNCH();
          } else if (o == 1) {
            k_triad<<<grid_for(n4), kThreads, 0, s>>>(A + off, B + off, C + off, 0.5f, n4);
            CK_LAUNCH();
          } else {
            CK(cudaMemcpyAsync(A + off, B + off, n4 * 16, cudaMemcpyDeviceToDevice, s));
          }
        };
        fs::Timing t = fs::time_op(op, st, a, sets);
        double bytes = (double)arrays * (double)S;
        fs::JLine("membw")
            .str("op", ops[o])
            .str("l2", hot ? "hot" : "cold")
            .i64("array_bytes", (long long)S)
            .i64("bytes", (long long)bytes)
            .i64("rotation_sets", sets)
            .timing(t)
            .num("gbps", bytes / t.median_s * 1e-9)
            .emit();
      }
    }
  }
  CK(cudaFree(A));
  CK(cudaFree(B));
  CK(cudaFree(C));
  CK(cudaStreamDestroy(st));
  return 0;
}
