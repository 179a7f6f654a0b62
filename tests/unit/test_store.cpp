// The supervisor's stores: what every Store and EventLog promises, run against
// the SQLite, PostgreSQL and in-memory ones alike (jobs, agenda items, instances
// survive a reopen; what was not committed does not); what only the SQLite store
// does with its file (unreadable rows are reported and skipped); schema
// versions; a PostgreSQL server that goes away; the file-based LogStore.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "farm.hpp"
#include "logs.hpp"
#include "pg_cluster.hpp"
#include "qube/codec.hpp"
#include "qube/json.hpp"
#include "store/event_log.hpp"
#include "store/memory_store.hpp"
#include "store/open_store.hpp"
#include "store/schema_migrations.hpp"
#include "store/sqlite_checkpointer.hpp"
#include "store/sqlite_db.hpp"
#include "store/store.hpp"

namespace {

namespace fs = std::filesystem;
using qube::AgendaItem;
using qube::Callback;
using qube::Instance;
using qube::Job;
using qube::JobId;
using qube::JobStatus;
using qube::Json;
using qube::WorkStatus;
using qube::supervisor::EventLog;
using qube::supervisor::FarmEvent;
using qube::supervisor::LogStore;
using qube::supervisor::MemoryStoreFile;
using qube::supervisor::new_memory_store_file;
using qube::supervisor::open_event_log;
using qube::supervisor::open_memory_event_log;
using qube::supervisor::open_memory_store;
using qube::supervisor::open_sqlite_store;
using qube::supervisor::open_store;
using qube::supervisor::SchemaTooNew;
using qube::supervisor::Store;
using qube::supervisor::StoreUnavailable;
using qube::testing::PgCluster;
using qube::supervisor::SubmissionRecord;

// A fresh directory per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "qube-ut-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
                       std::to_string(::getpid());
    std::replace(name.begin(), name.end(), '/', '_');  // a parameterised test's name has slashes
    dir_ = fs::temp_directory_path() / name;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

// A store that can be closed and opened again on the same storage.
class StoreTestBase : public TempDirTest {
 protected:
  virtual std::unique_ptr<Store> open() = 0;
  std::string db() const { return (dir_ / "qube.db").string(); }

  std::vector<Job> reload(std::vector<std::string>* bad = nullptr) {
    auto store = open();
    std::vector<std::string> rows;
    auto jobs = store->load([&](const std::string& m) { rows.push_back(m); });
    if (bad) *bad = rows;
    else EXPECT_TRUE(rows.empty()) << "unexpected bad row: " << rows.front();
    return jobs;
  }
};

// What only the SQLite store does: a file on disk, rows written behind its back.
class StoreTest : public StoreTestBase {
 protected:
  std::unique_ptr<Store> open() override { return open_sqlite_store(db()); }

  // Runs SQL on the database file behind the store's back.
  void raw_sql(const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in: " << sql;
    sqlite3_free(err);
    sqlite3_close(h);
  }

  // Inserts `bytes` as the doc of a row, through a bound blob.
  void raw_blob(const std::string& sql, const std::vector<sqlite3_int64>& keys, const std::string& bytes) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
    int col = 1;
    for (auto k : keys) sqlite3_bind_int64(st, col++, k);
    sqlite3_bind_blob(st, col, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(h);
    sqlite3_finalize(st);
    sqlite3_close(h);
  }

  std::int64_t count(const std::string& sql) {
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
    std::int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
  }
};

enum class Backend { sqlite, memory, postgresql };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "sqlite" : info.param == Backend::memory ? "memory" : "postgresql";
}

// A fresh database on the test binary's one PostgreSQL server (pg_cluster.hpp),
// or the test skipped, saying why.
#define QUBE_NEW_PG_DATABASE(name_var)                                                             \
  do {                                                                                             \
    if (!qube::supervisor::postgresql_built_in()) GTEST_SKIP() << "built without libpqxx";         \
    std::string why_not;                                                                           \
    pg_ = PgCluster::shared(&why_not);                                                             \
    if (!pg_) GTEST_SKIP() << "no PostgreSQL server for this test: " << why_not;                   \
    name_var = pg_->create_database();                                                             \
  } while (false)

// What every Store promises (store.hpp), against each implementation. "Reopen"
// is closing the store and opening another on the same file (for the memory
// store, the same MemoryStoreFile; for PostgreSQL, the same database).
class StoreContract : public StoreTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (GetParam() == Backend::postgresql) QUBE_NEW_PG_DATABASE(pg_database_);
  }
  std::unique_ptr<Store> open() override {
    switch (GetParam()) {
      case Backend::sqlite: return open_sqlite_store(db());
      case Backend::memory: return open_memory_store(memory_file_);
      case Backend::postgresql: break;
    }
    return open_store(pg_->uri(pg_database_), dir_).store;
  }
  std::shared_ptr<MemoryStoreFile> memory_file_ = new_memory_store_file();
  PgCluster* pg_ = nullptr;
  std::string pg_database_;
};

