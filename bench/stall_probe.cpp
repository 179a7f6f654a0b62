// The stall probe: pings the supervisor's client endpoint every 10 ms and
// reports the worst round trip. The supervisor answers pings on its event
// loop, so a round trip is a bound on how long any other request held that
// loop (issue 15: no request may hold it for more than 50 ms).
//
//   stall_probe --supervisor tcp://127.0.0.1:50002 [--interval-ms 10] [--seconds S]
//
// Runs until SIGINT/SIGTERM (or S seconds), then prints one JSON line:
// {"pings": N, "worst_ms": W, "p99_ms": P, "late": L, "no_answer": U}
// where late counts round trips over 50 ms.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "qube/client.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pings the supervisor every interval and reports the worst round trip"};
  std::string endpoint;
  int interval_ms = 10;
  double seconds = 0;
  app.add_option("--supervisor", endpoint, "client endpoint")->required();
  app.add_option("--interval-ms", interval_ms, "time between pings");
  app.add_option("--seconds", seconds, "stop after this long (default: at SIGINT/SIGTERM)");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  using Clock = std::chrono::steady_clock;
  qube::Client client(endpoint, std::chrono::seconds(30));
  std::vector<double> ms;
  long no_answer = 0;
  const auto start = Clock::now();
  while (!g_stop) {
    if (seconds > 0 && Clock::now() - start > std::chrono::duration<double>(seconds)) break;
    const auto t0 = Clock::now();
    try {
      client.request("ping", qube::Json::object());
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    } catch (const qube::ClientError&) {
      ++no_answer;
    } catch (const std::exception&) {  // a signal interrupted the wait: stopping
      if (!g_stop) throw;
    }
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(interval_ms));
  }
  std::sort(ms.begin(), ms.end());
  const double worst = ms.empty() ? 0 : ms.back();
  const double p99 = ms.empty() ? 0 : ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  const long late = std::count_if(ms.begin(), ms.end(), [](double v) { return v > 50; });
  std::printf("{\"pings\": %zu, \"worst_ms\": %.1f, \"p99_ms\": %.1f, \"late\": %ld, \"no_answer\": %ld}\n",
              ms.size(), worst, p99, late, no_answer);
  return 0;
}
