#include "dashboard_files.hpp"

#include <httplib.h>

#include <spdlog/spdlog.h>

#include "qube/paths.hpp"

namespace qube::supervisor {

std::filesystem::path default_dashboard_dir() {
  return executable_dir().parent_path() / "share" / "qube" / "dashboard";
}

void add_dashboard(httplib::Server& s, const std::filesystem::path& dir) {
  s.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/"); });
  s.Get("/ui", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/"); });
  std::error_code ec;
  // httplib's mount point refuses paths that climb out of `dir` ("..") and types
  // the files by extension (text/html, text/javascript, text/css, image/svg+xml).
  if (!std::filesystem::is_directory(dir / "", ec) || !s.set_mount_point("/ui/", dir.string())) {
    spdlog::warn("dashboard: no directory {}; /ui/ is not served (set dashboard_dir)", dir.string());
    s.Get("/ui/.*", [dir](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("the dashboard's files are not installed at " + dir.string() + " (supervisor.yaml: dashboard_dir)",
                      "text/plain; charset=utf-8");
    });
    return;
  }
  // The page takes nothing from elsewhere: a script injected into a job's name
  // or log could not load more, nor send the token away.
  s.set_file_request_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'");
  });
  spdlog::info("dashboard: serving {} at /ui/", dir.string());
}

}  // namespace qube::supervisor