Job stored_job(JobId id) {
  Job j;
  j.id = id;
  j.pgrp = id;
  j.pid = 0;
  j.status = JobStatus::running;
  j.timesubmit = 1700000000.125;
  j.timestart = 1700000001.5;
  j.reason = "two items left";
  auto& s = j.spec;
  s.name = "shot 010 job " + std::to_string(id);
  s.type = "cmdline";
  s.user = "alice";
  s.priority = 42;
  s.cpus = 3;
  s.label = "lighting";
  s.range = "1-6";
  s.chunk = 2;
  s.partitions = 0;
  s.padding = 4;
  s.package = {{"cmdline", "render -f QB_FRAME_NUMBER"},
               {"threads", 8},
               {"scale", 0.5},
               {"flags", Json::array({"a", "b"})},
               {"nested", {{"deep", true}, {"none", nullptr}}}};
  s.env = {{"SHOT", "010"}, {"PATH", "/usr/bin:/bin"}, {"EMPTY", ""}};
  s.callbacks = {Callback{"complete-job-self", "python", "print('done')"}};
  s.dependency = "link-complete-job-3";
  s.blocked = false;
  s.cwd = "/shots/010";

  AgendaItem done;
  done.name = "1-2";
  done.status = WorkStatus::complete;
  done.attempts = 1;
  done.attempt_id = 1;
  done.host = "render01";
  done.subid = 0;
  done.exitcode = 0;
  done.timestart = 1700000002.25;
  done.timecomplete = 1700000014.75;
  done.walltime = 12.5;
  done.cputime = 11.25;
  done.peak_rss_kb = 123456;
  done.resultpackage = {{"outputPaths", "/out/0001.exr,/out/0002.exr"}};
  AgendaItem failed;
  failed.name = "3-4";
  failed.status = WorkStatus::failed;
  failed.attempts = 2;
  failed.attempt_id = 2;
  failed.host = "render02";
  failed.subid = 1;
  failed.exitcode = -1;
  failed.signal = 9;
  failed.timestart = 1700000003.0;
  failed.timecomplete = 1700000004.0;
  failed.reason = "killed by signal 9";
  AgendaItem pending;
  pending.name = "5-6";
  j.agenda = {done, failed, pending};

  Instance i0;
  i0.subid = 0;
  i0.host = "render01";
  i0.status = JobStatus::complete;
  i0.timestart = 1700000001.5;
  i0.timecomplete = 1700000015.0;
  i0.exitcode = 0;
  Instance i1;
  i1.subid = 1;
  i1.host = "render02";
  i1.status = JobStatus::running;
  i1.timestart = 1700000001.75;
  i1.reason = "";
  j.instances = {i0, i1};
  return j;
}

void put_all(Store& store, const Job& job) {
  store.put_job(job);
  for (std::size_t i = 0; i < job.agenda.size(); ++i) store.put_item(job.id, i, job.agenda[i]);
  for (const auto& inst : job.instances) store.put_instance(job.id, inst);
}

void expect_item_eq(const AgendaItem& a, const AgendaItem& b, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.attempt_id, b.attempt_id);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.subid, b.subid);
  EXPECT_EQ(a.exitcode, b.exitcode);
  EXPECT_EQ(a.signal, b.signal);
  EXPECT_EQ(a.timestart, b.timestart);
  EXPECT_EQ(a.timecomplete, b.timecomplete);
  EXPECT_EQ(a.walltime, b.walltime);
  EXPECT_EQ(a.cputime, b.cputime);
  EXPECT_EQ(a.peak_rss_kb, b.peak_rss_kb);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.resultpackage, b.resultpackage);
}

void expect_instance_eq(const Instance& a, const Instance& b, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(a.subid, b.subid);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.timestart, b.timestart);
  EXPECT_EQ(a.timecomplete, b.timecomplete);
  EXPECT_EQ(a.exitcode, b.exitcode);
  EXPECT_EQ(a.reason, b.reason);
}

void expect_job_eq(const Job& a, const Job& b) {
  SCOPED_TRACE("job " + std::to_string(b.id));
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.pgrp, b.pgrp);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.timesubmit, b.timesubmit);
  EXPECT_EQ(a.timestart, b.timestart);
  EXPECT_EQ(a.timecomplete, b.timecomplete);
  EXPECT_EQ(a.reason, b.reason);
  const auto &s = a.spec, &t = b.spec;
  EXPECT_EQ(s.name, t.name);
  EXPECT_EQ(s.type, t.type);
  EXPECT_EQ(s.user, t.user);
  EXPECT_EQ(s.priority, t.priority);
  EXPECT_EQ(s.cpus, t.cpus);
  EXPECT_EQ(s.label, t.label);
  EXPECT_EQ(s.range, t.range);
  EXPECT_EQ(s.chunk, t.chunk);
  EXPECT_EQ(s.partitions, t.partitions);
  EXPECT_EQ(s.padding, t.padding);
  EXPECT_EQ(s.agenda, t.agenda);
  EXPECT_EQ(s.package, t.package);
  EXPECT_EQ(s.env, t.env);
  ASSERT_EQ(s.callbacks.size(), t.callbacks.size());
  for (std::size_t i = 0; i < s.callbacks.size(); ++i) {
    EXPECT_EQ(s.callbacks[i].triggers, t.callbacks[i].triggers);
    EXPECT_EQ(s.callbacks[i].language, t.callbacks[i].language);
    EXPECT_EQ(s.callbacks[i].code, t.callbacks[i].code);
  }
  EXPECT_EQ(s.dependency, t.dependency);
  EXPECT_EQ(s.blocked, t.blocked);
  EXPECT_EQ(s.cwd, t.cwd);
  ASSERT_EQ(a.agenda.size(), b.agenda.size());
  for (std::size_t i = 0; i < a.agenda.size(); ++i) expect_item_eq(a.agenda[i], b.agenda[i], "item " + std::to_string(i));
  ASSERT_EQ(a.instances.size(), b.instances.size());
  for (std::size_t i = 0; i < a.instances.size(); ++i)
    expect_instance_eq(a.instances[i], b.instances[i], "instance " + std::to_string(i));
}


// ------------------------------------------------------------------ every store

INSTANTIATE_TEST_SUITE_P(Store, StoreContract, ::testing::Values(Backend::sqlite, Backend::memory, Backend::postgresql),
                         backend_name);

TEST_P(StoreContract, EmptyStoreLoadsNothing) {
  EXPECT_TRUE(reload().empty());
  EXPECT_EQ(open()->max_job_id(), 0u);
}

