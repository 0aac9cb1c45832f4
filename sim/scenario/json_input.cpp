#include "json_input.hpp"
#include <cmath>
#include <fstream>
#include <sstream>

namespace fs {

Json read_json_file(const std::string& path)
{
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file");
  try {
    return Json::parse(in, nullptr, true, /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    throw InputError(path + ": malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
}

std::string json_type_name(const Json& j)
{
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "boolean";
  if (j.is_number()) return "number " + j.dump();
  if (j.is_string()) return "string " + j.dump();
  if (j.is_array()) return "array";
  return "object";
}

JsonNode::JsonNode(const Json& j, std::string file, std::string path)
    : j_(&j), file_(std::move(file)), path_(std::move(path)), read_(std::make_shared<std::set<std::string>>())
{
}

std::string JsonNode::child_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

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

JsonNode JsonNode::at(const std::string& key) const { return JsonNode(value_of(key), file_, child_path(key)); }

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
  return JsonNode((*j_)[i], file_, path_ + "[" + std::to_string(i) + "]");
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

double JsonNode::number(const std::string& key) const
{
  const Json& v = value_of(key);
  if (!v.is_number()) fail(key, "expected a number, got " + json_type_name(v));
  double x = v.get<double>();
  if (!std::isfinite(x)) fail(key, "expected a finite number");
  return x;
}

double JsonNode::number(const std::string& key, double def) const { return has(key) ? number(key) : (mark(key), def); }

double JsonNode::positive(const std::string& key) const
{
  double x = number(key);
  if (!(x > 0)) fail(key, "expected a number > 0, got " + std::to_string(x));
  return x;
}

double JsonNode::positive(const std::string& key, double def) const
{
  return has(key) ? positive(key) : (mark(key), def);
}

double JsonNode::non_negative(const std::string& key, double def) const
{
  double x = number(key, def);
  if (x < 0) fail(key, "expected a number >= 0, got " + std::to_string(x));
  return x;
}

double JsonNode::fraction(const std::string& key, double def) const
{
  double x = number(key, def);
  if (x < 0 || x > 1) fail(key, "expected a number in [0, 1], got " + std::to_string(x));
  return x;
}

long JsonNode::integer(const std::string& key) const
{
  const Json& v = value_of(key);
  if (!v.is_number_integer() && !(v.is_number() && std::floor(v.get<double>()) == v.get<double>()))
    fail(key, "expected an integer, got " + json_type_name(v));
  return v.get<long>();
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

bool JsonNode::boolean(const std::string& key, bool def) const
{
  if (!has(key)) {
    mark(key);
    return def;
  }
  const Json& v = value_of(key);
  if (!v.is_boolean()) fail(key, "expected true or false, got " + json_type_name(v));
  return v.get<bool>();
}

double JsonNode::sourced(const std::string& key, std::string* source, bool allow_plain) const
{
  const Json& v = value_of(key);
  if (allow_plain && v.is_number()) {
    if (source) *source = "scenario override";
    return number(key);
  }
  JsonNode n = at(key);
  if (!v.is_object()) fail(key, "expected {\"value\": number, \"source\": string}, got " + json_type_name(v));
  double x = n.number("value");
  std::string src = n.string("source");
  if (src.empty()) n.fail("source", "expected a non-empty source");
  n.done();
  if (source) *source = src;
  return x;
}

void JsonNode::renamed(const std::string& old_key, const std::string& new_key, const std::string& why) const
{
  if (j_->is_object() && j_->contains(old_key))
    fail(old_key, "renamed to \"" + new_key + "\"" + (why.empty() ? "" : " (" + why + ")"));
}

void JsonNode::done() const
{
  if (!j_->is_object()) return;
  for (auto it = j_->begin(); it != j_->end(); ++it)
    if (!read_->count(it.key())) fail(it.key(), "unknown key");
}

} // namespace fs
