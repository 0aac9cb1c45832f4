// Pieces shared by the workloads that create requests during the run (closed_loop, sessions, agents).
#pragma once
#include "durations.hpp"
#include "workload.hpp"

namespace fs {

// Reads duration_s and the count (num_requests, num_sessions, num_tasks at `count_key`); one must be > 0.
WorkloadGenerator::StopRule parse_stop(const JsonNode& n, const char* count_key, const std::string& what_stops);
// A gap of a renewal process at `rate` per second whose gaps have coefficient of variation `cv` (1: Poisson).
double renewal_gap(double rate, double cv, std::mt19937_64& rng);

} // namespace fs
