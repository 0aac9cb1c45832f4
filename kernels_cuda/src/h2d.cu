// h2d: pinned host <-> device copy bandwidth (cudaMemcpyAsync), 64 KiB .. 1 GiB, both directions.
#include <cstring>

#include "common.h"

int main(int argc, char** argv) {
  fs::Args a = fs::parse_args(argc, argv, "h2d");
  fs::init(a, "h2d");
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  const size_t max_bytes = a.quick ? (64ull << 20) : (1ull << 30);
  void *host, *devp;
  CK(cudaMallocHost(&host, max_bytes));
  CK(cudaMalloc(&devp, max_bytes));
  memset(host, 0x5A, max_bytes); // touch every page; non-zero data
  fs::fill_u8((uint8_t*)devp, max_bytes, 0xA5, st);
  CK(cudaStreamSynchronize(st));

  for (int dir = 0; dir < 2; ++dir) {
    const bool h2d = dir == 0;
    for (size_t S = 64ull << 10; S <= max_bytes; S *= 2) {
      fs::Op op = [&](cudaStream_t s, int) {
        if (h2d)
          CK(cudaMemcpyAsync(devp, host, S, cudaMemcpyHostToDevice, s));
        else
          CK(cudaMemcpyAsync(host, devp, S, cudaMemcpyDeviceToHost, s));
      };
      fs::Timing t = fs::time_op(op, st, a, 1, /*allow_graph=*/false);
      fs::JLine("h2d")
          .str("dir", h2d ? "h2d" : "d2h")
          .str("host_mem", "pinned")
          .i64("bytes", (long long)S)
          .timing(t)
          .num("gbps", (double)S / t.median_s * 1e-9)
          .emit();
    }
  }
  CK(cudaFreeHost(host));
  CK(cudaFree(devp));
  CK(cudaStreamDestroy(st));
  return 0;
}
