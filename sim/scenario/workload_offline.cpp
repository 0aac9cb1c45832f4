// An offline batch (MLPerf's offline scenario): every request is there at t=0. Measured from 0 until the last one
// finishes (the "makespan" window, docs/metrics.md).
#include "workload.hpp"

namespace fs {

namespace {

class Offline : public WorkloadGenerator {
public:
  void parse(const JsonNode& n, const std::string& file) override
  {
    num_requests_ = n.integer("num_requests");
    input_ = parse_length(n.at("input"), file, true);
    output_ = parse_length(n.at("output"), file, false);
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{"offline",
                              "an offline batch: every request available at t=0",
                              {required(integer("num_requests", 1, 1e9, "requests in the batch")),
                               required(object("input", length_spec(), "prompt tokens")),
                               required(object("output", length_spec(), "output tokens"))}};
    return o;
  }
  Json to_json() const override
  {
    return {{"num_requests", num_requests_}, {"input", length_json(*input_)}, {"output", length_json(*output_)}};
  }
  double expected_requests() const override { return double(num_requests_); }
  std::vector<RequestSpec> generate(uint64_t seed) const override
  {
    std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
    std::vector<RequestSpec> reqs;
    reqs.reserve(size_t(num_requests_));
    for (long i = 0; i < num_requests_; ++i) {
      const long in = input_->sample(rng);
      reqs.push_back(
          {.output_tokens = output_->sample(rng), .id = i, .arrival = 0.0, .input_tokens = in, .prefix_hashes = {}});
    }
    return reqs;
  }

private:
  long num_requests_ = 1;
  std::shared_ptr<const LengthSampler> input_, output_;
};

} // namespace

std::unique_ptr<WorkloadGenerator> make_offline_workload() { return std::make_unique<Offline>(); }

} // namespace fs