TEST_P(StoreContract, PutThenReopenGivesTheSameJobs) {
  Job a = stored_job(1);
  Job b = stored_job(2);
  b.spec.range.clear();
  b.spec.agenda = {"left", "right"};
  b.spec.priority = 1;
  b.spec.blocked = true;
  b.spec.package = {{"cmdline", "echo hi"}};
  b.spec.env.clear();
  b.spec.callbacks.clear();
  b.status = JobStatus::blocked;
  b.pgrp = 1;
  b.pid = 1;
  b.rank = -3;
  b.timestart.reset();
  b.agenda.resize(2);
  b.agenda[0] = AgendaItem{};
  b.agenda[0].name = "left";
  b.agenda[1] = AgendaItem{};
  b.agenda[1].name = "right";
  b.instances.clear();
  Job c = stored_job(10);  // agenda-less, finished
  c.spec.range.clear();
  c.status = JobStatus::complete;
  c.timecomplete = 1700000100.0;
  c.agenda.clear();
  {
    auto store = open();
    store->begin();
    put_all(*store, c);  // the order of writing is not the order of loading
    put_all(*store, a);
    put_all(*store, b);
    store->commit();
  }
  const auto jobs = reload();
  ASSERT_EQ(jobs.size(), 3u);
  expect_job_eq(jobs[0], a);
  EXPECT_EQ(jobs[1].rank, -3);
  expect_job_eq(jobs[1], b);
  expect_job_eq(jobs[2], c);
  EXPECT_EQ(open()->max_job_id(), 10u);
}

// A job's bad hosts live in its document: a document stored before they
// existed has none, and reads as a job without any (no schema change needed).
TEST_P(StoreContract, ExcludedHostsAreKeptWithTheirJob) {
  Job bad = stored_job(3);
  bad.excluded_hosts.push_back(qube::ExcludedHost{"w1", "3 items failed in a row", 1700000050.0});
  const Job plain = stored_job(4);
  {
    auto store = open();
    store->begin();
    put_all(*store, bad);
    put_all(*store, plain);
    store->commit();
  }
  const auto jobs = reload();
  ASSERT_EQ(jobs.size(), 2u);
  ASSERT_EQ(jobs[0].excluded_hosts.size(), 1u);
  EXPECT_EQ(jobs[0].excluded_hosts[0].host, "w1");
  EXPECT_EQ(jobs[0].excluded_hosts[0].reason, "3 items failed in a row");
  EXPECT_EQ(jobs[0].excluded_hosts[0].since, 1700000050.0);
  EXPECT_TRUE(jobs[1].excluded_hosts.empty());
}

TEST_P(StoreContract, LaterPutsReplaceEarlierOnes) {
  Job j = stored_job(5);
  {
    auto store = open();
    store->begin();
    put_all(*store, j);
    store->commit();
    // The next group commit: the pending item runs, the job's status moves on.
    j.agenda[2].status = WorkStatus::running;
    j.agenda[2].attempts = 3;
    j.agenda[2].attempt_id = 3;
    j.agenda[2].host = "render03";
    j.agenda[2].subid = 2;
    j.status = JobStatus::failed;
    j.reason = "an item failed";
    j.timecomplete = 1700000200.5;
    Instance i2;
    i2.subid = 2;
    i2.host = "render03";
    i2.status = JobStatus::running;
    j.instances.push_back(i2);
    j.instances[1].status = JobStatus::failed;
    j.instances[1].exitcode = 137;
    store->begin();
    store->put_job(j);
    store->put_item(j.id, 2, j.agenda[2]);
    store->put_instance(j.id, j.instances[1]);
    store->put_instance(j.id, j.instances[2]);
    store->commit();
  }
  const auto jobs = reload();
  ASSERT_EQ(jobs.size(), 1u);
  expect_job_eq(jobs[0], j);
}

TEST_P(StoreContract, UncommittedChangesAreNotLoaded) {
  {
    auto store = open();
    store->begin();
    put_all(*store, stored_job(1));
    store->commit();
    store->begin();
    put_all(*store, stored_job(2));
    Job changed = stored_job(1);
    changed.status = JobStatus::killed;
    store->put_job(changed);
    store->remove_job(1);
    put_all(*store, changed);
    store->put_farm_settings(Json{{"hosts", Json::object()}});
    // The store itself reads its own writes before the commit ...
    const auto seen = store->load([](const std::string& m) { ADD_FAILURE() << m; });
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].status, JobStatus::killed);
    EXPECT_EQ(store->max_job_id(), 2u);
    // ... but it is closed without commit.
  }
  const auto jobs = reload();
  ASSERT_EQ(jobs.size(), 1u);
  expect_job_eq(jobs[0], stored_job(1));
  EXPECT_EQ(open()->max_job_id(), 1u);
  EXPECT_EQ(open()->load_farm_settings([](const std::string& m) { ADD_FAILURE() << m; }), Json::object());
}

TEST_P(StoreContract, WritesOutsideATransactionAreKeptAtOnce) {
  {
    auto store = open();
    put_all(*store, stored_job(3));
    store->put_farm_settings(Json{{"resources", Json::object()}});
  }
  const auto jobs = reload();
  ASSERT_EQ(jobs.size(), 1u);
  expect_job_eq(jobs[0], stored_job(3));
  EXPECT_EQ(open()->load_farm_settings([](const std::string&) {}), (Json{{"resources", Json::object()}}));
}

TEST_P(StoreContract, TransactionsDoNotNestAndACommitNeedsABegin) {
  auto store = open();
  EXPECT_THROW(store->commit(), std::runtime_error);
  store->begin();
  EXPECT_THROW(store->begin(), std::runtime_error);
  put_all(*store, stored_job(4));
  store->commit();  // the first transaction is still the open one
  EXPECT_THROW(store->commit(), std::runtime_error);
  store.reset();
  EXPECT_EQ(reload().size(), 1u);
}

TEST_P(StoreContract, RemovedJobsAreNotLoadedAndTheirRowsDoNotComeBack) {
  {
    auto store = open();
    store->begin();
    put_all(*store, stored_job(1));
    put_all(*store, stored_job(2));
    store->commit();
    store->begin();
    store->remove_job(1);
    store->commit();
  }
  auto jobs = reload();
  ASSERT_EQ(jobs.size(), 1u);
  expect_job_eq(jobs[0], stored_job(2));
  {
    auto store = open();
    store->remove_job(99);  // nothing to remove is not an error
    // The same id again, with no agenda or instances of its own: none of job
    // 2's old rows may come back with it.
    store->remove_job(2);
    Job bare = stored_job(2);
    bare.agenda.clear();
    bare.instances.clear();
    store->put_job(bare);
  }
  jobs = reload();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(jobs[0].agenda.empty());
  EXPECT_TRUE(jobs[0].instances.empty());
}

