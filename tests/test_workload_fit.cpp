// Workloads as users run them: Mooncake JSONL traces and trace windows.
#include "workload.hpp"
#include <doctest/doctest.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace fs;

namespace {

WorkloadConfig workload(const Json& j)
{
  return parse_workload(JsonNode(j, "w.json", "workload", &workload_spec()), "w.json");
}

std::string error_of(const Json& j)
{
  try {
    workload(j);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// A scratch trace file, removed at the end of the test.
struct TraceFile {
  std::string path;
  TraceFile(const std::string& text, const std::string& ext = ".jsonl")
      : path("/tmp/factorysim_wl_" + std::to_string(getpid()) + ext)
  {
    std::ofstream(path) << text;
  }
  ~TraceFile() { std::remove(path.c_str()); }
};

} // namespace

TEST_CASE("Mooncake JSONL traces: times in ms, hash ids as prefix hashes, the format detected")
{
  const TraceFile f("\n"
                    "{\"timestamp\": 1000, \"input_length\": 1030, \"output_length\": 5, \"hash_ids\": [0, 1, 2]}\n"
                    "{\"timestamp\": 1000, \"input_length\": 600, \"output_length\": 0, \"hash_ids\": [0, 3]}\n"
                    "   \n"
                    "{\"timestamp\": 4500, \"input_length\": 20, \"output_length\": 7, \"hash_ids\": [], \"x\": 1}\n"
                    "{\"timestamp\": 5000, \"input_length\": 512, \"output_length\": 1}\n");
  WorkloadConfig w = workload({{"type", "trace"}, {"path", f.path}});
  const auto reqs = generate_workload(w, 1);
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0].arrival == 0);
  CHECK(reqs[2].arrival == 3.5);
  CHECK(reqs[0].input_tokens == 1030);
  CHECK(reqs[1].output_tokens == 1); // 0 output tokens are read as 1, as in the CSV reader
  CHECK(reqs[0].prefix_hashes == std::vector<uint64_t>{0, 1, 2});
  CHECK(reqs[1].prefix_hashes == std::vector<uint64_t>{0, 3});
  CHECK(reqs[3].prefix_hashes.empty()); // hash_ids may be absent
  CHECK(w.generator->prefix_block_tokens() == 512);
  const Json resolved = workload_json(w);
  CHECK(resolved["format"] == "mooncake_jsonl");
  CHECK(resolved["hash_block_tokens"] == 512);
  const auto again = generate_workload(workload(resolved), 1);
  REQUIRE(again.size() == 4);
  CHECK(again[1].prefix_hashes == reqs[1].prefix_hashes);

  // Smaller hash blocks allow more ids per prompt.
  CHECK(workload({{"type", "trace"}, {"path", f.path}, {"hash_block_tokens", 16}}).generator->prefix_block_tokens() ==
        16);
}

TEST_CASE("Mooncake JSONL errors name the file, the line, the field and what was expected")
{
  const std::string ok = "{\"timestamp\": 0, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [0]}\n";
  for (auto [line, what] : std::vector<std::pair<std::string, std::string>>{
           {"{\"input_length\": 1, \"output_length\": 1}", ":2: timestamp: missing"},
           {"{\"timestamp\": -5, \"input_length\": 1, \"output_length\": 1}",
            ":2: timestamp: expected milliseconds >= 0, got number -5"},
           {"{\"timestamp\": \"1\", \"input_length\": 1, \"output_length\": 1}", ":2: timestamp: expected"},
           {"{\"timestamp\": 1, \"output_length\": 1}", ":2: input_length: missing"},
           {"{\"timestamp\": 1, \"input_length\": -3, \"output_length\": 1}",
            ":2: input_length: expected a whole number from 0 to 10000000, got number -3"},
           {"{\"timestamp\": 1, \"input_length\": 2.5, \"output_length\": 1}", ":2: input_length: expected a whole"},
           {"{\"timestamp\": 1, \"input_length\": 1}", ":2: output_length: missing"},
           {"{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1e12}", ":2: output_length: expected a whole"},
           {"{\"timestamp\": 1, \"input_length\": 1000, \"output_length\": 1, \"hash_ids\": [1, 2.5]}",
            ":2: hash_ids[1]: expected an integer >= 0, got number 2.5"},
           {"{\"timestamp\": 1, \"input_length\": 1000, \"output_length\": 1, \"hash_ids\": [-1]}",
            ":2: hash_ids[0]: expected an integer >= 0, got number -1"},
           {"{\"timestamp\": 1, \"input_length\": 1000, \"output_length\": 1, \"hash_ids\": \"0 1\"}",
            ":2: hash_ids: expected an array of integers"},
           {"{\"timestamp\": 1, \"input_length\": 1025, \"output_length\": 1, \"hash_ids\": [1, 2, 3, 4]}",
            ":2: hash_ids: 4 ids for input_length 1025, more than its 3 blocks of 512 tokens"},
           {"[1, 2]", ":2: expected a JSON object, got array"},
           {"{\"timestamp\": 1, ", ":2: expected one JSON object a line"},
       }) {
    const TraceFile f(ok + line + "\n");
    const std::string e = error_of({{"type", "trace"}, {"path", f.path}});
    CHECK_MESSAGE(e.find(f.path + what) == 0, e);
  }
  const TraceFile back(ok + "{\"timestamp\": -1, \"input_length\": 1, \"output_length\": 1}\n"
                            "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1}\n");
  CHECK(error_of({{"type", "trace"}, {"path", back.path}}).find(":2: timestamp: expected") != std::string::npos);
  const TraceFile backwards("{\"timestamp\": 5000, \"input_length\": 1, \"output_length\": 1}\n"
                            "{\"timestamp\": 4999, \"input_length\": 1, \"output_length\": 1}\n");
  CHECK(error_of({{"type", "trace"}, {"path", backwards.path}}) == backwards.path + ":2: timestamps go backwards");
  const TraceFile empty("\n  \n");
  CHECK(error_of({{"type", "trace"}, {"path", empty.path}, {"format", "mooncake_jsonl"}}) ==
        empty.path + ": trace has no requests");
}

