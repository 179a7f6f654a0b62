// CURVE keys on a real farm (docs/security.md): a supervisor that requires keys,
// users and workers with key pairs made by `qb keys init`, admitted by an admin
// with `qb keys add` (the first admin, root, by dropping its public file into the
// key directory, as docs/security.md says), refused when unknown or revoked.
// Identities come from the keys: QB_USER and --user are no disguise.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "farm_fixture.hpp"

namespace qube_it {
namespace {

namespace fs = std::filesystem;

using Env = std::map<std::string, std::string>;

// A TCP relay on loopback that records every byte it passes, both ways: what
// a packet capture between a client and the supervisor would see.
class RecordingRelay {
 public:
  // `target`: tcp://127.0.0.1:PORT.
  explicit RecordingRelay(const std::string& target) : target_port_(port_of(target)) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(0);
    if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener_, 8) != 0)
      throw std::runtime_error("relay: cannot listen");
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    endpoint_ = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingRelay() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_)
      if (fd >= 0) close(fd);
    close(listener_);
  }
  RecordingRelay(const RecordingRelay&) = delete;
  RecordingRelay& operator=(const RecordingRelay&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  std::string recorded() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }

 private:
  static int port_of(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }
  static sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  // fds_ holds pairs: [2k] and [2k+1] are the two ends of one relayed connection.
  void serve() {
    char buf[65536];
    while (!stop_) {
      std::vector<pollfd> polled{{listener_, POLLIN, 0}};
      for (int fd : fds_) polled.push_back({fd, POLLIN, 0});
      if (poll(polled.data(), polled.size(), 50) <= 0) continue;
      if (polled[0].revents & POLLIN) accept_one();
      for (std::size_t n = 1; n < polled.size(); ++n) {
        if (!(polled[n].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const std::size_t self = n - 1, peer = self ^ 1;
        const ssize_t got = read(fds_[self], buf, sizeof buf);
        if (got <= 0) {  // one end closed: close both (poll skips negative fds)
          close(fds_[self]);
          close(fds_[peer]);
          fds_[self] = fds_[peer] = -1;
          continue;
        }
        {
          std::lock_guard lock(mutex_);
          bytes_.append(buf, static_cast<std::size_t>(got));
        }
        for (ssize_t sent = 0; sent < got;) {
          const ssize_t w = write(fds_[peer], buf + sent, static_cast<std::size_t>(got - sent));
          if (w <= 0) break;
          sent += w;
        }
      }
    }
  }
  void accept_one() {
    const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(target_port_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(client);
      if (server >= 0) close(server);
      return;
    }
    fds_.push_back(client);
    fds_.push_back(server);
  }

  int target_port_;
  int listener_ = -1;
  std::string endpoint_;
  std::vector<int> fds_;  // only the relay's thread touches it while it runs
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::string bytes_;
  std::thread thread_;
};

constexpr const char* kMarker = "SECRET-MARKER-12345";

// A farm whose supervisor requires keys, with helpers that make and admit the
// keys of users and workers the way an admin would.
class KeysFarm : public FarmTest {
 protected:
  static constexpr double kHeartbeat = 0.5;

  std::string keys_dir() const { return path("keys"); }
  // Where a user's own key pair lives (its $QB_KEYS).
  std::string user_dir(const std::string& name) const { return path("user-" + name); }
  std::string worker_dir(const std::string& name) const { return path("worker-keys-" + name); }
  std::string supervisor_key() const { return keys_dir() + "/supervisor.key"; }
  Env as(const std::string& user) const { return {{"QB_KEYS", user_dir(user)}}; }

  // The supervisor with keys required, root's key admitted by hand and used by
  // the fixture's own client commands (submit, show, hosts).
  void start_keyed_supervisor(SupervisorOptions options = {}) {
    options.heartbeat_interval = kHeartbeat;
    // Silence is noticed only after 10 beats, far later than a revocation must be.
    options.heartbeat_misses = 10;
    options.extra_args.insert(options.extra_args.end(), {"--keys", keys_dir(), "--keys-required"});
    start_supervisor(options);
    make_user_key("root");
    fs::copy_file(user_dir("root") + "/user.key", keys_dir() + "/users/root.key");
    set_client_env(as("root"));
  }

  // `qb keys init` in the user's own directory; returns its --json answer.
  Json make_user_key(const std::string& name) {
    const RunResult r =
        run({"qb", "keys", "init", "--supervisor-key", supervisor_key(), "--json"}, {{"QB_KEYS", user_dir(name)}});
    if (r.code != 0) throw std::runtime_error("qb keys init failed: " + r.describe());
    return Json::parse(r.out);
  }
  // A user's key made and admitted by root.
  Json add_user(const std::string& name) {
    Json made = make_user_key(name);
    const RunResult r = run({"qb", "keys", "add", name, user_dir(name) + "/user.key"});
    if (r.code != 0) throw std::runtime_error("qb keys add failed: " + r.describe());
    return made;
  }
  // `qb keys init --worker NAME` in the worker's key directory.
  void make_worker_key(const std::string& name) {
    const RunResult r = run({"qb", "keys", "init", "--worker", name, "--dir", worker_dir(name), "--supervisor-key",
                             supervisor_key()});
    if (r.code != 0) throw std::runtime_error("qb keys init --worker failed: " + r.describe());
  }
  RunResult add_worker_key(const std::string& name) {
    return run({"qb", "keys", "add", "--worker", name, worker_dir(name) + "/worker.key"});
  }
  // A worker configuration using the key pair in `key_dir`; run_as: self so that
  // key names need no accounts on this host.
  static std::string worker_yaml(const std::string& key_dir, bool run_as_self = true) {
    return "keys: " + key_dir + "\n" + (run_as_self ? "run_as: self\n" : "");
  }

  std::string supervisor_log() const { return read_file(path("supervisor.log")); }
  bool log_says(const std::string& file, const std::string& text) const {
    return contains(read_file(path(file)), text);
  }
  // qbsub of a job whose command line is kMarker, through a RecordingRelay to
  // the supervisor; what the relay saw.
  std::string submit_through_relay(const Env& env) {
    RecordingRelay relay(clients_endpoint());
    Env through = env;
    through["QB_SUPERVISOR"] = relay.endpoint();
    const RunResult r = run({"qbsub", "echo", kMarker}, through);
    EXPECT_EQ(r.code, 0) << r.describe();
    return relay.recorded();
  }

  // Whether the root's requests are still answered.
  bool serves_root() { return run({"qb", "ping"}).code == 0; }
};

// ---------------------------------------------------------------- clients

TEST_F(KeysFarm, PlaintextUnknownAndRevokedClientsAreRefusedWhileOthersAreServed) {
  start_keyed_supervisor();
  fs::create_directories(path("nokeys"));
  const RunResult plain = run({"qb", "jobs"}, {{"QB_KEYS", path("nokeys")}}, 20s);
  EXPECT_EQ(plain.code, 1) << plain.describe();
  EXPECT_TRUE(contains(plain.err, "qb keys init")) << plain.describe();
  EXPECT_LT(plain.seconds, 10) << "a refusal is explained, not a timeout";
  // The address is best effort: libzmq 4.3 reports a plaintext client's failed
  // handshake without it, and under load the connection may be gone before the
  // monitor's "accepted" event is read (then "an unknown address").
  EXPECT_TRUE(wait_until([&] { return contains(supervisor_log(), "refused a connection from "); }, 10s))
      << "the supervisor logs the refused plaintext client";
  EXPECT_TRUE(serves_root());

  make_user_key("mallory");  // made, never added
  const RunResult unknown = run({"qbsub", "echo", "hi"}, as("mallory"), 20s);
  EXPECT_EQ(unknown.code, 1) << unknown.describe();
  EXPECT_TRUE(contains(unknown.err, "refused")) << unknown.describe();
  EXPECT_TRUE(wait_until([&] { return contains(supervisor_log(), "refused a client from 127.0.0.1: unknown key"); },
                         10s))
      << "the supervisor logs the refused client's address";
  EXPECT_TRUE(serves_root());

  add_user("alice");
  const RunResult before = run({"qb", "jobs"}, as("alice"));
  ASSERT_EQ(before.code, 0) << before.describe();
  const RunResult revoke = run({"qb", "keys", "revoke", "alice"});
  ASSERT_EQ(revoke.code, 0) << revoke.describe();
  const RunResult after = run({"qb", "jobs"}, as("alice"), 20s);
  EXPECT_EQ(after.code, 1) << after.describe();
  EXPECT_TRUE(contains(after.err, "refused")) << after.describe();
  EXPECT_TRUE(serves_root());
}

// ---------------------------------------------------------------- workers

TEST_F(KeysFarm, AWorkerWithAnUnknownKeyRegistersOnceItsKeyIsAdded) {
  start_keyed_supervisor();
  make_worker_key("w1");
  launch_worker("w1", 1, worker_yaml(worker_dir("w1")));
  ASSERT_TRUE(wait_until([&] { return log_says("worker-w1.log", "refused this worker's key"); }, 10s));
  EXPECT_TRUE(contains(supervisor_log(), "refused a worker from 127.0.0.1: unknown key"));
  EXPECT_FALSE(host("w1")) << hosts().dump();

  const RunResult added = add_worker_key("w1");
  ASSERT_EQ(added.code, 0) << added.describe();
  // It tries again by itself every 5 s.
  ASSERT_TRUE(wait_until([&] {
    const auto h = host("w1");
    return h && h->value("state", "") == "active";
  }, 15s)) << hosts().dump();
  const auto id = submit({"echo", "hello"});
  EXPECT_EQ(wait_terminal(id, 15s), "complete");
}

TEST_F(KeysFarm, AWorkerKeyCannotRegisterUnderAnotherName) {
  start_keyed_supervisor();
  make_worker_key("w1");
  ASSERT_EQ(add_worker_key("w1").code, 0);
  launch_worker("impostor", 1, worker_yaml(worker_dir("w1")));
  ASSERT_TRUE(wait_until([&] { return contains(supervisor_log(), "registering as 'impostor'"); }, 10s));
  EXPECT_FALSE(host("impostor")) << hosts().dump();
  EXPECT_FALSE(host("w1")) << hosts().dump();
}

TEST_F(KeysFarm, ARevokedWorkerIsDownWithinAHeartbeatAndItsWorkRunsElsewhere) {
  start_keyed_supervisor();
  for (const std::string name : {"w1", "w2"}) {
    make_worker_key(name);
    ASSERT_EQ(add_worker_key(name).code, 0);
  }
  start_worker("w1", 1, worker_yaml(worker_dir("w1")));
  // The first run (on w1) leaves a mark and hangs; a rerun finds the mark and ends.
  const std::string mark = path("mark");
  const auto id = submit({"sh", "-c", "test -e " + mark + " && exit 0; touch " + mark + "; exec sleep 60"});
  ASSERT_TRUE(wait_until([&] { return fs::exists(mark); }, 15s)) << show(id).dump();
  start_worker("w2", 1, worker_yaml(worker_dir("w2")));

  const RunResult revoke = run({"qb", "keys", "revoke", "--worker", "w1"});
  ASSERT_EQ(revoke.code, 0) << revoke.describe();
  const auto revoked = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return host("w1")->value("state", "") == "down"; }, 10s)) << hosts().dump();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - revoked).count();
  EXPECT_LT(took, kHeartbeat + 1.0) << "marked down " << took << " s after the revocation";

  ASSERT_EQ(wait_terminal(id, 20s), "complete") << show(id).dump();
  const Json job = show(id);
  ASSERT_FALSE(job.at("instances").empty());
  EXPECT_EQ(job.at("instances").back().value("host", ""), "w2") << job.dump();
  // The revoked worker was told to stop what it ran: the item does not go on
  // there while it runs again on w2.
  EXPECT_TRUE(wait_until([&] { return log_says("worker-w1.log", "instance " + std::to_string(id) + ".0 killed"); },
                         10s));
}

