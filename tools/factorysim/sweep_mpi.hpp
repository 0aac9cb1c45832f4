// MPI for sweeps and pod runs (docs/design.md, "Sweeps over MPI", "Pods"): only when the process was started by mpirun
// is MPI initialised; otherwise every call is a no-op on a world of one rank. Built without MPI, the same.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace fs::cli {

struct MpiWorld {
  int rank = 0, size = 1;
  bool active = false;
};

// MPI_Init when an MPI launcher started this process (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set).
MpiWorld mpi_start();
void mpi_barrier(const MpiWorld& w);
// The largest `v` over the ranks (every rank gets it).
int mpi_max(const MpiWorld& w, int v);
void mpi_stop(MpiWorld& w);
// Whether an MPI launcher started this process (what mpi_start checks).
bool mpi_launched();
// How many ranks the launcher started (from its environment; 1 when it does not say).
int mpi_launched_size();
// Element-wise sums over the ranks, in place (every rank gets them).
void mpi_sum(const MpiWorld& w, std::vector<double>& v);
// Whether `v` is true on every rank (every rank gets it).
bool mpi_all(const MpiWorld& w, bool v);
// Every rank's `bytes`, in rank order, on rank 0 (other ranks get nothing).
std::vector<std::string> mpi_gather(const MpiWorld& w, const std::string& bytes);
// A rank's file sent to rank 0 in pieces (the requests.csv rows of a pods run): rank k != 0 calls mpi_send_file, rank
// 0 reads it with an MpiFileReceiver for k. Pieces from one rank arrive in order (MPI keeps the order of one source's
// messages), so rank 0 can read every rank's file in step; the senders block until it has taken them all.
// From its start. Throws std::runtime_error when it cannot seek (before anything is sent); a read error while sending
// ends every rank (mpi_abort).
void mpi_send_file(const MpiWorld& w, std::FILE* f);
class MpiFileReceiver {
public:
  MpiFileReceiver(const MpiWorld& w, int from);
  std::string next(); // the next piece; empty once all came
  void drain();       // takes what is left, unread (a failed merge: the sender still waits)

private:
  int from_;
  unsigned long long left_ = 0;
};
// Ends every rank now (a failure inside a collective run): exit code `code`.
[[noreturn]] void mpi_abort(const MpiWorld& w, int code);

} // namespace fs::cli
