// The sample Grafana dashboard (packaging/grafana/qube-dashboard.json) asks only
// for metrics the daemons serve: every qube_* name in its queries is checked
// against a real supervisor's and a real worker's GET /metrics.
#include <httplib.h>

#include <fstream>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

std::string get_metrics(const std::string& host, int port) {
  httplib::Client c(host, port);
  c.set_read_timeout(10, 0);
  const auto res = c.Get("/metrics");
  return res && res->status == 200 ? res->body : std::string();
}

// Whether `text` declares `name` ("# TYPE name ..."), or `name` is one of a
// histogram's series (name_bucket, name_sum, name_count).
bool serves(const std::string& text, const std::string& name) {
  if (text.find("# TYPE " + name + " ") != std::string::npos) return true;
  for (const std::string suffix : {"_bucket", "_sum", "_count"})
    if (name.size() > suffix.size() && name.ends_with(suffix) &&
        text.find("# TYPE " + name.substr(0, name.size() - suffix.size()) + " histogram") != std::string::npos)
      return true;
  return false;
}

// Every query string of every panel (and of the template variables).
void collect_exprs(const Json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if ((key == "expr" || key == "definition") && value.is_string()) out.push_back(value.get<std::string>());
      collect_exprs(value, out);
    }
  } else if (node.is_array()) {
    for (const auto& item : node) collect_exprs(item, out);
  }
}

class GrafanaDashboard : public FarmTest {};

TEST_F(GrafanaDashboard, UsesOnlyMetricsTheDaemonsServe) {
  SupervisorOptions options;
  options.extra_args = {"--http", "127.0.0.1:0"};
  options.extra_config = "http_anonymous_read: true";
  start_supervisor(options);
  start_worker("w1", 1, "metrics: 127.0.0.1:0");
  ASSERT_EQ(wait_terminal(submit({"true"})), "complete");

  const std::regex url("http://127\\.0\\.0\\.1:([0-9]+)");
  std::smatch m;
  const std::string api = http_endpoint();
  ASSERT_TRUE(std::regex_search(api, m, url)) << api;
  std::string served = get_metrics("127.0.0.1", std::stoi(m[1].str()));
  ASSERT_NE(served.find("# TYPE qube_jobs gauge"), std::string::npos) << served;
  const std::string log = read_file(path("worker-w1.log"));
  ASSERT_TRUE(std::regex_search(log, m, std::regex("metrics at http://127\\.0\\.0\\.1:([0-9]+)/metrics"))) << log;
  const std::string worker = get_metrics("127.0.0.1", std::stoi(m[1].str()));
  ASSERT_NE(worker.find("# TYPE qube_worker_connected gauge"), std::string::npos) << worker;
  served += worker;

  std::ifstream file(std::string(QUBE_SOURCE_DIR) + "/packaging/grafana/qube-dashboard.json");
  ASSERT_TRUE(file) << "packaging/grafana/qube-dashboard.json is missing";
  const Json dashboard = Json::parse(file);
  ASSERT_TRUE(dashboard.contains("panels"));
  std::vector<std::string> exprs;
  collect_exprs(dashboard, exprs);
  std::set<std::string> used;
  const std::regex name("qube_[a-z_]+");
  for (const auto& expr : exprs)
    for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it) used.insert(it->str());
  // Every series of both daemons' panels, and a sanity floor on what was found.
  EXPECT_GE(used.size(), 20u);
  for (const auto& metric : used) EXPECT_TRUE(serves(served, metric)) << metric << " is not served by either daemon";
}

}  // namespace
}  // namespace qube_it