// ---------------------------------------------------------------- identities

TEST_F(KeysFarm, AliceCannotKillBobsJobButAnAdminCan) {
  start_keyed_supervisor();
  add_user("alice");
  add_user("bob");
  // No worker: the job stays pending for as long as the test needs.
  const RunResult sub = run({"qbsub", "echo", "bob's"}, as("bob"));
  ASSERT_EQ(sub.code, 0) << sub.describe();
  const std::string id = sub.out.substr(0, sub.out.find('\n'));

  Env alice_as_bob = as("alice");
  alice_as_bob["QB_USER"] = "bob";
  for (const auto& [argv, env] : std::vector<std::pair<std::vector<std::string>, Env>>{
           {{"qb", "kill", id}, as("alice")},
           {{"qb", "kill", id}, alice_as_bob},
           {{"qb", "kill", "--user", "bob"}, as("alice")}}) {
    const RunResult r = run(argv, env);
    EXPECT_NE(r.code, 0) << r.describe();
    EXPECT_EQ(show(std::stoull(id)).value("status", ""), "pending");
  }
  const RunResult for_bob = run({"qbsub", "--user", "bob", "echo", "not bob's"}, as("alice"));
  EXPECT_EQ(for_bob.code, 1) << for_bob.describe();

  // QB_USER names nobody: the job is the key holder's.
  const RunResult mine = run({"qbsub", "echo", "alice's"}, alice_as_bob);
  ASSERT_EQ(mine.code, 0) << mine.describe();
  EXPECT_EQ(show(std::stoull(mine.out)).value("user", ""), "alice");
  EXPECT_EQ(show(std::stoull(id)).value("user", ""), "bob");

  // An admin may submit on someone's behalf.
  const RunResult by_root = run({"qbsub", "--user", "bob", "echo", "for bob"});
  ASSERT_EQ(by_root.code, 0) << by_root.describe();
  EXPECT_EQ(show(std::stoull(by_root.out)).value("user", ""), "bob");

  const RunResult admin = run({"qb", "kill", id}, {{"QB_USER", "bob"}});
  ASSERT_EQ(admin.code, 0) << admin.describe();
  EXPECT_EQ(show(std::stoull(id)).value("status", ""), "killed");
  const RunResult history = run({"qb", "history", id});
  EXPECT_TRUE(contains(history.out, "killed by root")) << history.describe();
}