TEST_CASE("trace format: detected by content, or given; hash_block_tokens only for Mooncake")
{
  const TraceFile csv("TIMESTAMP,ContextTokens,GeneratedTokens\n0,10,2\n1.5,20,3\n", ".csv");
  WorkloadConfig w = workload({{"type", "trace"}, {"path", csv.path}});
  CHECK(workload_json(w)["format"] == "azure_csv");
  CHECK(workload_json(w)["hash_block_tokens"] == 0);
  CHECK(w.generator->prefix_block_tokens() == 0);
  CHECK(generate_workload(w, 1)[1].prefix_hashes.empty());
  CHECK(error_of({{"type", "trace"}, {"path", csv.path}, {"hash_block_tokens", 512}}) ==
        "w.json: workload.hash_block_tokens: an azure_csv trace has no hash ids: expected 0");
  CHECK(error_of({{"type", "trace"}, {"path", csv.path}, {"format", "mooncake_jsonl"}}).find(":1: expected one JSON") !=
        std::string::npos);
  CHECK(error_of({{"type", "trace"}, {"path", csv.path}, {"format", "parquet"}}) ==
        "w.json: workload.format: unknown value \"parquet\"; expected one of: azure_csv, mooncake_jsonl");

  const TraceFile jsonl("  \n\t{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 2}\n");
  CHECK(workload_json(workload({{"type", "trace"}, {"path", jsonl.path}}))["format"] == "mooncake_jsonl");
  CHECK(error_of({{"type", "trace"}, {"path", jsonl.path}, {"format", "azure_csv"}}).find(":1: expected 3 columns") !=
        std::string::npos);
  CHECK(error_of({{"type", "trace"}, {"path", jsonl.path}, {"hash_block_tokens", 0}}) ==
        "w.json: workload.hash_block_tokens: expected an integer > 0 for a mooncake_jsonl trace");
  std::istringstream in("\n {\"timestamp\": 0}");
  CHECK(detect_trace_format(in) == "mooncake_jsonl");
  CHECK(in.tellg() == 0); // rewound
}

TEST_CASE("start_s skips the arrivals before it and starts the replay at the first kept one")
{
  const TraceFile csv("TIMESTAMP,ContextTokens,GeneratedTokens\n10,1,1\n12,2,1\n13,3,1\n20,4,1\n21,5,1\n", ".csv");
  auto inputs = [&](const Json& extra) {
    Json j = {{"type", "trace"}, {"path", csv.path}};
    j.update(extra);
    std::vector<std::pair<double, long>> v;
    for (const RequestSpec& r : generate_workload(workload(j), 1))
      v.push_back({r.arrival, r.input_tokens});
    return v;
  };
  using V = std::vector<std::pair<double, long>>;
  CHECK(inputs({{"start_s", 2.5}}) == V{{0, 3}, {7, 4}, {8, 5}});
  CHECK(inputs({{"start_s", 2}}) == V{{0, 2}, {1, 3}, {8, 4}, {9, 5}}); // at start_s is kept
  CHECK(inputs({{"start_s", 2.5}, {"time_scale", 0.5}}) == V{{0, 3}, {3.5, 4}, {4, 5}});
  CHECK(inputs({{"start_s", 2.5}, {"duration_s", 7.5}}) == V{{0, 3}, {7, 4}}); // simulated seconds
  CHECK(inputs({{"start_s", 2.5}, {"num_requests", 1}}) == V{{0, 3}});
  Json j = {{"type", "trace"}, {"path", csv.path}, {"start_s", 2.5}, {"duration_s", 7.5}};
  CHECK(workload(j).generator->expected_requests() == 2);
  const Json resolved = workload_json(workload(j));
  CHECK(resolved["start_s"] == 2.5);
  CHECK(generate_workload(workload(resolved), 1).size() == 2);
  j["start_s"] = 11.5;
  CHECK(error_of(j) == "w.json: workload.start_s: the trace's last arrival is at 11 s, before start_s");
}
