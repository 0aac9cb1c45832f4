// A small document model for `factorysim report`: headings, paragraphs, tables and images, rendered once as
// Markdown and once as self-contained HTML (images inlined as data: URIs).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace fs::cli {

struct ReportBlock {
  enum Kind { heading, paragraph, warning, table, image } kind = paragraph;
  std::string text;                           // heading, paragraph, warning; image: its caption
  std::vector<std::string> header;            // table
  std::vector<std::vector<std::string>> rows; // table
  std::string path;                           // image: relative to the report's folder
};

class ReportDoc {
public:
  void heading(const std::string& t) { blocks_.push_back({ReportBlock::heading, t, {}, {}, {}}); }
  void paragraph(const std::string& t) { blocks_.push_back({ReportBlock::paragraph, t, {}, {}, {}}); }
  void warning(const std::string& t) { blocks_.push_back({ReportBlock::warning, t, {}, {}, {}}); }
  void table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows)
  {
    blocks_.push_back({ReportBlock::table, "", std::move(header), std::move(rows), {}});
  }
  void image(const std::string& path, const std::string& caption)
  {
    blocks_.push_back({ReportBlock::image, caption, {}, {}, path});
  }
  std::string markdown(const std::string& title) const;
  // `dir` is where the images are read from to inline them.
  std::string html(const std::string& title, const std::filesystem::path& dir) const;

private:
  std::vector<ReportBlock> blocks_;
};

} // namespace fs::cli
