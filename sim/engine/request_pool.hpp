// Slots for the requests in flight: taken at arrival, given back when a request leaves, reused, so that a run's
// memory follows what is in flight, not its length. Slots lie in chunks of 2 MB that never move (instances and
// routers hold pointers to requests), each aligned to and advised as one huge page where the kernel offers them. A
// large factory's requests in flight (tens of thousands) are touched at every step; a std::deque of them made each
// 320-byte request its own allocation among the others, on 4 KB pages. This layout ran 10-16% more requests per
// second at 4,096 GPUs (README, "Speed"); fewer TLB misses would explain it, but this machine has no counter to show
// it (cachegrind's cache misses barely moved).
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
