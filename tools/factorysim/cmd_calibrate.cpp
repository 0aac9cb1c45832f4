// `factorysim calibrate fit RAW -o fitted.json [--chip NAME]`
#include "catalog.hpp"
#include "commands.hpp"
#include "fit.hpp"
#include <cstdio>
#include <fstream>
#include <iostream>

namespace fs::cli {

namespace {

// "NVIDIA H200" -> "H200": the catalog chip whose name the device name contains, longest match first.
std::string chip_from_raw(const calib::RawData& raw, const Catalog& cat)
{
  const std::string device = raw.provenance.value("device", "");
  std::string best;
  for (auto const& [name, c] : cat.chips)
    if (device.find(name) != std::string::npos && name.size() > best.size()) best = name;
  if (best.empty())
    throw InputError(raw.dir + ": device \"" + device +
                     "\" matches no catalog chip; pass --chip (known: " + known_names(cat.chips) + ")");
  return best;
}

std::string git_commit()
{
  std::string out;
  if (FILE* p = popen("git rev-parse --short HEAD 2>/dev/null", "r")) {
    char buf[64];
    if (fgets(buf, sizeof buf, p)) out = buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out.empty() ? "unknown" : out;
}

} // namespace

int cmd_calibrate_fit(const FitArgs& a)
{
  const Catalog cat = load_catalog();
  const calib::RawData raw = calib::read_raw_dir(a.raw_dir); // read once: names the device, feeds the fit
  const std::string chip = a.chip.empty() ? chip_from_raw(raw, cat) : a.chip;
  auto it = cat.chips.find(chip);
  if (it == cat.chips.end())
    throw InputError("--chip: unknown chip \"" + chip + "\"; known: " + known_names(cat.chips));
  calib::Peaks peaks;
  peaks.bf16_flops = it->second.peak(Dtype::bf16);
  peaks.fp8_flops = it->second.peak(Dtype::fp8);
  peaks.hbm_bw = it->second.memory_bandwidth;
  const Json fitted = calib::fit_raw(raw, peaks, git_commit());
  std::ofstream(a.out) << fitted.dump(2) << "\n";
  std::cout << "fitted " << chip << " efficiency curves from " << a.raw_dir << " -> " << a.out << "\n";
  for (auto const& [k, v] : fitted["fits"].items())
    if (v.is_object() && v.contains("residuals"))
      std::printf("  %-18s n=%-4d median rel. error %5.1f%%  p95 %5.1f%%\n", k.c_str(), v["residuals"]["n"].get<int>(),
                  100 * v["residuals"]["median_rel_err"].get<double>(),
                  100 * v["residuals"]["p95_rel_err"].get<double>());
  return 0;
}

} // namespace fs::cli