// A submission big enough to be decoded off the loop (Server::decoding_apart) is
// its key holder's just the same.
TEST_F(KeysFarm, AManyJobFileIsTheKeyHoldersWhateverItClaims) {
  start_keyed_supervisor();
  add_user("alice");
  add_user("bob");
  constexpr int kJobs = 600;
  const std::string file = many_jobs_file(kJobs);
  Env alice_as_bob = as("alice");
  alice_as_bob["QB_USER"] = "bob";
  const RunResult mine = run({"qbsub", "--file", file}, alice_as_bob);
  ASSERT_EQ(mine.code, 0) << mine.describe();
  const std::uint64_t first = std::stoull(mine.out);
  EXPECT_EQ(show(first).value("user", ""), "alice");
  EXPECT_EQ(show(first + kJobs - 1).value("user", ""), "alice");
  const RunResult for_bob = run({"qbsub", "--user", "bob", "--file", file}, as("alice"));
  EXPECT_EQ(for_bob.code, 1) << for_bob.describe();
  EXPECT_FALSE(try_show(first + kJobs)) << "refused whole: no job made";
}

TEST_F(KeysFarm, KeysAreListedAndOnlyAdminsAddThem) {
  start_keyed_supervisor();
  const Json alice = add_user("alice");
  make_worker_key("w1");
  ASSERT_EQ(add_worker_key("w1").code, 0);

  const RunResult list = run({"qb", "keys", "list", "--json"}, as("alice"));
  ASSERT_EQ(list.code, 0) << list.describe();
  const Json keys = Json::parse(list.out);
  ASSERT_TRUE(keys.is_array()) << list.out;
  Json found = Json::object();
  for (const auto& k : keys) found[k.value("kind", "") + "/" + k.value("name", "")] = k.value("key", "");
  EXPECT_EQ(found.value("user/alice", ""), alice.value("key", "")) << keys.dump();
  EXPECT_TRUE(found.contains("user/root")) << keys.dump();
  EXPECT_TRUE(found.contains("worker/w1")) << keys.dump();

  make_user_key("carol");
  const RunResult by_alice = run({"qb", "keys", "add", "carol", user_dir("carol") + "/user.key"}, as("alice"));
  EXPECT_EQ(by_alice.code, 1) << by_alice.describe();
  EXPECT_TRUE(contains(by_alice.err, "admin")) << by_alice.describe();
  const RunResult again = run({"qb", "keys", "list", "--json"});
  EXPECT_FALSE(contains(again.out, "carol")) << again.describe();
}

