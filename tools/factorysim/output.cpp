#include "output.hpp"
#include "json_input.hpp"
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/file.h>
#include <unistd.h>

namespace stdfs = std::filesystem;

namespace fs::cli {

CheckedFile::CheckedFile(stdfs::path path) : path_(std::move(path))
{
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create");
}

CheckedFile::~CheckedFile()
{
  if (fd_ >= 0) ::close(fd_);
}

void CheckedFile::fail(const char* what)
{
  const std::string why = std::strerror(errno);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  throw OutputError(path_.string() + ": " + what + ": " + why);
}

void CheckedFile::write_all(const char* data, size_t size)
{
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write");
    done += size_t(n);
  }
}

void CheckedFile::write(const std::string& text)
{
  // Pieces of 64 KB and more (requests.csv's) go straight out: copied into a buffer larger than a core's cache, each
  // row would be written to memory twice more.
  constexpr size_t chunk = 1 << 16;
  if (buffer_.empty() && text.size() >= chunk) return write_all(text.data(), text.size());
  buffer_ += text;
  if (buffer_.size() < chunk) return;
  write_all(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void CheckedFile::close()
{
  if (fd_ < 0) return;
  if (!buffer_.empty()) {
    std::string rest;
    rest.swap(buffer_);
    write_all(rest.data(), rest.size());
  }
  if (::fsync(fd_) != 0 && errno != EINVAL) fail("cannot flush to disk");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    throw OutputError(path_.string() + ": cannot close: " + why);
  }
}

void write_file(const stdfs::path& path, const std::string& content)
{
  CheckedFile f(path);
  f.write(content);
  f.close();
}

std::vector<std::string> folder_names(const std::vector<std::string>& placements)
{
  std::vector<std::string> out;
  std::map<std::string, int> seen;
  for (const std::string& name : placements) {
    std::string f;
    for (char c : name)
      f += (std::isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-') ? c : '_';
    while (!f.empty() && f.front() == '.')
      f.front() = '_';
    if (f.size() > 100) f.resize(100);
    if (f.empty()) f = "placement";
    std::string unique = f;
    for (int k = 2; seen.count(unique); ++k)
      unique = f + "-" + std::to_string(k);
    seen[unique] = 1;
    out.push_back(unique);
  }
  return out;
}

ResultDir::ResultDir(const std::string& out)
{
  keep_ = !out.empty();
  std::error_code ec;
  if (keep_) {
    out_ = stdfs::path(out);
    if (stdfs::exists(out_, ec) && !stdfs::is_directory(out_, ec))
      throw InputError("-o " + out + ": exists and is not a folder");
    stdfs::create_directories(out_, ec);
    if (ec) throw InputError("-o " + out + ": cannot create the folder: " + ec.message());
  } else {
    out_ = stdfs::temp_directory_path(ec);
    if (ec) out_ = "/tmp";
  }
  staging_ = out_ / (".factorysim-staging-" + std::to_string(::getpid()));
  stdfs::remove_all(staging_, ec);
  stdfs::create_directory(staging_, ec);
  if (ec) throw InputError("-o " + (keep_ ? out : out_.string()) + ": cannot write into the folder: " + ec.message());
}

ResultDir::~ResultDir()
{
  if (!committed_) remove_staging();
}

void ResultDir::remove_staging() noexcept
{
  std::error_code ec;
  stdfs::remove_all(staging_, ec);
}

namespace {
// Holds an exclusive lock on DIR/.factorysim.lock for its lifetime (flock: released if the process dies).
class DirLock {
public:
  explicit DirLock(const stdfs::path& dir)
  {
    const stdfs::path p = dir / ".factorysim.lock";
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw OutputError(p.string() + ": cannot create the lock file: " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) throw OutputError(p.string() + ": cannot lock: " + std::strerror(errno));
  }
  ~DirLock() { ::close(fd_); } // closing releases the lock

private:
  int fd_ = -1;
};

void rename_or_throw(const stdfs::path& from, const stdfs::path& to)
{
  std::error_code ec;
  stdfs::rename(from, to, ec);
  if (ec) throw OutputError("cannot move " + from.string() + " to " + to.string() + ": " + ec.message());
}
} // namespace

void ResultDir::commit()
{
  DirLock lock(out_);
  std::error_code ec;
  const std::vector<stdfs::directory_entry> items{stdfs::directory_iterator(staging_), stdfs::directory_iterator()};
  // First check that nothing is in the way, so that a refusal leaves the output folder untouched.
  for (auto const& e : items) {
    const stdfs::path dst = out_ / e.path().filename();
    if (!stdfs::exists(dst, ec)) continue;
    const bool src_dir = e.is_directory(), dst_dir = stdfs::is_directory(dst, ec);
    if (src_dir && !dst_dir) throw OutputError(dst.string() + ": exists and is not a folder; results not written");
    if (!src_dir && dst_dir) throw OutputError(dst.string() + ": is a folder; results not written");
    if (src_dir)
      for (auto const& f : stdfs::directory_iterator(e.path()))
        if (stdfs::is_directory(dst / f.path().filename(), ec))
          throw OutputError((dst / f.path().filename()).string() + ": is a folder; results not written");
  }
  for (auto const& e : items) {
    const stdfs::path dst = out_ / e.path().filename();
    if (e.is_directory() && stdfs::is_directory(dst, ec)) {
      // The folder of an earlier run: replace this run's files, keep anything else.
      const std::vector<stdfs::directory_entry> files{stdfs::directory_iterator(e.path()), stdfs::directory_iterator()};
      for (auto const& f : files)
        rename_or_throw(f.path(), dst / f.path().filename());
    } else {
      rename_or_throw(e.path(), dst);
    }
  }
  committed_ = true;
  remove_staging();
}

} // namespace fs::cli
