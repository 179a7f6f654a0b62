// A worker's own GET /metrics (qbworker --metrics, docs/operations.md "Metrics"),
// scraped from a real worker while it runs jobs of a real farm.
#include <httplib.h>

#include <regex>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

class WorkerMetrics : public FarmTest {
 protected:
  // Starts worker `name` serving metrics on any free loopback port, and learns
  // the port from the line the worker logs once it is bound.
  void start_with_metrics(const std::string& name, int slots) {
    start_worker(name, slots, "metrics: 127.0.0.1:0");
    const std::regex bound("metrics at http://127\\.0\\.0\\.1:([0-9]+)/metrics");
    std::smatch m;
    ASSERT_TRUE(wait_until([&] {
      const std::string log = read_file(path("worker-" + name + ".log"));
      if (!std::regex_search(log, m, bound)) return false;
      port_ = std::stoi(m[1].str());
      return true;
    })) << "the worker never logged its metrics address";
  }
  std::string scrape() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    const auto res = c.Get("/metrics");
    if (!res || res->status != 200) return {};
    EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
    return res->body;
  }
  // The value of the sample `name` (no labels) in `text`; -1 when absent.
  static double value(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
  }
  double scraped(const std::string& name) const { return value(scrape(), name); }

  int port_ = 0;
};

TEST_F(WorkerMetrics, CountItemsAndInstancesOfRealJobs) {
  start_supervisor();
  start_with_metrics("w1", 3);
  const std::string idle = scrape();
  ASSERT_FALSE(idle.empty());
  EXPECT_NE(idle.find("# TYPE qube_worker_items_run_total counter\n"), std::string::npos) << idle;
  EXPECT_EQ(value(idle, "qube_worker_connected"), 1) << idle;
  EXPECT_EQ(value(idle, "qube_worker_slots_total"), 3) << idle;
  EXPECT_EQ(value(idle, "qube_worker_items_run_total"), 0) << idle;

  // While an instance holding two slots runs, the gauges say so.
  const auto held = submit({"--reservations", "host.processors=2", "sh", "-c",
                            "touch " + path("started") + "; while [ ! -e " + path("go") + " ]; do sleep 0.05; done"});
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(path("started")); }));
  ASSERT_TRUE(wait_until([&] { return scraped("qube_worker_instances_running") == 1; })) << scrape();
  EXPECT_EQ(scraped("qube_worker_slots_used"), 2) << scrape();
  std::ofstream(path("go")) << "\n";
  ASSERT_EQ(wait_terminal(held), "complete");

  const auto good = submit({"--range", "1-4", "true"});
  const auto bad = submit({"--range", "1-2", "false"});
  ASSERT_EQ(wait_terminal(good), "complete");
  ASSERT_EQ(wait_terminal(bad), "failed");
  ASSERT_TRUE(wait_until([&] { return scraped("qube_worker_instances_running") == 0; })) << scrape();
  const std::string after = scrape();
  EXPECT_EQ(value(after, "qube_worker_items_run_total"), 7) << after;  // 1 + 4 + 2
  EXPECT_EQ(value(after, "qube_worker_items_failed_total"), 2) << after;
  EXPECT_GE(value(after, "qube_worker_instances_started_total"), 3) << after;
  EXPECT_EQ(value(after, "qube_worker_slots_used"), 0) << after;
  // Heartbeats go out every second here (SupervisorOptions): never much older.
  EXPECT_GE(value(after, "qube_worker_heartbeat_age_seconds"), 0) << after;
  EXPECT_LT(value(after, "qube_worker_heartbeat_age_seconds"), 5) << after;
}

TEST_F(WorkerMetrics, ABadAddressIsRefusedAtStart) {
  const RunResult flag = run({"qbworker", "--metrics", "localhost:http"});
  EXPECT_EQ(flag.code, 2) << flag.describe();
  EXPECT_NE(flag.err.find("expected HOST:PORT"), std::string::npos) << flag.describe();
  std::ofstream(path("bad.yaml")) << "metrics: 70000\n";
  const RunResult config = run({"qbworker", "--config", path("bad.yaml"), "--check-config"});
  EXPECT_EQ(config.code, 2) << config.describe();
  EXPECT_NE(config.err.find("metrics endpoint"), std::string::npos) << config.describe();
}

}  // namespace
}  // namespace qube_it
