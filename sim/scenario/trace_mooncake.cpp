// Reading Mooncake traces (JSONL): one object a line, {"timestamp": ms, "input_length": tokens, "output_length":
// tokens, "hash_ids": [one id per hash block of the prompt]}. Other keys are ignored; hash_ids may be absent.
#include "trace_rows.hpp"
#include <cmath>

namespace fs {

namespace {

// A token count: a whole number from 0 to 10,000,000, as in the CSV reader.
long tokens(const Json& row, const char* key, const std::string& where)
{
  auto it = row.find(key);
  if (it == row.end()) throw InputError(where + key + ": missing");
  const double x = it->is_number() ? it->get<double>() : -1;
  if (!it->is_number() || !(x >= 0 && x <= 1e7) || std::floor(x) != x)
    throw InputError(where + key + ": expected a whole number from 0 to 10000000, got " +
                     printable(json_type_name(*it)));
  return long(x);
}

std::vector<uint64_t> hash_ids(const Json& row, long input, long block_tokens, const std::string& where)
{
  auto it = row.find("hash_ids");
  if (it == row.end()) return {};
  if (!it->is_array())
    throw InputError(where + "hash_ids: expected an array of integers, got " + printable(json_type_name(*it)));
  const size_t blocks = size_t((input + block_tokens - 1) / block_tokens);
  if (it->size() > blocks)
    throw InputError(where + "hash_ids: " + std::to_string(it->size()) + " ids for input_length " +
                     std::to_string(input) + ", more than its " + std::to_string(blocks) + " blocks of " +
                     std::to_string(block_tokens) + " tokens (hash_block_tokens)");
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& v = (*it)[i];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      throw InputError(where + "hash_ids[" + std::to_string(i) + "]: expected an integer >= 0, got " +
                       printable(json_type_name(v)));
    ids.push_back(v.get<uint64_t>());
  }
  return ids;
}

} // namespace

std::vector<TraceRow> parse_mooncake_trace(std::istream& in, const std::string& name, long block_tokens)
{
  if (block_tokens <= 0) throw std::logic_error("hash_block_tokens must be > 0"); // the parser checks it
  std::string line;
  TraceRows rows;
  long lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = name + ":" + std::to_string(lineno) + ": ";
    Json row;
    try {
      row = Json::parse(line);
    } catch (const Json::parse_error& e) {
      throw InputError(where + "expected one JSON object a line, malformed at column " + std::to_string(e.byte));
    } catch (const Json::exception& e) { // e.g. a number beyond a double (1e400)
      throw InputError(where + "expected one JSON object a line: " + printable(e.what()));
    }
    if (!row.is_object()) throw InputError(where + "expected a JSON object, got " + printable(json_type_name(row)));
    auto ts = row.find("timestamp");
    if (ts == row.end()) throw InputError(where + "timestamp: missing");
    if (!ts->is_number() || !(ts->get<double>() >= 0) || !std::isfinite(ts->get<double>()))
      throw InputError(where + "timestamp: expected milliseconds >= 0, got " + printable(json_type_name(*ts)));
    TraceRow r;
    r.t = ts->get<double>() / 1000;
    r.input = tokens(row, "input_length", where);
    r.output = tokens(row, "output_length", where);
    r.hash_ids = hash_ids(row, r.input, block_tokens, where);
    rows.add(std::move(r), where);
  }
  return rows.finish(name);
}

} // namespace fs
