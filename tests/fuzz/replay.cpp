// Replays fuzz inputs (files, or every file of the folders given) through the fuzz target without libFuzzer:
// the regression test of every input the fuzzer ever found. Exits non-zero on the first that escapes.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv)
{
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    if (std::filesystem::is_directory(argv[i]))
      for (auto const& e : std::filesystem::directory_iterator(argv[i]))
        files.push_back(e.path());
    else
      files.push_back(argv[i]);
  }
  for (auto const& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    std::fprintf(stderr, "%s\n", f.c_str());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::printf("fuzz replay: %zu inputs, none escaped\n", files.size());
  return 0;
}
