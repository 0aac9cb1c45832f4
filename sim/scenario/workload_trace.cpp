// Replay of an Azure-format request trace.
#include "workload.hpp"
#include <algorithm>
#include <filesystem>

namespace fs {

namespace {

class TraceReplay : public WorkloadGenerator {
public:
  void parse(const JsonNode& n, const std::string& file) override
  {
    path_ = resolve_path(n.string("path"), file);
    time_scale_ = n.number("time_scale", 1);
    num_requests_ = n.integer("num_requests", 0);
    duration_s_ = n.number("duration_s", 0);
    rows_ = std::make_shared<const std::vector<TraceRow>>(read_azure_trace(path_)); // read and checked once, here
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{"trace",
                              "replay of an Azure-format CSV (TIMESTAMP,ContextTokens,GeneratedTokens)",
                              {required(text("path", "the CSV, relative to the scenario file")),
                               num("time_scale", 1e-6, 1e6, "multiplies the gaps (0.5 = twice the rate)"),
                               integer("num_requests", 0, 1e9, "replay only the first ones (0: all)"),
                               num("duration_s", 0, 1e8, "replay only this many seconds (0: all)")}};
    return o;
  }
  double expected_requests() const override
  {
    return double(num_requests_ > 0 ? std::min<size_t>(rows_->size(), size_t(num_requests_)) : rows_->size());
  }
  Json to_json() const override
  {
    // An absolute path, so the resolved scenario runs from anywhere.
    return {{"path", std::filesystem::absolute(path_).string()},
            {"time_scale", time_scale_},
            {"num_requests", num_requests_},
            {"duration_s", duration_s_}};
  }
  std::vector<RequestSpec> generate(uint64_t) const override
  {
    std::vector<RequestSpec> reqs;
    for (const TraceRow& row : *rows_) {
      const double t = row.t * time_scale_;
      if ((num_requests_ > 0 && long(reqs.size()) >= num_requests_) || (duration_s_ > 0 && t > duration_s_)) break;
      reqs.push_back({long(reqs.size()), t, std::max(1L, row.input), std::max(1L, row.output), {}});
    }
    return reqs;
  }

private:
  std::string path_;
  std::shared_ptr<const std::vector<TraceRow>> rows_;
  double time_scale_ = 1;
  long num_requests_ = 0;
  double duration_s_ = 0;
};

} // namespace

std::unique_ptr<WorkloadGenerator> make_trace_workload() { return std::make_unique<TraceReplay>(); }

} // namespace fs
