// The HTTP/JSON API on a real farm (docs/http-api.md): tokens issued by
// `qb keys token`, jobs submitted, steered and read over HTTP, the refusals'
// statuses, and the event stream.
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

using Env = std::map<std::string, std::string>;

class HttpApi : public FarmTest {
 protected:
  void start(const std::string& extra_config = {}) {
    SupervisorOptions options;
    options.extra_args = {"--http", "127.0.0.1:0"};
    options.extra_config = extra_config;
    start_supervisor(options);
    ASSERT_EQ(http_endpoint().rfind("http://127.0.0.1:", 0), 0u) << http_endpoint();
  }
  // `qb keys token` as `user`: the token it printed.
  std::string token_for(const std::string& user) {
    const RunResult r = run({"qb", "keys", "token"}, Env{{"QB_USER", user}});
    EXPECT_EQ(r.code, 0) << r.describe();
    std::string token = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(token.size(), 64u) << r.describe();
    return token;
  }
  httplib::Client client() const {
    httplib::Client c(http_endpoint());
    c.set_read_timeout(30, 0);
    return c;
  }
  static httplib::Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  // status and parsed body of a request
  struct Answer {
    int status = 0;
    Json body;
  };
  Answer get(const std::string& path, const std::string& token) {
    auto c = client();
    auto res = token.empty() ? c.Get(path) : c.Get(path, bearer(token));
    if (!res) return {-1, Json()};
    return {res->status, Json::parse(res->body, nullptr, false)};
  }
  Answer post(const std::string& path, const std::string& token, const std::string& body) {
    auto c = client();
    auto res = c.Post(path, token.empty() ? httplib::Headers{} : bearer(token), body, "application/json");
    if (!res) return {-1, Json()};
    return {res->status, Json::parse(res->body, nullptr, false)};
  }
  // A cmdline job, or with `range` a cmdrange job of those items.
  std::uint64_t submit_http(const std::string& token, const std::string& command, const std::string& range = {}) {
    Json job{{"name", "http"}, {"prototype", "cmdline"}, {"package", {{"cmdline", command}}}};
    if (!range.empty()) {
      job["prototype"] = "cmdrange";
      job["range"] = range;
    }
    const Answer a = post("/api/v1/jobs", token, job.dump());
    EXPECT_EQ(a.status, 200) << a.body.dump();
    return a.body.at("ids").at(0).get<std::uint64_t>();
  }
  std::string status_of(std::uint64_t id, const std::string& token) {
    const Answer a = get("/api/v1/jobs/" + std::to_string(id), token);
    return a.status == 200 ? a.body["job"].value("status", "") : "http " + std::to_string(a.status);
  }
};

TEST_F(HttpApi, SubmitsReadsAndSteersJobsWithAToken) {
  start();
  start_worker("w1", 1);
  const std::string alice = token_for("alice");
  const Answer ping = get("/api/v1/ping", alice);
  ASSERT_EQ(ping.status, 200);
  EXPECT_TRUE(ping.body.contains("version"));

  const auto id = submit_http(alice, "echo from-http");
  ASSERT_TRUE(wait_until([&] { return status_of(id, alice) == "complete"; })) << status_of(id, alice);
  EXPECT_EQ(show(id).value("user", ""), "alice");  // the token's user, seen by qb too
  const Answer out = get("/api/v1/jobs/" + std::to_string(id) + "/stdout", alice);
  ASSERT_EQ(out.status, 200) << out.body.dump();
  EXPECT_NE(out.body.dump().find("from-http"), std::string::npos) << out.body.dump();
  const Answer history = get("/api/v1/jobs/" + std::to_string(id) + "/history", alice);
  ASSERT_EQ(history.status, 200);
  EXPECT_FALSE(history.body["events"].empty());
  const Answer listed = get("/api/v1/jobs?user=alice&status=complete", alice);
  ASSERT_EQ(listed.status, 200) << listed.body.dump();
  ASSERT_EQ(listed.body["jobs"].size(), 1u);
  EXPECT_EQ(listed.body["jobs"][0]["id"], id);

  // The generic route takes the protocol's requests as they are.
  const Answer generic = post("/api/v1/request", alice, R"({"type": "jobs", "body": {"ids": [)" + std::to_string(id) + "]}}");
  ASSERT_EQ(generic.status, 200) << generic.body.dump();
  EXPECT_EQ(generic.body["jobs"][0]["status"], "complete");

  // A verb, then the same verb on a job already in that state: 409.
  const auto sleeper = submit_http(alice, "sleep 60");
  const std::string path = "/api/v1/jobs/" + std::to_string(sleeper) + "/kill";
  const Answer killed = post(path, alice, "");
  ASSERT_EQ(killed.status, 200) << killed.body.dump();
  EXPECT_EQ(killed.body["killed"], Json::array({sleeper}));
  EXPECT_EQ(status_of(sleeper, alice), "killed");
  const Answer again = post(path, alice, "{}");
  EXPECT_EQ(again.status, 409) << again.body.dump();
  EXPECT_EQ(again.body["status"], 409);

  const Answer hosts = get("/api/v1/hosts", alice);
  ASSERT_EQ(hosts.status, 200);
  EXPECT_EQ(hosts.body["hosts"][0]["name"], "w1");
}

