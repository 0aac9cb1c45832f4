// Distributions of durations in seconds (think times, tool calls), registered by JSON "type" like the length
// distributions (workload.hpp): fixed (0 allowed), exponential, lognormal.
#pragma once
#include "json_input.hpp"
#include "registry.hpp"
#include "schema.hpp"
#include <memory>
#include <random>

namespace fs {

class DurationSampler {
public:
  virtual ~DurationSampler() = default;
  virtual void parse(const JsonNode& n) = 0; // the variant's keys ("type" is read by parse_duration)
  virtual Json to_json() const = 0;          // its own keys, without "type"
  virtual const ObjectSpec& spec() const = 0;
  virtual double draw(std::mt19937_64& rng) const = 0; // seconds, >= 0
  virtual double mean() const = 0;
  std::string type;
};
using DurationRegistry = Registry<DurationSampler>;
const DurationRegistry& duration_registry();
const ObjectSpec& duration_spec();
std::shared_ptr<const DurationSampler> parse_duration(const JsonNode& n);
// A fixed duration (a default think time of 0).
std::shared_ptr<const DurationSampler> fixed_duration(double seconds);
Json duration_json(const DurationSampler& d);

} // namespace fs