TEST_P(StoreContract, RowsOfAJobNeverStoredAreReportedOnceAndNotLoaded) {
  Job j = stored_job(6);
  {
    auto store = open();
    store->put_item(j.id, 0, j.agenda[0]);
    store->put_instance(j.id, j.instances[0]);
  }
  std::vector<std::string> bad;
  EXPECT_TRUE(reload(&bad).empty());
  EXPECT_EQ(bad, std::vector<std::string>{"rows of job 6, which has no job row"});
  EXPECT_EQ(open()->max_job_id(), 0u);
}

TEST_P(StoreContract, AJobWithAHoleInItsAgendaIsReportedAndDroppedButItsIdIsKept) {
  Job j = stored_job(12);
  {
    auto store = open();
    put_all(*store, stored_job(3));
    store->put_job(j);
    store->put_item(j.id, 0, j.agenda[0]);
    store->put_item(j.id, 2, j.agenda[2]);  // no item 1
  }
  std::vector<std::string> bad;
  const auto jobs = reload(&bad);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, 3u);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "job 12 item 2: agenda index out of order");
  EXPECT_EQ(open()->max_job_id(), 12u);  // ids are never reused, loaded or not
}

TEST_P(StoreContract, FarmSettingsAreKeptWhole) {
  std::vector<std::string> bad;
  const auto note = [&](const std::string& m) { bad.push_back(m); };
  EXPECT_EQ(open()->load_farm_settings(note), Json::object());
  const Json settings{{"hosts", {{"w", {{"locked", true}, {"facts", {{"groups", "fx"}}}}}}},
                      {"resources", {{"license.nuke", {{"total", 3}, {"config", 1}}}}}};
  {
    auto store = open();
    store->begin();
    store->put_farm_settings(Json{{"hosts", Json::object()}});
    store->put_farm_settings(settings);  // the later document replaces the earlier
    store->commit();
  }
  EXPECT_EQ(open()->load_farm_settings(note), settings);
  EXPECT_TRUE(bad.empty());
  EXPECT_TRUE(reload().empty()) << "settings are not a job";
}

TEST_P(StoreContract, FarmSettingsThatAreNotAnObjectAreReportedAndEmpty) {
  open()->put_farm_settings(Json::array({1, 2}));
  std::vector<std::string> bad;
  EXPECT_EQ(open()->load_farm_settings([&](const std::string& m) { bad.push_back(m); }), Json::object());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0], "farm settings (host locks and changes, resource totals): not an object");
}

TEST_P(StoreContract, RemovingTheNewestJobsKeepsTheirIdsUsed) {
  {
    auto store = open();
    store->begin();
    for (JobId id = 1; id <= 5; ++id) put_all(*store, stored_job(id));
    store->commit();
    store->begin();
    for (JobId id : {3, 4, 5}) store->remove_job(id);
    store->commit();
  }
  EXPECT_EQ(reload().size(), 2u);
  EXPECT_EQ(open()->max_job_id(), 5u) << "ids 3 to 5 were handed out: never again";
  {
    auto store = open();  // rewriting an older job never lowers the mark
    store->put_job(stored_job(1));
  }
  EXPECT_EQ(open()->max_job_id(), 5u);
}

TEST_P(StoreContract, TheJobIdMarkRisesOnlyWithItsCommit) {
  {
    auto store = open();
    store->put_job(stored_job(2));
    store->begin();
    store->put_job(stored_job(9));
    store->remove_job(9);
    EXPECT_EQ(store->max_job_id(), 9u) << "a store reads its own transaction";
  }  // closed without commit
  EXPECT_EQ(open()->max_job_id(), 2u);
}

TEST_P(StoreContract, SubmissionTokensAreKeptWithTheirJobsAndGoWithThem) {
  {
    auto store = open();
    store->begin();
    for (JobId id = 1; id <= 3; ++id) put_all(*store, stored_job(id));
    store->put_submission({"alice", "t1", {1, 2}});
    store->put_submission({"bob", "t1", {3}});  // another user's token of the same name
    store->commit();
  }
  auto records = open()->load_submissions();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].user, "alice");
  EXPECT_EQ(records[0].token, "t1");
  EXPECT_EQ(records[0].ids, (std::vector<JobId>{1, 2}));
  EXPECT_EQ(records[1].user, "bob");
  EXPECT_EQ(records[1].ids, (std::vector<JobId>{3}));
  {
    auto store = open();
    store->begin();
    store->remove_job(2);
    store->remove_job(3);
    store->commit();
  }
  records = open()->load_submissions();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].ids, (std::vector<JobId>{1}));
}

// ------------------------------------------------------------------ the sqlite store's file

TEST_F(StoreTest, AStoreFromBeforeTheJobIdMarkStartsItFromItsJobs) {
  {
    auto store = open();
    for (JobId id = 1; id <= 4; ++id) store->put_job(stored_job(id));
  }
  raw_sql("DROP TABLE counters");
  raw_sql("DROP TABLE submissions");
  raw_sql("DROP TABLE schema_version");  // such a store predates versions too
  EXPECT_EQ(open()->max_job_id(), 4u);
  EXPECT_EQ(count("SELECT MAX(version) FROM schema_version"), 2) << "upgraded to the latest version (2: quarantine)";
  {
    auto store = open();  // migrated: from now on the mark is kept
    store->remove_job(4);
    EXPECT_TRUE(store->load_submissions().empty());
  }
  EXPECT_EQ(open()->max_job_id(), 4u);
  EXPECT_EQ(count("SELECT value FROM counters WHERE name = 'job_id'"), 4);
}

