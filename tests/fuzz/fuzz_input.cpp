// Fuzz target over everything a user types: a scenario document, --set assignments over the default scenario,
// and a trace (Azure CSV, or Mooncake JSONL when it starts with '{'). The first byte picks which ('S', 'A', 'T'; any
// other byte by its value mod 3); the rest is the input. Bad input must end in InputError (a one-line message, exit 2);
// anything else escaping is a bug, which libFuzzer reports as a crash. Built with clang's libFuzzer by tools/fuzz.sh,
// and replayed over tests/fuzz/corpus by the `fuzz_replay` test.
#include "catalog.hpp"
#include "scenario.hpp"
#include "workload.hpp"
#include <cstdint>
#include <sstream>

namespace {
// Keep each input cheap to check: scenarios may not generate more than this many requests here.
void cap_size(fs::Json& doc)
{
  if (!doc.is_object()) return;
  if (!doc.contains("sim")) doc["sim"] = fs::Json::object();
  if (doc["sim"].is_object()) doc["sim"]["max_requests"] = 5000;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  if (size < 1) return 0;
  const std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int mode = data[0] == 'S' ? 0 : data[0] == 'A' ? 1 : data[0] == 'T' ? 2 : data[0] % 3;
  try {
    if (mode == 0) {
      fs::Json doc = fs::parse_json_text(in, "fuzz.json");
      cap_size(doc);
      fs::parse_scenario(doc, "fuzz.json");
    } else if (mode == 1) {
      fs::Json doc = fs::Json::parse(fs::embedded_file("default.json"));
      std::istringstream lines(in);
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) fs::apply_set(doc, line);
      cap_size(doc);
      fs::parse_scenario(doc, "(default)");
    } else {
      std::istringstream trace(in);
      fs::parse_trace(trace, "fuzz.trace");
    }
  } catch (const fs::InputError&) {
  }
  return 0;
}
