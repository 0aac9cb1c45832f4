#include "validation_case.hpp"
#include <algorithm>
#include <cmath>
#include <set>

namespace stdfs = std::filesystem;

namespace fs::cli {

namespace {

const char* kSuffix = ".case.json";

ValidationCase parse_case(const stdfs::path& file)
{
  const Json j = read_json_file(file.string());
  JsonNode n(j, file.string());
  n.expect_object();
  ValidationCase c;
  c.file = file;
  const std::string fname = file.filename().string();
  c.name = fname.substr(0, fname.size() - std::string(kSuffix).size());
  c.scenario = file.parent_path() / n.string("scenario");
  if (!stdfs::is_regular_file(c.scenario)) n.fail("scenario", "no scenario file " + c.scenario.string());
  c.placement = n.string("placement", "");
  if (auto s = n.get("set")) {
    s->expect_array();
    for (size_t i = 0; i < s->size(); ++i) {
      const Json& v = (*s)[i].raw();
      if (!v.is_string()) n.fail("set[" + std::to_string(i) + "]", "expected a string path=value");
      c.sets.push_back(v.get<std::string>());
    }
  }
  c.command = n.choice("command", {"run", "capacity"}, "run");
  n.string("style"); // required
  c.style = n.choice("style",
                     {"offline_throughput", "server_capacity", "fixed_concurrency", "single_user", "fixed_batch"}, "");
  c.chip = n.string("chip");
  const JsonNode m = n.at("metric");
  m.expect_object();
  c.metric = m.string("path");
  c.metric_scale = m.positive("scale", 1);
  m.done();
  const JsonNode p = n.at("published");
  p.expect_object();
  c.published = p.positive("value");
  c.unit = p.string("unit");
  p.done();
  c.normalisation = n.string("normalisation");
  n.at("conditions").expect_object(); // free-form: software and version, precision, batch, lengths, system
  const JsonNode src = n.at("source");
  src.expect_object();
  c.source_url = src.string("url");
  if (c.source_url.rfind("http", 0) != 0) src.fail("url", "expected an http(s) URL");
  c.source_date = src.string("date");
  src.string("where", "");
  src.done();
  n.string("notes", "");
  n.done();
  // The model comes from the scenario, so the table cannot disagree with what ran.
  const Json sc = read_json_file(c.scenario.string());
  if (!sc.is_object() || !sc.contains("model") || !sc["model"].is_string())
    throw InputError(c.scenario.string() + ": model: expected a catalog model name (case " + file.string() + ")");
  c.model = sc["model"].get<std::string>();
  return c;
}

} // namespace

std::vector<ValidationCase> load_cases(const stdfs::path& dir, const std::vector<std::string>& only)
{
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec))
    throw InputError(dir.string() + ": no validation folder (run from the project root, or give the folder)");
  std::vector<stdfs::path> files;
  for (const auto& e : stdfs::directory_iterator(dir, ec)) {
    const std::string f = e.path().filename().string();
    if (f.size() > std::string(kSuffix).size() &&
        f.compare(f.size() - std::string(kSuffix).size(), std::string::npos, kSuffix) == 0)
      files.push_back(e.path());
  }
  if (ec) throw InputError(dir.string() + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<ValidationCase> all;
  for (const stdfs::path& f : files)
    all.push_back(parse_case(f));
  if (all.empty()) throw InputError(dir.string() + ": no *.case.json validation records");
  if (only.empty()) return all;
  std::vector<ValidationCase> chosen;
  for (const std::string& want : only) {
    auto it = std::find_if(all.begin(), all.end(), [&](const ValidationCase& c) { return c.name == want; });
    if (it == all.end()) {
      std::string known;
      for (const ValidationCase& c : all)
        known += (known.empty() ? "" : ", ") + c.name;
      throw InputError("--case " + want + ": no such case in " + dir.string() + "; known: " + known);
    }
    if (std::none_of(chosen.begin(), chosen.end(), [&](const ValidationCase& c) { return c.name == want; }))
      chosen.push_back(*it);
  }
  return chosen;
}

std::optional<double> metric_at(const Json& summary, const std::string& path)
{
  const Json* j = &summary;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!j->is_object() || !j->contains(key)) return std::nullopt;
    j = &(*j)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!j->is_number()) return std::nullopt;
  return j->get<double>();
}

double median_abs(std::vector<double> errors)
{
  if (errors.empty()) return 0;
  for (double& e : errors)
    e = std::fabs(e);
  std::sort(errors.begin(), errors.end());
  const size_t n = errors.size();
  return n % 2 ? errors[n / 2] : (errors[n / 2 - 1] + errors[n / 2]) / 2;
}

} // namespace fs::cli