// With keys and no run_as, a worker runs each job as its owner: a key name that
// is no account here fails its instance with the reason.
TEST_F(KeysFarm, AJobOfAKeyHolderWithoutAnAccountIsRefusedByAnOwnerWorker) {
  if (geteuid() != 0) GTEST_SKIP() << "running jobs as their owner needs root";
  const std::string user = "qbk" + std::to_string(getpid());
  if (getpwnam(user.c_str())) GTEST_SKIP() << user << " exists on this host";
  start_keyed_supervisor();
  add_user(user);
  make_worker_key("w1");
  ASSERT_EQ(add_worker_key("w1").code, 0);
  start_worker("w1", 1, worker_yaml(worker_dir("w1"), false));
  const RunResult sub = run({"qbsub", "echo", "hi"}, as(user));
  ASSERT_EQ(sub.code, 0) << sub.describe();
  const auto id = std::stoull(sub.out);
  ASSERT_EQ(wait_terminal(id, 15s), "failed");
  EXPECT_TRUE(contains(show(id).value("reason", ""), "user '" + user + "' does not exist")) << show(id).dump();
}

// ---------------------------------------------------------------- binds

TEST_F(KeysFarm, APublicBindWithoutKeysIsRefusedUnlessInsecure) {
  std::ofstream(path("empty.yaml")) << "log_level: info\n";
  const RunResult refused = run({"qbsupervisor", "--config", path("empty.yaml"), "--data", path("data"), "--workers",
                                 "tcp://127.0.0.1:0", "--clients", "tcp://0.0.0.0:0"},
                                {}, 20s);
  EXPECT_NE(refused.code, 0) << refused.describe();
  EXPECT_TRUE(contains(refused.out + refused.err, "refusing to bind tcp://0.0.0.0:0 without keys"))
      << refused.describe();

  SupervisorOptions insecure;
  insecure.clients_endpoint = "tcp://0.0.0.0:0";
  insecure.extra_args = {"--insecure"};
  start_supervisor(insecure);
  EXPECT_TRUE(contains(read_file(path("supervisor.log")), "INSECURE: tcp://0.0.0.0:0 is bound without keys"));
  EXPECT_EQ(run({"qb", "ping"}).code, 0);
}

// ---------------------------------------------------------------- the wire

TEST_F(KeysFarm, NoCommandLineInClearOnTheWireWithKeys) {
  start_keyed_supervisor();
  add_user("alice");
  const std::string wire = submit_through_relay(as("alice"));
  EXPECT_FALSE(wire.empty());
  EXPECT_FALSE(contains(wire, kMarker)) << "the command line crossed the wire in clear";
}

TEST_F(KeysFarm, WithoutKeysTheCommandLineCrossesTheWireInClear) {
  start_supervisor();
  const std::string wire = submit_through_relay({});
  EXPECT_TRUE(contains(wire, kMarker)) << "the relay records what a capture would see";
}

}  // namespace
}  // namespace qube_it
