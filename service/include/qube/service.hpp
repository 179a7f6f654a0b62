#pragma once
// Running under systemd (packaging/systemd/, docs/operations.md): the sd_notify
// protocol of a Type=notify unit with a watchdog, and logging to the journal.
// Every call is a no-op when the daemon was not started by systemd (no
// $NOTIFY_SOCKET) or Qube was built without libsystemd, so the daemons call them
// unconditionally.
#include <filesystem>

namespace qube::service {

// `<daemon> --check-config`: the configuration loaded and checked without
// error; says which file (or the built-in defaults) on stdout and returns the
// exit status, 0. A bad configuration already exited 2 with its error.
int report_valid_config(const char* daemon, const std::filesystem::path& file);

// READY=1: the daemon is bound and has restored its state; systemd starts the
// units ordered after it and `systemctl start` returns.
void notify_ready();

// STOPPING=1: shutdown has begun (after SIGTERM), so a slow final commit is
// not mistaken for a hang.
void notify_stopping();

// WATCHDOG=1, from the daemon's main loop: if the loop stalls for WatchdogSec,
// systemd restarts the daemon. Cheap to call every round: it sends at most one
// ping per quarter of the watchdog interval.
void watchdog_ping();

// When stderr is the journal's stream ($JOURNAL_STREAM, as under systemd) and
// Qube has libsystemd, sends spdlog's default logger to the journal with each
// message's priority and SYSLOG_IDENTIFIER=`ident`, instead of stderr lines the
// journal would store without levels.
void log_to_journal_under_systemd(const char* ident);

}  // namespace qube::service
