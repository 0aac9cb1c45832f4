#include "json_input.hpp"
#include "schema.hpp"
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs {

Json parse_json_text(const std::string& text, const std::string& what)
{
  try {
    return Json::parse(text, nullptr, true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    throw InputError(what + ": malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const Json::exception& e) { // e.g. a number that does not fit a double (1e400)
    throw InputError(what + ": malformed JSON: " + e.what());
  }
}

Json read_json_file(const std::string& path)
{
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a directory, expected a JSON file");
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw InputError(path + ": not a regular file");
  if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > (size_t(256) << 20))
    throw InputError(path + ": larger than 256 MiB; a scenario or catalog file is not that large");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path + ": cannot read file");
  return parse_json_text(ss.str(), path);
}

std::string json_type_name(const Json& j)
{
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "boolean";
  // Replace rather than throw on invalid UTF-8: this text goes into an error message.
  auto dump = [&] { return j.dump(-1, ' ', false, Json::error_handler_t::replace); };
  if (j.is_number()) return "number " + dump();
  if (j.is_string()) return "string " + dump();
  if (j.is_array()) return "array";
  return "object";
}

std::string format_number(double x)
{
  char buf[40];
  if (std::isfinite(x) && std::floor(x) == x && std::abs(x) <= 9007199254740992.0)
    std::snprintf(buf, sizeof buf, "%.0f", x); // whole numbers in full: 100000000, not 1e+08
  else
    std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

JsonNode::JsonNode(const Json& j, std::string file, std::string path, const ObjectSpec* spec)
    : j_(&j), file_(std::move(file)), path_(std::move(path)), spec_(spec), st_(std::make_shared<State>())
{
}

std::string JsonNode::child_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

void JsonNode::use_variant(const std::string& type) const
{
  if (!spec_) return;
  auto it = spec_->variants.find(type);
  st_->variant = it == spec_->variants.end() ? nullptr : it->second;
}

const FieldSpec* JsonNode::field(const std::string& key) const
{
  if (!spec_ || spec_->entries) return nullptr;
  if (const FieldSpec* f = spec_->find(key)) return f;
  if (st_->variant)
    if (const FieldSpec* f = st_->variant->find(key)) return f;
  throw std::logic_error("the parser reads " + child_path(key) + ", which the \"" + spec_->name +
                         "\" table of schema.hpp lacks");
}

void JsonNode::fail(const std::string& key, const std::string& what) const
{
  throw InputError(file_ + ": " + child_path(key) + ": " + what);
}

void JsonNode::fail_here(const std::string& what) const
{
  throw InputError(file_ + ": " + (path_.empty() ? "(top level)" : path_) + ": " + what);
}

void JsonNode::expect_object() const
{
  if (!j_->is_object()) fail_here("expected an object, got " + json_type_name(*j_));
}

void JsonNode::expect_array() const
{
  if (!j_->is_array()) fail_here("expected an array, got " + json_type_name(*j_));
}

bool JsonNode::has(const std::string& key) const
{
  expect_object();
  return j_->contains(key) && !(*j_)[key].is_null();
}

const Json& JsonNode::value_of(const std::string& key) const
{
  expect_object();
  mark(key);
  auto it = j_->find(key);
  if (it == j_->end()) fail(key, "missing required key");
  return *it;
}

JsonNode JsonNode::at(const std::string& key) const
{
  const Json& v = value_of(key);
  const ObjectSpec* child = nullptr;
  if (spec_ && spec_->entries)
    child = spec_->entries;
  else if (const FieldSpec* f = field(key))
    child = f->object;
  return JsonNode(v, file_, child_path(key), child);
}

std::optional<JsonNode> JsonNode::get(const std::string& key) const
{
  mark(key);
  if (!has(key)) return std::nullopt;
  return at(key);
}

size_t JsonNode::size() const
{
  expect_array();
  return j_->size();
}

JsonNode JsonNode::operator[](size_t i) const
{
  expect_array();
  return JsonNode((*j_)[i], file_, path_ + "[" + std::to_string(i) + "]", spec_);
}

std::vector<std::string> JsonNode::keys() const
{
  expect_object();
  std::vector<std::string> ks;
  for (auto it = j_->begin(); it != j_->end(); ++it) {
    ks.push_back(it.key());
    mark(it.key());
  }
  return ks;
}

double JsonNode::checked_number(const std::string& key, const Json& v) const
{
  if (!v.is_number()) fail(key, "expected a number, got " + json_type_name(v));
  const double x = v.get<double>();
  if (!std::isfinite(x)) fail(key, "expected a finite number");
  const FieldSpec* f = field(key);
  if (f && !f->in_bounds(x)) fail(key, "expected a number in " + f->bounds_text() + ", got " + format_number(x));
  return x;
}

double JsonNode::number(const std::string& key) const { return checked_number(key, value_of(key)); }

double JsonNode::number(const std::string& key, double def) const { return has(key) ? number(key) : (mark(key), def); }

double JsonNode::positive(const std::string& key) const
{
  double x = number(key);
  if (!(x > 0)) fail(key, "expected a number > 0, got " + format_number(x));
  return x;
}

double JsonNode::positive(const std::string& key, double def) const
{
  return has(key) ? positive(key) : (mark(key), def);
}

double JsonNode::non_negative(const std::string& key, double def) const
{
  double x = number(key, def);
  if (x < 0) fail(key, "expected a number >= 0, got " + format_number(x));
  return x;
}

double JsonNode::fraction(const std::string& key, double def) const
{
  double x = number(key, def);
  if (x < 0 || x > 1) fail(key, "expected a number in [0, 1], got " + format_number(x));
  return x;
}

long JsonNode::integer(const std::string& key) const
{
  const Json& v = value_of(key);
  if (!v.is_number()) fail(key, "expected an integer, got " + json_type_name(v));
  // Range first, on the exact value, so that nothing wraps: 4294967300 is not 4.
  const double x = v.is_number_unsigned()  ? double(v.get<uint64_t>())
                   : v.is_number_integer() ? double(v.get<int64_t>())
                                           : v.get<double>();
  if (!std::isfinite(x) || std::floor(x) != x) fail(key, "expected an integer, got " + json_type_name(v));
  const FieldSpec* f = field(key);
  if (f && !f->in_bounds(x)) fail(key, "expected an integer in " + f->bounds_text() + ", got " + v.dump());
  if (std::abs(x) > 9007199254740992.0) fail(key, "expected an integer of at most 2^53, got " + v.dump());
  return long(x);
}

long JsonNode::integer(const std::string& key, long def) const { return has(key) ? integer(key) : (mark(key), def); }

long JsonNode::positive_int(const std::string& key) const
{
  long x = integer(key);
  if (x <= 0) fail(key, "expected an integer > 0, got " + std::to_string(x));
  return x;
}

long JsonNode::positive_int(const std::string& key, long def) const
{
  return has(key) ? positive_int(key) : (mark(key), def);
}

std::string JsonNode::string(const std::string& key) const
{
  const Json& v = value_of(key);
  if (!v.is_string()) fail(key, "expected a string, got " + json_type_name(v));
  field(key);
  return v.get<std::string>();
}

std::string JsonNode::string(const std::string& key, const std::string& def) const
{
  return has(key) ? string(key) : (mark(key), def);
}

std::string JsonNode::choice(const std::string& key, std::initializer_list<const char*> options,
                             const std::string& def) const
{
  std::string s = string(key, def);
  std::string known;
  for (const char* o : options) {
    if (s == o) return s;
    known += (known.empty() ? "" : ", ") + std::string(o);
  }
  fail(key, "unknown value \"" + s + "\"; expected one of: " + known);
}

std::vector<double> JsonNode::numbers(const std::string& key) const
{
  const Json& v = value_of(key);
  if (!v.is_array()) fail(key, "expected an array of numbers, got " + json_type_name(v));
  const FieldSpec* f = field(key);
  std::vector<double> xs;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = key + "[" + std::to_string(i) + "]";
    if (!v[i].is_number()) fail(at, "expected a number, got " + json_type_name(v[i]));
    const double x = v[i].get<double>();
    if (!std::isfinite(x)) fail(at, "expected a finite number");
    if (f && !f->in_bounds(x)) fail(at, "expected a number in " + f->bounds_text() + ", got " + format_number(x));
    xs.push_back(x);
  }
  return xs;
}

bool JsonNode::boolean(const std::string& key, bool def) const
{
  if (!has(key)) {
    mark(key);
    return def;
  }
  const Json& v = value_of(key);
  if (!v.is_boolean()) fail(key, "expected true or false, got " + json_type_name(v));
  field(key);
  return v.get<bool>();
}

double JsonNode::sourced(const std::string& key, std::string* source, bool allow_plain) const
{
  const Json& v = value_of(key);
  if (allow_plain && v.is_number()) {
    if (source) *source = "scenario override";
    const double x = checked_number(key, v);
    const FieldSpec* f = field(key);
    if (f && f->integral && std::floor(x) != x) fail(key, "expected a whole number, got " + format_number(x));
    return x;
  }
  if (!v.is_object()) fail(key, "expected {\"value\": number, \"source\": string}, got " + json_type_name(v));
  JsonNode n(v, file_, child_path(key));
  const double x = n.number("value");
  const FieldSpec* f = field(key);
  if (f && !f->in_bounds(x)) n.fail("value", "expected a number in " + f->bounds_text() + ", got " + format_number(x));
  if (f && f->integral && std::floor(x) != x) n.fail("value", "expected a whole number, got " + format_number(x));
  std::string src = n.string("source");
  if (src.empty()) n.fail("source", "expected a non-empty source");
  n.done();
  if (source) *source = src;
  return x;
}

void JsonNode::done() const
{
  if (!j_->is_object()) return;
  for (auto it = j_->begin(); it != j_->end(); ++it)
    if (!st_->read.count(it.key())) fail(it.key(), "unknown key");
}

} // namespace fs