TEST_F(HttpApi, RefusalsCarryTheirStatus) {
  start("http_max_body: 4096\n");
  const std::string alice = token_for("alice");
  const std::string bob = token_for("bob");
  EXPECT_EQ(get("/api/v1/ping", "").status, 401);
  EXPECT_EQ(get("/api/v1/ping", std::string(64, 'a')).status, 401);
  const auto bobs = submit_http(bob, "sleep 60");
  const Answer not_hers = post("/api/v1/jobs/" + std::to_string(bobs) + "/block", alice, "");
  EXPECT_EQ(not_hers.status, 403) << not_hers.body.dump();
  EXPECT_NE(not_hers.body.value("error", "").find("belongs to bob"), std::string::npos);
  EXPECT_EQ(get("/api/v1/jobs/99999", alice).status, 404);
  EXPECT_EQ(post("/api/v1/jobs/99999/kill", alice, "").status, 404);
  EXPECT_EQ(post("/api/v1/jobs", alice, std::string(5000, ' ')).status, 413);
  const Answer malformed = post("/api/v1/jobs", alice, "{\"name\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.value("error", "").find("malformed JSON"), std::string::npos);
  const Answer unknown = post("/api/v1/jobs/" + std::to_string(bobs) + "/retry", bob, R"({"frames": "1-5"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.value("error", "").find("'frames'"), std::string::npos) << unknown.body.dump();
  EXPECT_EQ(get("/api/v1/jobs?colour=red", alice).status, 400);
  EXPECT_EQ(post("/api/v1/request", alice, R"({"type": "key_add"})").status, 400);

  // Revoked, the token is refused at once; its owner's other requests unaffected.
  const RunResult revoke = run({"qb", "keys", "token", "--revoke", "alice"}, Env{{"QB_USER", "alice"}});
  ASSERT_EQ(revoke.code, 0) << revoke.describe();
  EXPECT_EQ(get("/api/v1/ping", alice).status, 401);
  EXPECT_EQ(get("/api/v1/ping", bob).status, 200);
  // Only admins revoke someone else's.
  const RunResult others = run({"qb", "keys", "token", "--revoke", "bob"}, Env{{"QB_USER", "alice"}});
  EXPECT_EQ(others.code, 1) << others.describe();
  EXPECT_EQ(get("/api/v1/ping", bob).status, 200);
}

// GET /metrics: Prometheus text, behind the same token as every read.
TEST_F(HttpApi, MetricsCountJobsItemsWorkersAndTheLoop) {
  start();
  start_worker("w1", 2);
  const std::string alice = token_for("alice");
  const auto id = submit_http(alice, "true", "1-3");
  ASSERT_TRUE(wait_until([&] { return status_of(id, alice) == "complete"; }));
  auto c = client();
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  const auto res = c.Get("/metrics", bearer(alice));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  const std::string& text = res->body;
  for (const char* line : {"qube_jobs{status=\"complete\"} 1\n", "qube_items{status=\"complete\"} 3\n",
                           "qube_workers{state=\"active\"} 1\n", "qube_slots_total 2\n",
                           "qube_items_dispatched_total 3\n", "qube_item_events_total{event=\"complete\"} 3\n",
                           "# TYPE qube_loop_round_seconds histogram\n", "qube_store_commit_seconds_bucket{le=\"+Inf\"} ",
                           "qube_dispatch_latency_seconds_count 3\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in:\n" << text;
}

TEST_F(HttpApi, TokensOutliveARestart) {
  start();
  const std::string alice = token_for("alice");
  kill9_supervisor();
  restart_supervisor();
  EXPECT_EQ(get("/api/v1/ping", alice).status, 200);
  const auto mode = std::filesystem::status(dir() / "data" / "api_tokens").permissions();
  EXPECT_EQ(mode & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(read_file(path("data/api_tokens")).find(alice), std::string::npos);  // only its hash
}

TEST_F(HttpApi, AnonymousReadsOnlyWhenConfigured) {
  start("http_anonymous_read: true\n");
  EXPECT_EQ(get("/api/v1/jobs", "").status, 200);
  EXPECT_EQ(post("/api/v1/jobs", "", R"({"name": "x", "prototype": "cmdline", "package": {"cmdline": "true"}})").status,
            401);
}

TEST_F(HttpApi, EventStreamReportsAJobsCompletion) {
  start();
  start_worker("w1", 1);
  const std::string alice = token_for("alice");
  std::mutex mutex;
  std::string received;
  std::atomic<bool> connected{false}, done{false};
  std::thread reader([&] {
    auto c = client();
    c.set_read_timeout(60, 0);
    c.Get("/api/v1/events", bearer(alice), [&](const char* data, std::size_t size) {
      std::lock_guard lock(mutex);
      received.append(data, size);
      connected = true;
      return !done;
    });
  });
  ASSERT_TRUE(wait_until([&] { return connected.load(); }, 10s));
  const auto id = submit_http(alice, "echo QB_FRAME_NUMBER", "1-2");
  const std::string wanted = R"("id":)" + std::to_string(id);
  const bool seen = wait_until([&] {
    std::lock_guard lock(mutex);
    for (std::size_t at = received.find("event: job\n"); at != std::string::npos;
         at = received.find("event: job\n", at + 1)) {
      const std::string line = received.substr(at, received.find("\n\n", at) - at);
      if (line.find(wanted) != std::string::npos && line.find(R"("status":"complete")") != std::string::npos)
        return true;
    }
    return false;
  });
  done = true;
  reader.join();  // the next event or keepalive ends it
  std::lock_guard lock(mutex);
  EXPECT_TRUE(seen) << received;
  EXPECT_NE(received.find("event: item\n"), std::string::npos) << received;
}

// The dashboard's frame grid (docs/dashboard.md): an agenda's items counted by
// status in buckets, and a short range's items in full.
TEST_F(HttpApi, GridCountsAnAgendaInBuckets) {
  start();  // no worker: the items stay where they are put
  const std::string alice = token_for("alice");
  const auto id = submit_http(alice, "true", "1-10");
  const std::string grid = "/api/v1/jobs/" + std::to_string(id) + "/grid";
  // `complete` on items marks them skipped (qbcomplete): done without running.
  ASSERT_EQ(post("/api/v1/jobs/" + std::to_string(id) + "/complete", alice, R"({"work": "1-4"})").status, 200);

  const Answer all = get(grid + "?buckets=3", alice);
  ASSERT_EQ(all.status, 200) << all.body.dump();
  EXPECT_EQ(all.body["total"], 10);
  EXPECT_EQ(all.body["counts"], Json::parse(R"({"pending": 6, "skipped": 4})"));
  ASSERT_EQ(all.body["buckets"].size(), 3u);
  EXPECT_EQ(all.body["buckets"][0], Json::parse(R"({"from": 0, "to": 3, "counts": {"skipped": 3}})"));
  EXPECT_EQ(all.body["buckets"][1], Json::parse(R"({"from": 3, "to": 6, "counts": {"pending": 2, "skipped": 1}})"));
  EXPECT_EQ(all.body["buckets"][2]["to"], 10);
  EXPECT_FALSE(all.body.contains("items"));

  // A range: never more buckets than items; its items with their attempts.
  const Answer some = get(grid + "?from=3&to=5&buckets=100&items=1", alice);
  ASSERT_EQ(some.status, 200) << some.body.dump();
  EXPECT_EQ(some.body["buckets"].size(), 2u);
  ASSERT_EQ(some.body["items"].size(), 2u);
  EXPECT_EQ(some.body["items"][0]["name"], "4");
  EXPECT_EQ(some.body["items"][0]["index"], 3);
  EXPECT_EQ(some.body["items"][0]["status"], "skipped");
  EXPECT_TRUE(some.body["items"][1].contains("history"));

  // The same over the generic route, as a protocol request.
  const Answer generic = post("/api/v1/request", alice,
                              R"({"type": "agenda_grid", "body": {"id": )" + std::to_string(id) + R"(, "buckets": 1}})");
  ASSERT_EQ(generic.status, 200) << generic.body.dump();
  EXPECT_EQ(generic.body["buckets"][0]["counts"]["pending"], 6);

  EXPECT_EQ(get(grid + "?to=11", alice).status, 400);
  EXPECT_EQ(get(grid + "?from=5&to=4", alice).status, 400);
  EXPECT_EQ(get(grid + "?buckets=0", alice).status, 400);
  EXPECT_EQ(get(grid + "?zoom=2", alice).status, 400);
  EXPECT_EQ(get("/api/v1/jobs/999999/grid", alice).status, 404);
  EXPECT_EQ(get(grid, "").status, 401);
}

// Who the token is, for the dashboard's "signed in as"; a host locked to drain.
TEST_F(HttpApi, PingNamesTheUserAndLockDrains) {
  SupervisorOptions options;
  options.extra_args = {"--http", "127.0.0.1:0"};
  options.extra_config = "admins: [root_admin]\n";
  start_supervisor(options);
  start_worker("w1", 1);
  const std::string admin = token_for("root_admin");
  const std::string alice = token_for("alice");
  const Answer ping = get("/api/v1/ping", alice);
  EXPECT_EQ(ping.body["user"], "alice");
  EXPECT_EQ(ping.body["admin"], false);
  EXPECT_EQ(get("/api/v1/ping", admin).body["admin"], true);

  EXPECT_EQ(post("/api/v1/hosts/w1/lock", alice, R"({"drain": true})").status, 403);
  const Answer drained = post("/api/v1/hosts/w1/lock", admin, R"({"drain": true})");
  ASSERT_EQ(drained.status, 200) << drained.body.dump();
  const Answer hosts = get("/api/v1/hosts", admin);
  EXPECT_EQ(hosts.body["hosts"][0]["state"], "locked");
  EXPECT_EQ(hosts.body["hosts"][0]["draining"], true);
  EXPECT_EQ(post("/api/v1/hosts/w1/lock", admin, R"({"drain": true, "purge": true})").status, 400);
}

// The dashboard's files at /ui/, typed, and nothing outside their directory.
TEST_F(HttpApi, ServesTheDashboard) {
  start();
  auto c = client();
  const auto root = c.Get("/");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 302);
  EXPECT_EQ(root->get_header_value("Location"), "/ui/");
  const auto index = c.Get("/ui/");
  ASSERT_TRUE(index);
  ASSERT_EQ(index->status, 200);
  EXPECT_NE(index->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(index->body.find("app.js"), std::string::npos);
  EXPECT_FALSE(index->get_header_value("Content-Security-Policy").empty());
  const auto script = c.Get("/ui/app.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_NE(script->get_header_value("Content-Type").find("javascript"), std::string::npos);
  const auto css = c.Get("/ui/style.css");
  ASSERT_TRUE(css);
  EXPECT_NE(css->get_header_value("Content-Type").find("text/css"), std::string::npos);
  for (const char* escape : {"/ui/../../../CMakeCache.txt", "/ui/..%2f..%2f..%2fCMakeCache.txt", "/ui/..%2fCMakeCache.txt", "/ui/%2e%2e/CMakeCache.txt",
                             "/ui/../../etc/passwd", "/ui/nothing-here.js"}) {
    const auto res = c.Get(escape);
    ASSERT_TRUE(res) << escape;
    EXPECT_NE(res->status, 200) << escape << ": " << res->body.substr(0, 200);
  }
}

}  // namespace
}  // namespace qube_it
