// launch: empty-kernel launch overhead: back-to-back stream launches, launch + synchronize round trip (host clock),
// kernels inside a CUDA graph (100 per graph), and whole-graph launches.
#include <algorithm>
#include <chrono>

#include "common.h"

namespace {

__global__ void k_empty() {}

struct Stats {
  double median, min;
  int reps;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v[0], (int)n};
}

// Times `body` (which issues `per_rep` kernels on st) with events; returns per-kernel seconds.
template <class F> Stats event_time(cudaStream_t st, int reps, int per_rep, F body) {
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  body(); // warm-up
  CK(cudaStreamSynchronize(st));
  std::vector<double> ts;
  for (int r = 0; r < reps; ++r) {
    CK(cudaEventRecord(e0, st));
    body();
    CK(cudaEventRecord(e1, st));
    CK(cudaEventSynchronize(e1));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    ts.push_back(ms * 1e-3 / per_rep);
  }
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  return stats(ts);
}

void emit(const char* mode, int kernels, const Stats& s, const char* clock) {
  fs::JLine("launch")
      .str("mode", mode)
      .i64("kernels_per_rep", kernels)
      .num("time_per_kernel_s", s.median)
      .num("time_min_s", s.min)
      .i64("reps", s.reps)
      .str("clock", clock)
      .emit();
}

} // namespace

int main(int argc, char** argv) {
  fs::Args a = fs::parse_args(argc, argv, "launch");
  fs::init(a, "launch");
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  const int reps = std::max(a.min_reps, 20);

  // 1. Back-to-back launches on one stream (GPU-side throughput of launches).
  const int kStream = 1000;
  emit("stream", kStream,
       event_time(st, reps, kStream,
                  [&] {
                    for (int i = 0; i < kStream; ++i)
                      k_empty<<<1, 1, 0, st>>>();
                    CK_LAUNCH();
                  }),
       "events");

  // 2. Launch + cudaStreamSynchronize round trip, host wall clock.
  {
    std::vector<double> ts;
    for (int i = 0; i < 20; ++i)
      k_empty<<<1, 1, 0, st>>>();
    CK_LAUNCH();
    CK(cudaStreamSynchronize(st));
    for (int i = 0; i < 1000; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      k_empty<<<1, 1, 0, st>>>();
      CK(cudaStreamSynchronize(st));
      ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    CK_LAUNCH();
    emit("stream_sync", 1, stats(ts), "host");
  }

  // 3. A CUDA graph of 100 empty kernels, replayed 10 times per repetition: cost per kernel inside a graph.
  const int kGraphKernels = 100, kGraphLaunches = 10;
  cudaGraph_t g;
  cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < kGraphKernels; ++i)
    k_empty<<<1, 1, 0, st>>>();
  CK_LAUNCH();
  CK(cudaStreamEndCapture(st, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  emit("graph", kGraphKernels,
       event_time(st, reps, kGraphKernels * kGraphLaunches,
                  [&] {
                    for (int i = 0; i < kGraphLaunches; ++i)
                      CK(cudaGraphLaunch(ge, st));
                  }),
       "events");
  CK(cudaGraphExecDestroy(ge));
  CK(cudaGraphDestroy(g));

  // 4. Back-to-back launches of a one-kernel graph: per-graph launch cost (as in CUDA-graph decode steps).
  CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
  k_empty<<<1, 1, 0, st>>>();
  CK_LAUNCH();
  CK(cudaStreamEndCapture(st, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  emit("graph_launch", 1,
       event_time(st, reps, kStream,
                  [&] {
                    for (int i = 0; i < kStream; ++i)
                      CK(cudaGraphLaunch(ge, st));
                  }),
       "events");
  CK(cudaGraphExecDestroy(ge));
  CK(cudaGraphDestroy(g));
  CK(cudaStreamDestroy(st));
  return 0;
}
