#include "instance_hooks.hpp"

namespace qube::worker {

namespace {

// A command as the failure names it: its first line, at most 80 characters.
std::string shown(const std::string& command) {
  std::string s = command.substr(0, command.find('\n'));
  return s.size() > 80 || s.size() < command.size() ? s.substr(0, 80) + "..." : s;
}

std::optional<HookFailure> run_hook(const std::string& kind, const std::string& command,
                                    const std::map<std::string, std::string>& env, const std::string& cwd,
                                    const OutputSink& sink) {
  const ProcessResult p = run_process({"/bin/sh", "-c", command}, env, cwd, sink);
  const std::string what = kind + " '" + shown(command) + "' ";
  if (!p.error.empty()) return HookFailure{what + "could not start: " + p.error, 127};
  if (p.signal) return HookFailure{what + "was killed by signal " + std::to_string(*p.signal), p.exitcode};
  if (p.exitcode != 0) return HookFailure{what + "exited with code " + std::to_string(p.exitcode), p.exitcode};
  return std::nullopt;
}

}  // namespace

std::optional<HookFailure> run_hooks(const std::string& kind, const std::vector<std::string>& commands,
                                     const std::map<std::string, std::string>& env, const std::string& cwd,
                                     const OutputSink& sink, bool stop_at_failure) {
  std::optional<HookFailure> first;
  for (const auto& command : commands) {
    auto failed = run_hook(kind, command, env, cwd, sink);
    if (!failed) continue;
    sink(Stream::err, "qbinstance: " + failed->reason + "\n");
    if (!first) first = std::move(failed);
    if (stop_at_failure) break;
  }
  return first;
}

}  // namespace qube::worker
