// Key files (sdk keys.hpp), endpoint checks (curve.hpp), the supervisor's Keyring
// and how Security turns a key into the request's user.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "keyring.hpp"
#include "qube/curve.hpp"
#include "qube/keys.hpp"
#include "qube/protocol.hpp"
#include "security.hpp"

namespace {

namespace fs = std::filesystem;
using qube::Json;
using qube::keys::KeyFile;
using qube::keys::KeyFileError;
using qube::supervisor::KeyKind;
using qube::supervisor::Keyring;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("qube-keys-test-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

// A certificate as CZMQ's zcert_save_secret writes it (keys from its own docs).
const char* kCzmqSecret = R"(#   ****  Generated on 2015-06-26 10:35:29 by CZMQ  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

metadata
    name = "alice"
    email = 'alice@example.com'
curve
    public-key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    secret-key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
)";

TEST(KeyFile, ReadsCzmqCertificates) {
  const KeyFile k = qube::keys::parse_key_file(kCzmqSecret);
  EXPECT_EQ(k.public_key, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID");
  EXPECT_EQ(k.secret_key, "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs");
  EXPECT_EQ(k.name(), "alice");
  EXPECT_EQ(k.metadata.at("email"), "alice@example.com");
}

TEST(KeyFile, WhatItWritesItReads) {
  const KeyFile k = qube::keys::generate("w3");
  const KeyFile secret = qube::keys::parse_key_file(qube::keys::format_key_file(k, true));
  EXPECT_EQ(secret.public_key, k.public_key);
  EXPECT_EQ(secret.secret_key, k.secret_key);
  EXPECT_EQ(secret.name(), "w3");
  const KeyFile pub = qube::keys::parse_key_file(qube::keys::format_key_file(k, false));
  EXPECT_EQ(pub.public_key, k.public_key);
  EXPECT_TRUE(pub.secret_key.empty());
}

TEST(KeyFile, BadFilesAreRefusedSayingWhere) {
  const auto error_of = [](const std::string& text) {
    try {
      qube::keys::parse_key_file(text);
    } catch (const KeyFileError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(error_of(""), "no curve public-key");
  EXPECT_EQ(error_of("curve\n    public-key = \"short\"\n"), "line 2: public-key is not a 40-character Z85 key");
  EXPECT_EQ(error_of("certs\n"), "line 1: unknown section 'certs'");
  EXPECT_EQ(error_of("    name = x\n"), "line 1: a setting outside any section");
  EXPECT_EQ(error_of("curve\n    public-key\n"), "line 2: expected 'name = value'");
  EXPECT_EQ(error_of("curve\n    public-key = \"abc\n"), "line 2: unterminated quote");
  EXPECT_EQ(error_of("curve\n    colour = blue\n"), "line 2: unknown curve setting 'colour'");
  EXPECT_EQ(error_of(std::string(qube::keys::kMaxKeyFileBytes + 1, '#')).rfind("key file too large", 0), 0u);
  // A secret key that is not the public key's.
  const KeyFile a = qube::keys::generate("a"), b = qube::keys::generate("b");
  KeyFile mixed = a;
  mixed.secret_key = b.secret_key;
  EXPECT_EQ(error_of(qube::keys::format_key_file(mixed, true)), "the secret key does not belong to the public key");
}

TEST(KeyFile, SecretFilesAreWrittenPrivateAndRefusedWhenNot) {
  TempDir dir;
  const KeyFile k = qube::keys::generate("me");
  const fs::path stem = dir.path / "user.key";
  qube::keys::write_key_files(stem, k, true);
  struct stat st {};
  ASSERT_EQ(::stat(qube::keys::secret_path(stem).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(stem.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(qube::keys::read_key_file(qube::keys::secret_path(stem), true).secret_key, k.secret_key);
  // The public file holds no secret; asking it for one fails.
  EXPECT_THROW(qube::keys::read_key_file(stem, true), KeyFileError);
  fs::permissions(qube::keys::secret_path(stem), fs::perms::group_read, fs::perm_options::add);
  try {
    qube::keys::read_key_file(qube::keys::secret_path(stem), true);
    FAIL() << "a group-readable secret file was accepted";
  } catch (const KeyFileError& e) {
    EXPECT_NE(std::string(e.what()).find("readable by others"), std::string::npos) << e.what();
  }
}

TEST(Endpoints, OnlyLoopbackIsLocal) {
  using qube::curve::is_loopback_endpoint;
  for (const char* local : {"tcp://127.0.0.1:50001", "tcp://127.0.0.1:0", "tcp://localhost:5", "tcp://[::1]:5",
                            "tcp://127.1.2.3:9", "ipc:///tmp/q", "inproc://x"})
    EXPECT_TRUE(is_loopback_endpoint(local)) << local;
  for (const char* open : {"tcp://*:50001", "tcp://0.0.0.0:50001", "tcp://10.0.0.5:50001", "tcp://farm:50001",
                           "tcp://eth0:5", "tcp://[::]:5", "udp://127.0.0.1:5"})
    EXPECT_FALSE(is_loopback_endpoint(open)) << open;
}

TEST(KeyringTest, AddRevokeAndFilesDroppedInByHand) {
  TempDir dir;
  Keyring ring(dir.path);
  const KeyFile alice = qube::keys::generate("alice"), w1 = qube::keys::generate("w1");
  ring.add(KeyKind::user, "alice", alice.public_key);
  // A worker's key given as the text of its certificate.
  ring.add(KeyKind::worker, "w1", qube::keys::format_key_file(w1, false));
  ASSERT_TRUE(ring.holder(alice.public_key));
  EXPECT_EQ(ring.holder(alice.public_key)->name, "alice");
  EXPECT_EQ(ring.holder(w1.public_key)->kind, KeyKind::worker);
  EXPECT_TRUE(fs::exists(dir.path / "users/alice.key"));

  // Another Keyring over the same directory (a restart) knows the same keys.
  EXPECT_EQ(Keyring(dir.path).list().size(), 2u);

  EXPECT_THROW(ring.add(KeyKind::user, "bob", alice.public_key), std::runtime_error);  // alice's key
  EXPECT_THROW(ring.add(KeyKind::user, "../etc", qube::keys::generate("x").public_key), std::runtime_error);
  EXPECT_THROW(ring.add(KeyKind::user, "carol", "not a key"), std::runtime_error);

  // Adding a name again replaces its key.
  const KeyFile alice2 = qube::keys::generate("alice");
  ring.add(KeyKind::user, "alice", alice2.public_key);
  EXPECT_FALSE(ring.holder(alice.public_key));
  EXPECT_TRUE(ring.holder(alice2.public_key));

  ring.revoke(KeyKind::user, "alice");
  EXPECT_FALSE(ring.holder(alice2.public_key));
  EXPECT_FALSE(fs::exists(dir.path / "users/alice.key"));
  EXPECT_THROW(ring.revoke(KeyKind::user, "alice"), std::runtime_error);

  // An admin drops a file in, or deletes one: refresh sees both.
  const KeyFile bob = qube::keys::generate("bob");
  qube::keys::write_key_files(dir.path / "users/bob.key", bob, false);
  EXPECT_TRUE(ring.refresh());
  EXPECT_TRUE(ring.holder(bob.public_key));
  EXPECT_FALSE(ring.refresh());  // nothing changed since
  fs::remove(dir.path / "workers/w1.key");
  EXPECT_TRUE(ring.refresh());
  EXPECT_FALSE(ring.holder(w1.public_key));
}

TEST(KeyringTest, UnreadableFilesAreSkipped) {
  TempDir dir;
  fs::create_directories(dir.path / "users");
  std::ofstream(dir.path / "users/broken.key") << "curve\n    public-key = \"nope\"\n";
  const KeyFile ok = qube::keys::generate("ok");
  qube::keys::write_key_files(dir.path / "users/ok.key", ok, false);
  Keyring ring(dir.path);
  ASSERT_EQ(ring.list().size(), 1u);
  EXPECT_EQ(ring.list()[0].name, "ok");
}

// With keys required, the user of a request is its key's holder, whatever the
// request claims; a job naming someone other than the claimed submitter stays a
// submission on someone's behalf, for the Farm's admin check.
TEST(SecurityTest, TheKeyNotTheRequestSaysWhoAsks) {
  TempDir dir;
  qube::supervisor::Config config;
  config.keys_dir = dir.path;
  config.keys_required = true;
  zmq::context_t ctx;
  zmq::socket_t workers(ctx, zmq::socket_type::router), clients(ctx, zmq::socket_type::router);
  qube::supervisor::Security security(config, ctx, workers, clients);
  EXPECT_TRUE(fs::exists(dir.path / "supervisor.key_secret"));
  const KeyFile alice = qube::keys::generate("alice");
  Keyring(dir.path).add(KeyKind::user, "alice", alice.public_key);  // on disk; Security rereads it
  (void)security.revoked_workers();                                    // the loop's periodic refresh

  qube::proto::Message submit{qube::proto::kSubmit, 1,
                              Json{{"user", "root"},
                                   {"jobs", Json::array({Json{{"user", "root"}, {"name", "mine"}},
                                                         Json{{"name", "unowned"}},
                                                         Json{{"user", "bob"}, {"name", "for-bob"}}})}}};
  ASSERT_EQ(security.authenticate_client(alice.public_key, submit), "alice");
  EXPECT_EQ(submit.body["user"], "alice");
  EXPECT_EQ(submit.body["jobs"][0]["user"], "alice");
  EXPECT_EQ(submit.body["jobs"][1]["user"], "alice");
  EXPECT_EQ(submit.body["jobs"][2]["user"], "bob");

  qube::proto::Message kill{qube::proto::kKill, 2, Json{{"ids", {1}}, {"user", "root"}}};
  EXPECT_EQ(security.authenticate_client(alice.public_key, kill), "alice");
  EXPECT_EQ(kill.body["user"], "alice");
  // In a listing, `user` is a filter, not who asks: it stays as given, or absent.
  qube::proto::Message jobs{qube::proto::kJobs, 5, Json{{"ids", {1}}}};
  EXPECT_EQ(security.authenticate_client(alice.public_key, jobs), "alice");
  EXPECT_FALSE(jobs.body.contains("user"));
  // A key nobody holds (revoked since it connected) is no one.
  EXPECT_EQ(security.authenticate_client(qube::keys::generate("x").public_key, kill), std::nullopt);
  // An odd claim is no claim: nothing is thrown (the loop would have no one to
  // answer, and a client's bad field must not end the daemon); the jobs are the holder's.
  for (const Json& claim : {Json(5), Json::array({"root"}), Json::object(), Json()}) {
    qube::proto::Message odd{qube::proto::kSubmit, 6,
                             Json{{"user", claim}, {"jobs", Json::array({Json{{"name", "j"}}, Json(7)})}}};
    ASSERT_EQ(security.authenticate_client(alice.public_key, odd), "alice") << claim.dump();
    EXPECT_EQ(odd.body["user"], "alice");
    EXPECT_EQ(odd.body["jobs"][0]["user"], "alice");
  }

  // Keys are for admins to give: alice may list them, not add or revoke.
  qube::proto::Message add{qube::proto::kKeyAdd, 3, Json{{"name", "eve"}, {"key", alice.public_key}}};
  EXPECT_THROW(security.handle_keys(add, "alice", {"root"}), std::runtime_error);
  qube::proto::Message list{qube::proto::kKeys, 4, Json::object()};
  EXPECT_EQ(security.handle_keys(list, "alice", {"root"})["keys"].size(), 1u);
}

TEST(SecurityTest, APublicBindNeedsKeysOrInsecure) {
  TempDir dir;
  qube::supervisor::Config config;
  config.keys_dir = dir.path;
  config.clients_endpoint = "tcp://*:0";
  zmq::context_t ctx;
  zmq::socket_t workers(ctx, zmq::socket_type::router), clients(ctx, zmq::socket_type::router);
  try {
    qube::supervisor::Security refused(config, ctx, workers, clients);
    FAIL() << "a public bind without keys was allowed";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to bind tcp://*:0 without keys"), std::string::npos) << e.what();
  }
  config.insecure = true;
  EXPECT_NO_THROW(qube::supervisor::Security(config, ctx, workers, clients));
}

}  // namespace

// Without keys the claimed user stands; a malformed body is not thrown about
// here (the loop would have no one to answer), it is refused later.
TEST(SecurityTest, WithoutKeysTheClaimStandsAndOddBodiesPass) {
  TempDir dir;
  qube::supervisor::Config config;
  config.keys_dir = dir.path;
  zmq::context_t ctx;
  zmq::socket_t workers(ctx, zmq::socket_type::router), clients(ctx, zmq::socket_type::router);
  qube::supervisor::Security security(config, ctx, workers, clients);
  qube::proto::Message kill{qube::proto::kKill, 1, Json{{"ids", {1}}, {"user", "bob"}}};
  EXPECT_EQ(security.authenticate_client("", kill), "bob");
  for (const Json& odd : {Json{{"user", 5}}, Json::array({1, 2}), Json("text"), Json()}) {
    qube::proto::Message m{qube::proto::kKill, 2, odd};
    EXPECT_EQ(security.authenticate_client("", m), "") << odd.dump();
  }
}