// A job row holds its spec once, under "spec"; a row of the older shape (the spec
// spread over the top level as well) still loads as it was.
TEST_F(StoreTest, AJobRowHoldsItsSpecOnceAndRowsOfTheOlderShapeStillLoad) {
  {
    auto store = open();
    put_all(*store, stored_job(1));
    put_all(*store, stored_job(2));
  }
  Job older = stored_job(2);
  Json older_doc = qube::to_json(older, false);
  older_doc["spec"] = qube::to_json(older.spec);
  raw_blob("UPDATE jobs SET doc = ?2 WHERE id = ?1", {2}, qube::encode(older_doc));

  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(h, "SELECT doc FROM jobs WHERE id = 1", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  const Json doc = qube::decode(std::string_view(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                                                 static_cast<std::size_t>(sqlite3_column_bytes(st, 0))));
  sqlite3_finalize(st);
  sqlite3_close(h);
  EXPECT_EQ(doc.at("spec").at("name"), stored_job(1).spec.name);
  for (const char* spread : {"name", "type", "user", "package", "env", "callbacks"})
    EXPECT_FALSE(doc.contains(spread)) << "the spec's '" << spread << "' is on the top level too: " << doc.dump();

  const auto jobs = reload();
  ASSERT_EQ(jobs.size(), 2u);
  expect_job_eq(jobs[0], stored_job(1));
  expect_job_eq(jobs[1], stored_job(2));
}

TEST_F(StoreTest, OpeningCreatesTheFile) {
  EXPECT_TRUE(reload().empty());
  EXPECT_TRUE(fs::exists(db()));
}

TEST_F(StoreTest, UnreadableRowsAreReportedAndSkipped) {
  {
    auto store = open_sqlite_store(db());
    store->begin();
    put_all(*store, stored_job(1));
    put_all(*store, stored_job(3));
    put_all(*store, stored_job(7));
    put_all(*store, stored_job(8));
    put_all(*store, stored_job(9));
    store->commit();
  }
  // Job 2: bytes that are not MessagePack at all, with items of its own.
  raw_blob("INSERT INTO jobs(id, doc) VALUES(?, ?)", {2}, std::string("\xc1\xc1\xff\x00garbage", 11));
  raw_blob("INSERT INTO items(job, idx, doc) VALUES(?, ?, ?)", {2, 0},
           qube::encode(qube::to_json(AgendaItem{})));
  // Job 4: valid MessagePack, but not a map.
  raw_blob("INSERT INTO jobs(id, doc) VALUES(?, ?)", {4}, qube::encode(Json(42)));
  // Job 5: a map whose spec has a field of the wrong type.
  raw_blob("INSERT INTO jobs(id, doc) VALUES(?, ?)", {5},
           qube::encode(Json{{"id", 5}, {"status", "running"}, {"spec", {{"priority", "high"}}}}));
  // Job 6: an unknown status, stored as text rather than a blob; no spec at all.
  raw_sql("INSERT INTO jobs(id, doc) VALUES(6, 'not a document')");
  raw_blob("INSERT INTO jobs(id, doc) VALUES(?, ?)", {11},
           qube::encode(Json{{"id", 11}, {"status", "exploded"}, {"spec", Json::object()}}));
  // Job 7: one of its agenda items is garbage: the whole job is dropped.
  raw_sql("UPDATE items SET doc = x'c1' WHERE job = 7 AND idx = 1");
  // Job 8: a hole in its agenda: dropped too.
  raw_sql("DELETE FROM items WHERE job = 8 AND idx = 0");
  // Job 9: one instance is garbage: reported, the job kept without it.
  raw_sql("UPDATE instances SET doc = x'00' WHERE job = 9 AND subid = 0");

  std::vector<std::string> bad;
  const auto jobs = reload(&bad);
  std::map<JobId, const Job*> by_id;
  for (const auto& j : jobs) by_id[j.id] = &j;
  ASSERT_EQ(by_id.size(), 3u);
  ASSERT_TRUE(by_id.count(1));
  ASSERT_TRUE(by_id.count(3));
  ASSERT_TRUE(by_id.count(9));
  expect_job_eq(*by_id[1], stored_job(1));
  expect_job_eq(*by_id[3], stored_job(3));
  ASSERT_EQ(by_id[9]->instances.size(), 1u);
  EXPECT_EQ(by_id[9]->instances[0].subid, 1);
  EXPECT_EQ(by_id[9]->agenda.size(), 3u);

  std::string all;
  for (const auto& m : bad) all += "[" + m + "] ";
  EXPECT_EQ(bad.size(), 8u) << all;
  auto reported = [&](const std::string& prefix) {
    for (const auto& m : bad)
      if (m.rfind(prefix, 0) == 0) return true;
    return false;
  };
  for (const char* prefix : {"job 2:", "job 4:", "job 5:", "job 6:", "job 11:", "job 7 item 1:", "job 8 item 1:",
                             "instance of job 9:"})
    EXPECT_TRUE(reported(prefix)) << "no report starting with '" << prefix << "': " << all;
  for (const auto& m : bad) EXPECT_GT(m.size(), 8u) << "a report without a reason: " << m;

  // The store stays usable after a load with bad rows.
  auto store = open_sqlite_store(db());
  store->begin();
  put_all(*store, stored_job(12));
  store->commit();
}

TEST_F(StoreTest, AnUnreadableFarmSettingsDocumentIsReportedAndEmpty) {
  open()->put_farm_settings(Json{{"hosts", Json::object()}});
  raw_sql("UPDATE settings SET doc = x'c1'");
  std::vector<std::string> bad;
  EXPECT_EQ(open()->load_farm_settings([&](const std::string& m) { bad.push_back(m); }), Json::object());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("farm settings"), std::string::npos) << bad[0];
}

TEST_F(StoreTest, RemoveJobDeletesAllItsRowsFromTheFile) {
  {
    auto store = open();
    put_all(*store, stored_job(1));
    put_all(*store, stored_job(2));
    store->remove_job(1);
  }
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE id = 1"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM items WHERE job = 1"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM instances WHERE job = 1"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM items WHERE job = 2"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM instances WHERE job = 2"), 2);
}

