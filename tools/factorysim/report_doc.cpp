#include "report_doc.hpp"
#include <fstream>
#include <sstream>

namespace fs::cli {

namespace {

std::string escape_html(const std::string& s)
{
  std::string o;
  for (char c : s)
    o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
  return o;
}

std::string escape_md_cell(const std::string& s)
{
  std::string o;
  for (char c : s)
    o += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return o;
}

std::string base64(const std::string& in)
{
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    o += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16;
    o += {t[v >> 18], t[v >> 12 & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    o += {t[v >> 18], t[v >> 12 & 63], t[v >> 6 & 63], '='};
  }
  return o;
}

} // namespace

std::string ReportDoc::markdown(const std::string& title) const
{
  std::ostringstream md;
  md << "# " << title << "\n\n";
  for (const ReportBlock& b : blocks_) {
    switch (b.kind) {
    case ReportBlock::heading:
      md << "## " << b.text << "\n\n";
      break;
    case ReportBlock::paragraph:
      md << b.text << "\n\n";
      break;
    case ReportBlock::warning:
      md << "> **WARNING: " << b.text << "**\n\n";
      break;
    case ReportBlock::image:
      md << "![" << b.text << "](" << b.path << ")\n\n";
      break;
    case ReportBlock::table:
      md << "|";
      for (auto const& h : b.header)
        md << " " << escape_md_cell(h) << " |";
      md << "\n|";
      for (size_t i = 0; i < b.header.size(); ++i)
        md << "---|";
      md << "\n";
      for (auto const& r : b.rows) {
        md << "|";
        for (auto const& c : r)
          md << " " << escape_md_cell(c) << " |";
        md << "\n";
      }
      md << "\n";
      break;
    }
  }
  return md.str();
}

std::string ReportDoc::html(const std::string& title, const std::filesystem::path& dir) const
{
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << escape_html(title) << "</title>\n"
    << "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
       "font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#eee}"
       ".warn{background:#fdd;border:2px solid #c00;padding:8px;font-weight:bold}img{max-width:100%}</style>\n"
    << "</head><body>\n<h1>" << escape_html(title) << "</h1>\n";
  for (const ReportBlock& b : blocks_) {
    switch (b.kind) {
    case ReportBlock::heading:
      h << "<h2>" << escape_html(b.text) << "</h2>\n";
      break;
    case ReportBlock::paragraph:
      h << "<p>" << escape_html(b.text) << "</p>\n";
      break;
    case ReportBlock::warning:
      h << "<p class=\"warn\">WARNING: " << escape_html(b.text) << "</p>\n";
      break;
    case ReportBlock::image: {
      std::ifstream in(dir / b.path, std::ios::binary);
      std::stringstream data;
      data << in.rdbuf();
      const std::string ext = std::filesystem::path(b.path).extension().string();
      const std::string mime = ext == ".svg" ? "image/svg+xml" : "image/png";
      h << "<figure><img alt=\"" << escape_html(b.text) << "\" src=\"data:" << mime << ";base64," << base64(data.str())
        << "\"><figcaption>" << escape_html(b.text) << "</figcaption></figure>\n";
      break;
    }
    case ReportBlock::table:
      h << "<table><tr>";
      for (auto const& c : b.header)
        h << "<th>" << escape_html(c) << "</th>";
      h << "</tr>\n";
      for (auto const& r : b.rows) {
        h << "<tr>";
        for (auto const& c : r)
          h << "<td>" << escape_html(c) << "</td>";
        h << "</tr>\n";
      }
      h << "</table>\n";
      break;
    }
  }
  h << "</body></html>\n";
  return h.str();
}

} // namespace fs::cli
