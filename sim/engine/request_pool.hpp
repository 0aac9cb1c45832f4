// Slots for the requests in flight: taken at arrival, given back when a request leaves, reused, so that a run's
// memory follows what is in flight, not its length. Slots lie in chunks of 2 MB that never move (instances and
// routers hold pointers to requests), each aligned to and advised as one huge page where the kernel offers them: a
// large factory's requests in flight (tens of thousands) are touched at every step, and 4 KB pages of them, spread
// among other allocations one 320-byte request at a time (a std::deque of them), outgrew the TLB's reach.
#pragma once
#include "request.hpp"
#include <cstddef>
#include <new>
#include <vector>

namespace fs {

class RequestPool {
public:
  RequestPool() = default;
  RequestPool(const RequestPool&) = delete;
  RequestPool& operator=(const RequestPool&) = delete;
  ~RequestPool();

  Request* take();                      // a slot holding Request{}
  void give(Request* r);                // back to the pool (r left the system)
  size_t made() const { return made_; } // slots made: the most requests in flight at once

private:
  static constexpr size_t chunk_bytes = size_t(2) << 20;
  static constexpr size_t per_chunk = chunk_bytes / sizeof(Request);
  std::vector<Request*> chunks_;
  size_t made_ = 0;
  std::vector<Request*> free_;
};

} // namespace fs
