#include "sweep_mpi.hpp"
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#ifdef FS_WITH_MPI
#include <mpi.h>
#endif

namespace fs::cli {

MpiWorld mpi_start()
{
  MpiWorld w;
#ifdef FS_WITH_MPI
  if (!mpi_launched()) return w;
  MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  w.active = true;
#endif
  return w;
}

void mpi_barrier([[maybe_unused]] const MpiWorld& w)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

int mpi_max([[maybe_unused]] const MpiWorld& w, int v)
{
#ifdef FS_WITH_MPI
  if (w.active) {
    int out = v;
    MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
  }
#endif
  return v;
}

bool mpi_launched()
{
#ifdef FS_WITH_MPI
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
#else
  return false;
#endif
}

void mpi_sum([[maybe_unused]] const MpiWorld& w, [[maybe_unused]] std::vector<double>& v)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#endif
}

bool mpi_all([[maybe_unused]] const MpiWorld& w, bool v)
{
#ifdef FS_WITH_MPI
  if (w.active) {
    int in = v ? 1 : 0, out = in;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return out == 1;
  }
#endif
  return v;
}

std::vector<std::string> mpi_gather([[maybe_unused]] const MpiWorld& w, const std::string& bytes)
{
#ifdef FS_WITH_MPI
  if (w.active) {
    // Point to point, in pieces under MPI's int counts: a rank's part can pass 2 GB (exact percentiles of a long run).
    constexpr size_t piece = size_t(1) << 30;
    std::vector<std::string> out;
    if (w.rank != 0) {
      const uint64_t n = bytes.size();
      MPI_Send(&n, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD);
      for (size_t at = 0; at < bytes.size(); at += piece)
        MPI_Send(bytes.data() + at, int(std::min(piece, bytes.size() - at)), MPI_CHAR, 0, 1, MPI_COMM_WORLD);
      return out;
    }
    out.push_back(bytes);
    for (int r = 1; r < w.size; ++r) {
      uint64_t n = 0;
      MPI_Recv(&n, 1, MPI_UINT64_T, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      std::string part(size_t(n), '\0');
      for (size_t at = 0; at < part.size(); at += piece)
        MPI_Recv(part.data() + at, int(std::min(piece, part.size() - at)), MPI_CHAR, r, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
      out.push_back(std::move(part));
    }
    return out;
  }
#endif
  return {bytes};
}

namespace {
constexpr size_t file_piece = size_t(1) << 20;
constexpr int file_size_tag = 2, file_piece_tag = 3; // mpi_gather uses 0 and 1
} // namespace

void mpi_send_file([[maybe_unused]] const MpiWorld& w, std::FILE* f)
{
  if (std::fseek(f, 0, SEEK_END) != 0) throw std::runtime_error("a rank's requests.csv rows: cannot seek");
  const long size = std::ftell(f);
  if (size < 0 || std::fseek(f, 0, SEEK_SET) != 0) throw std::runtime_error("a rank's requests.csv rows: cannot seek");
#ifdef FS_WITH_MPI
  if (!w.active || w.rank == 0) return;
  const uint64_t n = uint64_t(size);
  MPI_Send(&n, 1, MPI_UINT64_T, 0, file_size_tag, MPI_COMM_WORLD);
  std::string piece(file_piece, '\0');
  for (uint64_t at = 0; at < n;) {
    const size_t want = size_t(std::min<uint64_t>(file_piece, n - at));
    if (std::fread(piece.data(), 1, want, f) != want) { // rank 0 waits for these bytes: end the run
      std::fprintf(stderr, "error: rank %d: cannot read back its requests.csv rows\n", w.rank);
      mpi_abort(w, 1);
    }
    MPI_Send(piece.data(), int(want), MPI_CHAR, 0, file_piece_tag, MPI_COMM_WORLD);
    at += want;
  }
#endif
}

MpiFileReceiver::MpiFileReceiver([[maybe_unused]] const MpiWorld& w, int from) : from_(from)
{
#ifdef FS_WITH_MPI
  if (w.active && from != w.rank) {
    uint64_t n = 0;
    MPI_Recv(&n, 1, MPI_UINT64_T, from, file_size_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    left_ = n;
  }
#endif
}

std::string MpiFileReceiver::next()
{
  std::string piece;
#ifdef FS_WITH_MPI
  if (left_ == 0) return piece;
  piece.resize(size_t(std::min<unsigned long long>(file_piece, left_)));
  MPI_Recv(piece.data(), int(piece.size()), MPI_CHAR, from_, file_piece_tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  left_ -= piece.size();
#endif
  return piece;
}

void MpiFileReceiver::drain()
{
  while (!next().empty()) {
  }
}

int mpi_launched_size()
{
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (const char* s = std::getenv(v)) return std::max(1, std::atoi(s));
  return 1;
}

void mpi_abort([[maybe_unused]] const MpiWorld& w, int code)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

void mpi_stop(MpiWorld& w)
{
#ifdef FS_WITH_MPI
  if (w.active) MPI_Finalize();
#endif
  w.active = false;
}

} // namespace fs::cli
