#include "qube/service.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#ifdef QUBE_HAVE_SYSTEMD
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <string>
#endif

namespace qube::service {

#ifdef QUBE_HAVE_SYSTEMD

// sd_notify does nothing without $NOTIFY_SOCKET. The variable stays set (the
// watchdog reads it every time); children inheriting it cannot speak for the
// daemon, as the units keep NotifyAccess=main.
void notify_ready() { sd_notify(0, "READY=1"); }

void notify_stopping() { sd_notify(0, "STOPPING=1"); }

void watchdog_ping() {
  static const std::uint64_t interval_us = [] {
    std::uint64_t us = 0;
    return sd_watchdog_enabled(0, &us) > 0 ? us : 0;
  }();
  if (interval_us == 0) return;
  using clock = std::chrono::steady_clock;
  static clock::time_point last{};
  const auto now = clock::now();
  if (last != clock::time_point{} && now - last < std::chrono::microseconds(interval_us / 4)) return;
  last = now;
  sd_notify(0, "WATCHDOG=1");
}

namespace {
// systemd's own test: $JOURNAL_STREAM names the device and inode of the stream
// it connected stderr to. A daemon whose stderr was redirected since (or one
// that inherited the variable) keeps writing to stderr.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st{};
  if (!stream || fstat(STDERR_FILENO, &st) != 0) return false;
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) == stream;
}
}  // namespace

void log_to_journal_under_systemd(const char* ident) {
  if (!stderr_is_journal()) return;
  auto logger = std::make_shared<spdlog::logger>(ident, std::make_shared<spdlog::sinks::systemd_sink_mt>(ident));
  logger->set_level(spdlog::default_logger()->level());
  spdlog::set_default_logger(std::move(logger));
}

#else

void notify_ready() {}
void notify_stopping() {}
void watchdog_ping() {}
void log_to_journal_under_systemd(const char*) {}

#endif

int report_valid_config(const char* daemon, const std::filesystem::path& file) {
  std::cout << daemon << ": " << (file.empty() ? std::string("no configuration file; the defaults") : file.string())
            << " is valid\n";
  return 0;
}

}  // namespace qube::service