// The loop's commits only append to the WAL: copying it into the file (and the
// fsyncs that takes) is a thread's (sqlite_checkpointer.hpp). A checkpoint inside
// a commit held the event loop 50 to 225 ms on a slow disk.
TEST_F(StoreTest, TheWalIsCopiedIntoTheFileApartFromTheCommits) {
  namespace sqlite = qube::supervisor::sqlite;
  const std::string path = (dir_ / "apart.db").string();
  sqlite::Database db(path, {.what = "test", .prefix = "test", .busy_timeout_ms = 5000, .checkpoint_apart = true});
  {
    sqlite::Statement automatic(db, "PRAGMA wal_autocheckpoint");
    ASSERT_TRUE(automatic.next_row());
    EXPECT_EQ(automatic.column_int64(0), 0) << "SQLite would still checkpoint inside a commit";
  }
  db.exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)");
  // About twice the pages at which a checkpoint is due, in commits of 100 rows.
  const std::string row(4000, 'x');
  const int rows = 2 * sqlite::Checkpointer::kPagesDue;
  for (int k = 0; k < rows; k += 100) {
    sqlite::Transaction tx(db);
    sqlite::Statement put(db, "INSERT INTO t(k, v) VALUES(?, ?)");
    for (int i = k; i < k + 100; ++i) {
      put.bind(1, i).bind_blob(2, row).run();
      put.reset();
    }
    tx.commit();
  }
  // Copied while the database stays open (closing would checkpoint too).
  const auto copied = [&] { return fs::file_size(path) >= static_cast<std::uintmax_t>(sqlite::Checkpointer::kPagesDue) * 4096; };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!copied() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(copied()) << "the database file holds " << fs::file_size(path) << " bytes: the WAL was never copied";
}

TEST_F(StoreTest, OpeningAnImpossiblePathThrows) {
  EXPECT_THROW(open_sqlite_store((dir_ / "missing" / "dir" / "qube.db").string()), std::runtime_error);
}

// ------------------------------------------------------------------ schema versions

TEST(SchemaUpgrade, RunsEachNewerVersionInOrderAndRefusesANewerStore) {
  std::vector<int> ran;
  qube::supervisor::upgrade_schema("store x", 0, 3, [&](int v) { ran.push_back(v); });
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  ran.clear();
  qube::supervisor::upgrade_schema("store x", 2, 3, [&](int v) { ran.push_back(v); });
  EXPECT_EQ(ran, (std::vector<int>{3}));
  ran.clear();
  qube::supervisor::upgrade_schema("store x", 3, 3, [&](int v) { ran.push_back(v); });
  EXPECT_TRUE(ran.empty());
  try {
    qube::supervisor::upgrade_schema("store x", 4, 3, [&](int v) { ran.push_back(v); });
    ADD_FAILURE() << "a newer schema was accepted";
  } catch (const SchemaTooNew& e) {
    EXPECT_NE(std::string(e.what()).find("store x has schema version 4, newer than the 3"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(ran.empty());
}

// Schema versions as each real store keeps them (table schema_version).
class SchemaVersions : public StoreTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    StoreTestBase::SetUp();
    if (GetParam() == Backend::postgresql) QUBE_NEW_PG_DATABASE(pg_database_);
  }
  std::unique_ptr<Store> open() override {
    return open_store(GetParam() == Backend::sqlite ? "sqlite" : pg_->uri(pg_database_), dir_).store;
  }
  // The one value `sql` selects, as text.
  std::string value(const std::string& sql) {
    if (GetParam() == Backend::postgresql) return pg_->psql(pg_database_, sql).value_or("(psql failed)");
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    std::string out = "(no row)";
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    else if (!st)
      out = sqlite3_errmsg(h);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
  }
  std::string latest() const { return GetParam() == Backend::postgresql ? "3" : "2"; }
  PgCluster* pg_ = nullptr;
  std::string pg_database_;
};

INSTANTIATE_TEST_SUITE_P(Store, SchemaVersions, ::testing::Values(Backend::sqlite, Backend::postgresql), backend_name);

TEST_P(SchemaVersions, ANewStoreIsAtTheLatestVersionAndReopeningUpgradesNothing) {
  open()->put_job(stored_job(1));
  // 2: the quarantine table; PostgreSQL's 3: the standby supervisors' lease.
  EXPECT_EQ(value("SELECT MAX(version) FROM schema_version"), latest());
  const std::string rows = value("SELECT COUNT(*) FROM schema_version");
  EXPECT_EQ(reload().size(), 1u);
  EXPECT_EQ(value("SELECT COUNT(*) FROM schema_version"), rows);
}

TEST_P(SchemaVersions, AStoreOfANewerVersionIsRefusedUntouched) {
  open()->put_job(stored_job(1));
  const std::string insert = GetParam() == Backend::sqlite
                                 ? "INSERT INTO schema_version(version, applied) VALUES(99, 0)"
                                 : "INSERT INTO schema_version(version) VALUES(99)";
  if (GetParam() == Backend::postgresql) ASSERT_TRUE(pg_->psql(pg_database_, insert));
  else value(insert + " RETURNING version");
  ASSERT_EQ(value("SELECT MAX(version) FROM schema_version"), "99");
  try {
    open();
    ADD_FAILURE() << "a store of version 99 was opened";
  } catch (const SchemaTooNew& e) {
    EXPECT_NE(std::string(e.what()).find("has schema version 99, newer than the " + latest() + " this qbsupervisor knows"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(value("SELECT COUNT(*) FROM jobs"), "1");
}

// ------------------------------------------------------------------ a PostgreSQL server that goes away

class PgStoreTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    QUBE_NEW_PG_DATABASE(database_);
  }
  void TearDown() override {
    if (pg_) pg_->start();  // for the binary's next test, should this one fail halfway
    TempDirTest::TearDown();
  }
  PgCluster* pg_ = nullptr;
  std::string database_;
};

TEST_F(PgStoreTest, ACommitWhileTheServerIsAwayIsNotKeptAndTheStoreReconnects) {
  auto store = open_store(pg_->uri(database_), dir_).store;
  store->begin();
  put_all(*store, stored_job(1));
  store->commit();
  ASSERT_TRUE(pg_->stop());
  // The round that cannot be written: beginning or committing it says why.
  const auto write_round = [&] {
    store->begin();
    put_all(*store, stored_job(2));
    store->commit();
  };
  EXPECT_THROW(write_round(), StoreUnavailable);
  EXPECT_THROW(store->max_job_id(), StoreUnavailable) << "still away";
  ASSERT_TRUE(pg_->start());
  // The same round again, as the supervisor does, until the store has reconnected.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool written = false;
  while (!written && std::chrono::steady_clock::now() < deadline) {
    try {
      write_round();
      written = true;
    } catch (const StoreUnavailable&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the store's backoff decides; this only polls
    }
  }
  ASSERT_TRUE(written) << "the store did not reconnect within 20 s";
  auto reopened = open_store(pg_->uri(database_), dir_).store;
  const auto jobs = reopened->load([](const std::string& m) { ADD_FAILURE() << m; });
  ASSERT_EQ(jobs.size(), 2u);
  expect_job_eq(jobs[1], stored_job(2));
  EXPECT_EQ(reopened->max_job_id(), 2u);
}

TEST_F(PgStoreTest, AServerThatCannotBeReachedAtOpenIsAnError) {
  try {
    open_store("postgresql://qube@127.0.0.1:1/nowhere", dir_);
    ADD_FAILURE() << "opened a store on a closed port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open store postgresql://qube@127.0.0.1:1/nowhere"), std::string::npos)
        << e.what();
  }
}

