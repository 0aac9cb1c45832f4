// MPI for sweeps (docs/design.md, "Sweeps over MPI"): only when the process was started by mpirun is MPI
// initialised; otherwise every call is a no-op on a world of one rank. Built without MPI, the same.
#pragma once

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

} // namespace fs::cli
