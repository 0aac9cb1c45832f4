// Replay of a request trace: Azure CSV or Mooncake JSONL, a window of it, its gaps scaled.
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
    format_ = n.string("format", "");
    format_ = format_.empty() ? detect_trace_format(path_) : n.choice("format", {azure_csv, mooncake_jsonl}, "");
    const bool jsonl = format_ == mooncake_jsonl;
    block_tokens_ = n.integer("hash_block_tokens", jsonl ? mooncake_block_tokens : 0);
    if (jsonl && block_tokens_ == 0) n.fail("hash_block_tokens", "expected an integer > 0 for a mooncake_jsonl trace");
    if (!jsonl && block_tokens_ != 0) n.fail("hash_block_tokens", "an azure_csv trace has no hash ids: expected 0");
    time_scale_ = n.number("time_scale", 1);
    start_s_ = n.number("start_s", 0);
    num_requests_ = n.integer("num_requests", 0);
    duration_s_ = n.number("duration_s", 0);
    // Read and checked once, here.
    rows_ = std::make_shared<const std::vector<TraceRow>>(read_trace(path_, format_, block_tokens_));
    first_ = size_t(
        std::lower_bound(rows_->begin(), rows_->end(), start_s_, [](const TraceRow& r, double t) { return r.t < t; }) -
        rows_->begin());
    if (first_ == rows_->size())
      n.fail("start_s", "the trace's last arrival is at " + format_number(rows_->back().t) + " s, before start_s");
  }
  const ObjectSpec& spec() const override
  {
    static const ObjectSpec o{
        "trace",
        "replay of a trace: Azure CSV (TIMESTAMP,ContextTokens,GeneratedTokens) or Mooncake JSONL (timestamp in "
        "ms, input_length, output_length, hash_ids)",
        {required(text("path", "the trace, relative to the scenario file")),
         text("format", "the trace's format (default: mooncake_jsonl when its first character is '{', else azure_csv)",
              {azure_csv, mooncake_jsonl}),
         integer("hash_block_tokens", 0, 1e6,
                 "prompt tokens per Mooncake hash id (default 512; 0, the only value, for azure_csv)"),
         num("time_scale", 1e-6, 1e6, "multiplies the gaps (0.5 = twice the rate)"),
         num("start_s", 0, 1e8, "skip arrivals before this trace time (s after its first row); the first kept is at 0"),
         integer("num_requests", 0, 1e9, "replay only the first ones (0: all)"),
         num("duration_s", 0, 1e8, "replay only this many simulated seconds, after time_scale (0: all)")}};
    return o;
  }
  double expected_requests() const override { return double(kept()); }
  Json to_json() const override
  {
    // An absolute path, so the resolved scenario runs from anywhere.
    return {{"path", std::filesystem::absolute(path_).string()},
            {"format", format_},
            {"hash_block_tokens", block_tokens_},
            {"time_scale", time_scale_},
            {"start_s", start_s_},
            {"num_requests", num_requests_},
            {"duration_s", duration_s_}};
  }
  std::vector<RequestSpec> generate(uint64_t) const override
  {
    std::vector<RequestSpec> reqs;
    const size_t end = first_ + kept();
    for (size_t i = first_; i < end; ++i) {
      const TraceRow& row = (*rows_)[i];
      reqs.push_back({.output_tokens = std::max(1L, row.output),
                      .id = long(reqs.size()),
                      .arrival = arrival(i),
                      .input_tokens = std::max(1L, row.input),
                      .prefix_hashes = row.hash_ids});
    }
    return reqs;
  }
  long prefix_block_tokens() const override { return block_tokens_; }

private:
  // Seconds after the first kept row, scaled.
  double arrival(size_t i) const { return ((*rows_)[i].t - (*rows_)[first_].t) * time_scale_; }
  // How many rows from first_ on the window keeps.
  size_t kept() const
  {
    size_t n = 0;
    for (size_t i = first_; i < rows_->size(); ++i, ++n)
      if ((num_requests_ > 0 && long(n) >= num_requests_) || (duration_s_ > 0 && arrival(i) > duration_s_)) break;
    return n;
  }

  std::string path_, format_;
  std::shared_ptr<const std::vector<TraceRow>> rows_;
  size_t first_ = 0; // the first row at or after start_s_
  long block_tokens_ = 0;
  double time_scale_ = 1, start_s_ = 0;
  long num_requests_ = 0;
  double duration_s_ = 0;
};

} // namespace

std::unique_ptr<WorkloadGenerator> make_trace_workload() { return std::make_unique<TraceReplay>(); }

} // namespace fs
