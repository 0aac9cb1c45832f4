// The one way factorysim writes results (docs/design.md, "Output"): every write checked down to fsync and
// close, results staged inside the output folder and moved into place only when every placement succeeded,
// folder names made safe, files the run did not create never deleted, concurrent runs on one folder
// serialised by a lock while they move their results into place.
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs::cli {

// A result could not be written (disk full, permissions): the run fails, with the path and the reason.
class OutputError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Writes `content` to `path` (created or truncated) and makes sure it reached the disk; throws OutputError.
void write_file(const std::filesystem::path& path, const std::string& content);

// A file written piece by piece (requests.csv), with the same checks.
class CheckedFile {
public:
  explicit CheckedFile(std::filesystem::path path);
  ~CheckedFile();
  CheckedFile(const CheckedFile&) = delete;
  CheckedFile& operator=(const CheckedFile&) = delete;
  void write(const std::string& text);
  void close(); // flush, fsync, close: throws OutputError on any failure

private:
  [[noreturn]] void fail(const char* what);
  void write_all(const char* data, size_t size);
  std::filesystem::path path_;
  int fd_ = -1;
  std::string buffer_;
};

// A folder name for a placement: letters, digits, '.', '_' and '-' kept, anything else '_', no leading dot,
// at most 100 characters; names that collide get -2, -3, ...
std::vector<std::string> folder_names(const std::vector<std::string>& placements);

// The -o folder of one run (or a temporary one when there is none).
class ResultDir {
public:
  // Creates the folder and a staging folder inside it; throws InputError when `out` cannot be a result folder
  // (a file, or not creatable), before anything runs.
  explicit ResultDir(const std::string& out);
  ~ResultDir(); // removes the staging folder unless committed
  ResultDir(const ResultDir&) = delete;
  ResultDir& operator=(const ResultDir&) = delete;

  const std::filesystem::path& staging() const { return staging_; }
  const std::filesystem::path& out() const { return out_; }
  bool keeps() const { return keep_; }
  // Moves what the staging folder holds into the output folder, under a lock: a placement folder that exists
  // keeps the files this run does not write. Throws OutputError, leaving the output folder as it was, when a
  // destination is in the way (a file where a folder goes, or the reverse).
  void commit();
  void remove_staging() noexcept;

private:
  std::filesystem::path out_, staging_;
  bool keep_ = false, committed_ = false;
};

} // namespace fs::cli