// ------------------------------------------------------------------ every event log

FarmEvent event(JobId job, double time, const std::string& name, bool history = true) {
  FarmEvent e;
  e.job = job;
  e.time = time;
  e.name = name;
  e.type = "job";
  e.text = name + " at " + std::to_string(time);
  e.history = history;
  return e;
}

// What every EventLog promises (event_log.hpp), against each implementation.
class EventLogContract : public TempDirTest, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    if (GetParam() == Backend::postgresql) QUBE_NEW_PG_DATABASE(pg_database_);
  }
  std::unique_ptr<EventLog> open() {
    switch (GetParam()) {
      case Backend::sqlite: return open_event_log((dir_ / "events.db").string());
      case Backend::memory: return open_memory_event_log();
      case Backend::postgresql: break;
    }
    return open_store(pg_->uri(pg_database_), dir_).events;
  }
  PgCluster* pg_ = nullptr;
  std::string pg_database_;
};

INSTANTIATE_TEST_SUITE_P(EventLog, EventLogContract,
                         ::testing::Values(Backend::sqlite, Backend::memory, Backend::postgresql), backend_name);

TEST_P(EventLogContract, KeepsEachJobsHistoryEventsOldestFirst) {
  auto log = open();
  FarmEvent work = event(1, 1700000001.25, "failed");
  work.type = "work";
  work.work = "3-4";
  work.subid = 2;
  work.host = "render02";
  work.who = "alice";
  log->append({event(1, 1700000000.5, "submit"), event(2, 1700000000.75, "submit"),
               event(1, 1700000001.0, "complete", false), work});
  log->append({});
  log->append({event(1, 1700000002.0, "complete", false)});  // nothing to keep
  log->append({event(1, 1700000003.0, "retried")});
  const Json expected = Json::array({qube::supervisor::to_json(event(1, 1700000000.5, "submit")),
                                     qube::supervisor::to_json(work),
                                     qube::supervisor::to_json(event(1, 1700000003.0, "retried"))});
  EXPECT_EQ(log->read(1, 100), expected);
  EXPECT_EQ(log->read(2, 100), Json::array({qube::supervisor::to_json(event(2, 1700000000.75, "submit"))}));
  EXPECT_EQ(log->read(3, 100), Json::array());
}

TEST_P(EventLogContract, ReadGivesTheLastLimitEventsOldestFirst) {
  auto log = open();
  std::vector<FarmEvent> events;
  for (int n = 0; n < 5; ++n) events.push_back(event(7, 1700000000.0 + n, "modified " + std::to_string(n)));
  log->append(events);
  const Json last_two = Json::array({qube::supervisor::to_json(events[3]), qube::supervisor::to_json(events[4])});
  EXPECT_EQ(log->read(7, 2), last_two);
  EXPECT_EQ(log->read(7, 5).size(), 5u);
  EXPECT_EQ(log->read(7, 50).size(), 5u);
  EXPECT_EQ(log->read(7, 0), Json::array());
}

TEST_P(EventLogContract, RemoveForgetsOneJob) {
  auto log = open();
  log->append({event(1, 1.0, "submit"), event(2, 2.0, "submit"), event(1, 3.0, "killed")});
  log->remove(1);
  log->remove(99);  // nothing there: not an error
  EXPECT_EQ(log->read(1, 100), Json::array());
  EXPECT_EQ(log->read(2, 100).size(), 1u);
  log->append({event(1, 4.0, "submit")});
  EXPECT_EQ(log->read(1, 100).size(), 1u);
}

// ------------------------------------------------------------------ the sqlite event log's file

class EventLogTest : public TempDirTest {};

TEST_F(EventLogTest, HistorySurvivesAReopen) {
  const auto path = (dir_ / "events.db").string();
  open_event_log(path)->append({event(4, 1.0, "submit"), event(4, 2.0, "complete")});
  EXPECT_EQ(open_event_log(path)->read(4, 100).size(), 2u);
  EXPECT_THROW(open_event_log((dir_ / "missing" / "events.db").string()), std::runtime_error);
}

// ------------------------------------------------------------------ logs

class LogStoreTest : public TempDirTest {};

