// What the trace readers (trace.cpp, trace_mooncake.cpp) share: rows made relative to the first and checked in
// one place, and input lines made fit for an error message.
#pragma once
#include "json_input.hpp"
#include "workload.hpp"

namespace fs {

class TraceRows {
public:
  // Makes r.t relative to the first row; refuses times that go backwards or lie beyond 1e8 s. `where` is
  // "file:line: ".
  void add(TraceRow r, const std::string& where);
  std::vector<TraceRow> finish(const std::string& name); // refuses an empty trace

private:
  std::vector<TraceRow> rows_;
  double t0_ = 0;
};

std::string printable(const std::string& line); // as one line of a terminal shows it (120 characters at most)

} // namespace fs
