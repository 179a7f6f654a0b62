#pragma once
// The wranglers' web dashboard (docs/dashboard.md): static files, served at
// /ui/ by the HTTP API's own server, so that the page and the API share an
// origin and the page needs no build step or server of its own.
#include <filesystem>

namespace httplib {
class Server;
}

namespace qube::supervisor {

// Where the dashboard's files are when not configured (`dashboard_dir`):
// <prefix>/share/qube/dashboard, beside the binary's bin/, in the build tree
// (which copies them there) as in an install.
std::filesystem::path default_dashboard_dir();

// Serves `dir` at /ui/ (its index.html at /ui/, and / redirects there). A
// missing directory is logged, and /ui/ then says so instead of 404-ing blindly.
void add_dashboard(httplib::Server& server, const std::filesystem::path& dir);

}  // namespace qube::supervisor