TEST_F(LogStoreTest, AppendThenReadWithOffsetAndLimit) {
  LogStore logs(dir_ / "logs");
  logs.append(4, 0, false, "hello ");
  logs.append(4, 0, false, "world\n");
  logs.append(4, 0, true, "oops\n");
  logs.append(4, 1, false, "other instance");
  logs.append(4, 0, false, "");

  std::uint64_t size = 99;
  EXPECT_EQ(logs.read(4, 0, false, 0, 1 << 20, size), "hello world\n");
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(logs.read(4, 0, false, 6, 3, size), "wor");
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(logs.read(4, 0, false, 6, 100, size), "world\n");
  EXPECT_EQ(logs.read(4, 0, false, 11, 100, size), "\n");
  EXPECT_EQ(logs.read(4, 0, false, 12, 100, size), "");
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(logs.read(4, 0, false, 1000, 100, size), "");
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(logs.read(4, 0, false, 0, 0, size), "");
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(logs.read(4, 0, true, 0, 100, size), "oops\n");
  EXPECT_EQ(size, 5u);
  EXPECT_EQ(logs.read(4, 1, false, 0, 100, size), "other instance");
  EXPECT_TRUE(fs::exists(dir_ / "logs" / "4" / "0.out"));
  EXPECT_TRUE(fs::exists(dir_ / "logs" / "4" / "0.err"));
}

// A stream's size is where an item's output begins: a job without a log
// directory has none (known without a stat per stream); one written before a
// restart has its files' sizes.
TEST_F(LogStoreTest, SizesOfStreamsWrittenBeforeARestartAndOfNone) {
  {
    LogStore before(dir_ / "logs");
    before.append(7, 0, false, "12345");
  }
  LogStore logs(dir_ / "logs");
  EXPECT_EQ(logs.size(8, 0, false), 0u);
  EXPECT_EQ(logs.size(7, 0, false), 5u);
  EXPECT_EQ(logs.size(7, 1, false), 0u);
  logs.append(8, 3, true, "ab");
  EXPECT_EQ(logs.size(8, 3, true), 2u);
  logs.remove(7);
  EXPECT_EQ(logs.size(7, 0, false), 0u);
  logs.append(7, 0, false, "x");
  EXPECT_EQ(logs.size(7, 0, false), 1u);
}

// Output placed by its offset in the stream (LogReport::offset): sent again, it
// is stored once; after a gap, the gap says so and what follows still lines up.
TEST_F(LogStoreTest, OutputPlacedByItsOffsetIsStoredOnceAndAGapIsSaid) {
  LogStore logs(dir_ / "logs");
  std::uint64_t size = 0;
  logs.append_at(5, 0, false, 0, "abc");
  logs.append_at(5, 0, false, 0, "abc");    // all of it again
  logs.append_at(5, 0, false, 1, "bcdef");  // part again
  EXPECT_EQ(logs.read(5, 0, false, 0, 100, size), "abcdef");
  logs.append_at(5, 0, false, 6 + 100, "after");  // 100 bytes never came
  const std::string all = logs.read(5, 0, false, 0, 1000, size);
  EXPECT_EQ(size, 111u);
  EXPECT_EQ(all.substr(106), "after");
  EXPECT_NE(all.find("[100 bytes of output lost]"), std::string::npos) << all;
  logs.append_at(5, 0, false, 106, "after, again");  // lines up: only the new part
  EXPECT_EQ(logs.read(5, 0, false, 106, 1000, size), "after, again");
  logs.append_at(5, 0, false, 118 + 3, "x");  // a gap too short to say it in
  EXPECT_EQ(logs.read(5, 0, false, 118, 1000, size), "...x");
  // A gap past kGapWrittenUpTo: the notice, then a hole; the length still the stream's.
  const std::uint64_t far = 122 + LogStore::kGapWrittenUpTo + 1;
  logs.append_at(5, 0, false, far, "end");
  EXPECT_EQ(logs.size(5, 0, false), far + 3);
  EXPECT_EQ(logs.read(5, 0, false, far, 10, size), "end");
  EXPECT_NE(logs.read(5, 0, false, 122, 100, size).find("bytes of output lost"), std::string::npos);
}

TEST_F(LogStoreTest, FollowingAGrowingStream) {
  LogStore logs(dir_ / "logs");
  std::string seen;
  std::uint64_t offset = 0, size = 0;
  for (int n = 0; n < 5; ++n) {
    logs.append(1, 2, false, "line " + std::to_string(n) + "\n");
    for (;;) {
      const std::string chunk = logs.read(1, 2, false, offset, 4, size);
      if (chunk.empty()) break;
      seen += chunk;
      offset += chunk.size();
    }
    EXPECT_EQ(offset, size);
  }
  EXPECT_EQ(seen, "line 0\nline 1\nline 2\nline 3\nline 4\n");
}

TEST_F(LogStoreTest, BinaryDataSurvives) {
  LogStore logs(dir_ / "logs");
  const std::string data("a\0b\r\n\xff\x00z", 8);
  logs.append(3, 0, true, data);
  std::uint64_t size = 0;
  EXPECT_EQ(logs.read(3, 0, true, 0, 100, size), data);
  EXPECT_EQ(size, data.size());
}

TEST_F(LogStoreTest, MissingStreamReadsEmptyAndRemoveDeletes) {
  LogStore logs(dir_ / "logs");
  std::uint64_t size = 77;
  EXPECT_EQ(logs.read(9, 0, false, 0, 100, size), "");
  EXPECT_EQ(size, 0u);
  logs.append(9, 0, false, "abc");
  logs.append(10, 0, false, "keep");
  logs.remove(9);
  EXPECT_EQ(logs.read(9, 0, false, 0, 100, size), "");
  EXPECT_EQ(size, 0u);
  EXPECT_FALSE(fs::exists(dir_ / "logs" / "9"));
  EXPECT_EQ(logs.read(10, 0, false, 0, 100, size), "keep");
  logs.remove(12345);  // nothing there: not an error
}

}  // namespace
