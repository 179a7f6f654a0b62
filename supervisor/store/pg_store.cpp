#include "pg_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "farm.hpp"
#include "open_store.hpp"
#include "pg_db.hpp"
#include "pg_schema.hpp"
#include "qube/codec.hpp"
#include "store_loading.hpp"

namespace qube::supervisor {

namespace {

// The statements every connection prepares. The row writes take arrays, so
// that one statement (one round trip) writes all of a round's rows of a table.
void prepare_store(pqxx::connection& c) {
  c.prepare("put_jobs",
            "INSERT INTO jobs(id, doc) SELECT i, decode(d, 'hex') FROM unnest($1::bigint[], $2::text[]) AS r(i, d)"
            " ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc");
  c.prepare("put_items",
            "INSERT INTO items(job, idx, doc) SELECT j, i, decode(d, 'hex')"
            " FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS r(j, i, d)"
            " ON CONFLICT (job, idx) DO UPDATE SET doc = EXCLUDED.doc");
  c.prepare("put_instances",
            "INSERT INTO instances(job, subid, doc) SELECT j, s, decode(d, 'hex')"
            " FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS r(j, s, d)"
            " ON CONFLICT (job, subid) DO UPDATE SET doc = EXCLUDED.doc");
  c.prepare("raise_job_mark", "UPDATE counters SET value = $1 WHERE name = 'job_id' AND value < $1");
  c.prepare("job_mark", "SELECT value FROM counters WHERE name = 'job_id'");
  // One statement for the four tables: data-modifying CTEs all run.
  c.prepare("remove_job",
            "WITH i AS (DELETE FROM items WHERE job = $1), n AS (DELETE FROM instances WHERE job = $1),"
            " s AS (DELETE FROM submissions WHERE job = $1) DELETE FROM jobs WHERE id = $1");
  c.prepare("remove_job_row",
            "WITH n AS (DELETE FROM instances WHERE job = $1), s AS (DELETE FROM submissions WHERE job = $1)"
            " DELETE FROM jobs WHERE id = $1");
  c.prepare("remove_items", "DELETE FROM items WHERE job = $1 AND idx >= $2 AND idx < $3");
  c.prepare("put_settings",
            "INSERT INTO settings(name, doc) VALUES('farm', decode($1, 'hex'))"
            " ON CONFLICT (name) DO UPDATE SET doc = EXCLUDED.doc");
  // FOR SHARE: a takeover (an UPDATE of the row) waits until this commit ends,
  // so that the new active loads what this one wrote.
  c.prepare("fence", "SELECT epoch FROM lease WHERE id = 1 FOR SHARE");
  c.prepare("put_submissions",
            "INSERT INTO submissions(job, \"user\", token) SELECT j, $2, $3 FROM unnest($1::bigint[]) AS j"
            " ON CONFLICT (job) DO UPDATE SET \"user\" = EXCLUDED.\"user\", token = EXCLUDED.token");
}

std::string bytes_of(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

class PgStore final : public Store {
 public:
  PgStore(const std::string& uri, std::int64_t epoch)
      : link_(uri, "store " + printable_store_setting(uri),
              [epoch](pqxx::connection& c) {
                prepare_store(c);
                // A fenced commit holds the lease row: should this process be
                // paused in the middle of one, the server ends its session, so
                // that a standby can take the lease over (and this commit never lands).
                if (epoch > 0) pqxx::nontransaction(c).exec("SET idle_in_transaction_session_timeout = '3s'");
              }),
        epoch_(epoch) {
    link_.run([&](pqxx::connection& c) { pg::migrate_store_schema(c, link_.what()); });
    job_mark_ = max_job_id();
  }

  ~PgStore() override { txn_.reset(); }  // aborted: closed without commit

  void begin() override {
    if (txn_) throw std::runtime_error(link_.what() + ": begin inside a transaction");
    try {
      link_.run([&](pqxx::connection& c) { txn_ = std::make_unique<pqxx::work>(c); });
    } catch (...) {
      abandon();
      throw;
    }
  }

  // Writes what the round buffered, then commits. A failure leaves nothing of
  // the round behind: the caller writes its rows again once the store is back.
  void commit() override {
    if (!txn_) throw std::runtime_error(link_.what() + ": commit without begin");
    in_txn([&](pqxx::work& t) {
      check_fence(t);
      flush(t);
      t.commit();
    });
    txn_.reset();
  }

  void put_job(const Job& job) override {
    const Json doc = to_stored_json(job);
    buffered([&] { pending_.jobs[job.id] = pg::hex(encode(doc)); });
  }

  void put_item(JobId job, std::size_t index, const AgendaItem& item) override {
    buffered([&] { pending_.items[{job, static_cast<std::int64_t>(index)}] = pg::hex(encode_item(item)); });
  }

  void put_instance(JobId job, const Instance& inst) override {
    buffered([&] { pending_.instances[{job, inst.subid}] = pg::hex(encode(to_json(inst))); });
  }

  void remove_job(JobId job) override {
    transact([&](pqxx::work& t) { t.exec_prepared("remove_job", static_cast<std::int64_t>(job)); });
  }

  void remove_job_row(JobId job) override {
    transact([&](pqxx::work& t) { t.exec_prepared("remove_job_row", static_cast<std::int64_t>(job)); });
  }

  void remove_items(JobId job, std::size_t from, std::size_t to) override {
    transact([&](pqxx::work& t) {
      t.exec_prepared("remove_items", static_cast<std::int64_t>(job), static_cast<std::int64_t>(from),
                      static_cast<std::int64_t>(std::min<std::size_t>(to, INT64_MAX)));
    });
  }

  JobId max_job_id() override {
    JobId mark = 0;
    transact([&](pqxx::work& t) {
      const pqxx::result r = t.exec_prepared("job_mark");
      if (!r.empty()) mark = static_cast<JobId>(r[0][0].as<std::int64_t>());
    });
    return mark;
  }

  std::vector<Job> load(const std::function<void(const std::string&)>& on_bad_row) override {
    JobAssembler jobs(on_bad_row);
    transact([&](pqxx::work& t) {
      pg::for_each_row(t, "SELECT id, doc FROM jobs ORDER BY id", [&](const pqxx::row& r) {
        jobs.add_job(static_cast<JobId>(r[0].as<std::int64_t>()), [&] {
          return stored_job_from_json(decode(bytes_of(r[1])));
        });
      });
      pg::for_each_row(t, "SELECT job, idx, doc FROM items ORDER BY job, idx", [&](const pqxx::row& r) {
        jobs.add_item(static_cast<JobId>(r[0].as<std::int64_t>()), static_cast<std::size_t>(r[1].as<std::int64_t>()),
                      [&] { return decode_item(bytes_of(r[2])); });
      });
      pg::for_each_row(t, "SELECT job, subid, doc FROM instances ORDER BY job, subid", [&](const pqxx::row& r) {
        jobs.add_instance(static_cast<JobId>(r[0].as<std::int64_t>()), static_cast<std::int32_t>(r[1].as<std::int64_t>()),
                          [&] { return instance_from_json(decode(bytes_of(r[2]))); });
      });
      quarantine_bad(t, jobs);
    });
    return jobs.take();
  }

  void rollback() override { abandon(); }

  std::vector<QuarantinedRow> quarantined() override {
    std::vector<QuarantinedRow> rows;
    transact([&](pqxx::work& t) {
      for (const auto& r : t.exec("SELECT tbl, key, raw, reason, time FROM quarantine ORDER BY id"))
        rows.push_back(QuarantinedRow{r[0].as<std::string>(), r[1].as<std::string>(),
                                      r[2].is_null() ? std::string() : r[2].as<std::string>(), r[3].as<std::string>(),
                                      r[4].as<double>()});
    });
    return rows;
  }

  void put_farm_settings(const Json& settings) override {
    transact([&](pqxx::work& t) { t.exec_prepared("put_settings", pg::hex(encode(settings))); });
  }

  Json load_farm_settings(const std::function<void(const std::string&)>& on_bad_row) override {
    std::optional<std::string> doc;
    transact([&](pqxx::work& t) {
      const pqxx::result r = t.exec("SELECT doc FROM settings WHERE name = 'farm'");
      if (!r.empty()) doc = bytes_of(r[0][0]);
    });
    if (!doc) return Json::object();
    return farm_settings_or_empty([&] { return decode(*doc); }, on_bad_row);
  }

  void put_submission(const SubmissionRecord& record) override {
    std::vector<std::int64_t> ids(record.ids.begin(), record.ids.end());
    transact([&](pqxx::work& t) { t.exec_prepared("put_submissions", pg::int_array(ids), record.user, record.token); });
  }

  std::vector<SubmissionRecord> load_submissions() override {
    SubmissionGrouper rows;
    transact([&](pqxx::work& t) {
      for (const auto& r : t.exec("SELECT job, \"user\", token FROM submissions ORDER BY job"))
        rows.add(static_cast<JobId>(r[0].as<std::int64_t>()), r[1].as<std::string>(), r[2].as<std::string>());
    });
    return rows.take();
  }

 private:
  void check_fence(pqxx::work& t) {
    if (epoch_ <= 0) return;
    const pqxx::result r = t.exec_prepared("fence");
    const std::int64_t now = r.empty() ? 0 : r[0][0].as<std::int64_t>();
    if (now != epoch_)
      throw Fenced(link_.what() + ": this supervisor's lease (epoch " + std::to_string(epoch_) +
                   ") was taken over (epoch " + std::to_string(now) + "); nothing written");
  }

  // Rows put since the last flush, the latest of each key (one multi-row
  // statement may not write a key twice), their documents as hex.
  struct Pending {
    std::map<JobId, std::string> jobs;
    std::map<std::pair<JobId, std::int64_t>, std::string> items;
    std::map<std::pair<JobId, std::int64_t>, std::string> instances;
  };

  // Runs f on the open transaction; any failure ends it.
  void in_txn(const std::function<void(pqxx::work&)>& f) {
    try {
      link_.run([&](pqxx::connection&) { f(*txn_); });
    } catch (...) {
      abandon();
      throw;
    }
  }

  // Runs f after the buffered rows, in the open transaction or, outside one,
  // in a transaction of its own (SQLite's autocommit).
  void transact(const std::function<void(pqxx::work&)>& f) {
    const bool own = !txn_;
    if (own) begin();
    in_txn([&](pqxx::work& t) {
      flush(t);
      f(t);
    });
    if (own) commit();
  }

  // A put: buffered until the commit (or a statement that must come after it);
  // outside a transaction, written at once.
  template <class F>
  void buffered(F&& f) {
    f();
    if (!txn_) transact([](pqxx::work&) {});
  }

  void flush(pqxx::work& t) {
    if (!pending_.jobs.empty()) {
      std::vector<std::int64_t> ids;
      std::vector<std::string> docs;
      for (auto& [id, doc] : pending_.jobs) {
        ids.push_back(static_cast<std::int64_t>(id));
        docs.push_back(std::move(doc));
      }
      t.exec_prepared("put_jobs", pg::int_array(ids), pg::text_array(docs));
      // Only a new job raises the mark (a rolled-back raise leaves job_mark_
      // ahead: that id was never acknowledged, so skipping it is harmless).
      if (const JobId newest = pending_.jobs.rbegin()->first; newest > job_mark_) {
        t.exec_prepared("raise_job_mark", static_cast<std::int64_t>(newest));
        job_mark_ = newest;
      }
    }
    for (auto [rows, statement] : {std::pair{&pending_.items, "put_items"}, std::pair{&pending_.instances, "put_instances"}}) {
      if (rows->empty()) continue;
      std::vector<std::int64_t> jobs, keys;
      std::vector<std::string> docs;
      for (auto& [key, doc] : *rows) {
        jobs.push_back(static_cast<std::int64_t>(key.first));
        keys.push_back(key.second);
        docs.push_back(std::move(doc));
      }
      t.exec_prepared(statement, pg::int_array(jobs), pg::int_array(keys), pg::text_array(docs));
    }
    pending_ = {};
  }

  // What load() could not use goes to the quarantine (moved, so the next load does
  // not meet it again), as the SQLite store does: the unreadable rows, and every
  // row of a job dropped whole.
  void quarantine_bad(pqxx::work& t, const JobAssembler& jobs) {
    const auto move = [&](const std::string& table, const std::string& key_sql, const std::string& where,
                          const std::string& reason) {
      const std::string raw = table == "submissions" ? "'user ' || quote_literal(\"user\") || ', token ' || quote_literal(token)"
                                                     : "encode(doc, 'hex')";
      t.exec_params("INSERT INTO quarantine(tbl, key, raw, reason, time) SELECT '" + table + "', " + key_sql + ", " +
                        raw + ", $1, extract(epoch from now()) FROM " + table + " WHERE " + where,
                    reason);
      t.exec("DELETE FROM " + table + " WHERE " + where);
    };
    for (const auto& bad : jobs.bad_rows()) {
      const std::string job = std::to_string(bad.job), sub = std::to_string(bad.sub);
      if (bad.table == "jobs") move("jobs", "id::text", "id = " + job, bad.reason);
      else if (bad.table == "items") move("items", "job || '/' || idx", "job = " + job + " AND idx = " + sub, bad.reason);
      else move("instances", "job || '.' || subid", "job = " + job + " AND subid = " + sub, bad.reason);
    }
    for (const auto& [id, why] : jobs.dropped_jobs()) {
      const std::string job = std::to_string(id);
      move("jobs", "id::text", "id = " + job, why);
      move("items", "job || '/' || idx", "job = " + job, why);
      move("instances", "job || '.' || subid", "job = " + job, why);
      move("submissions", "job::text", "job = " + job, why);
    }
  }

  void abandon() {
    txn_.reset();
    pending_ = {};
  }

  pg::Link link_;
  std::unique_ptr<pqxx::work> txn_;  // between begin() and commit()
  Pending pending_;
  JobId job_mark_ = 0;  // the mark as this store last wrote or read it
  std::int64_t epoch_ = 0;  // the lease this store writes under; 0: unfenced
};

void prepare_events(pqxx::connection& c) {
  c.prepare("append_events",
            "INSERT INTO events(job, doc) SELECT j, d FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS r(j, d, n)"
            " ORDER BY n");
  c.prepare("read_events",
            "SELECT doc FROM (SELECT seq, doc FROM events WHERE job = $1 ORDER BY seq DESC LIMIT $2) AS last"
            " ORDER BY seq");
  c.prepare("remove_events", "DELETE FROM events WHERE job = $1");
}

class PgEventLog final : public EventLog {
 public:
  explicit PgEventLog(const std::string& uri)
      : link_(uri, "event log " + printable_store_setting(uri), prepare_events) {
    link_.run([&](pqxx::connection& c) { pg::migrate_store_schema(c, link_.what()); });
  }

  void append(const std::vector<FarmEvent>& events) override {
    std::vector<std::int64_t> jobs;
    std::vector<std::string> docs;
    for (const auto& e : events)
      if (e.history) {
        jobs.push_back(static_cast<std::int64_t>(e.job));
        docs.push_back(to_json(e).dump());
      }
    if (jobs.empty()) return;
    link_.run([&](pqxx::connection& c) {
      pqxx::work t(c);
      t.exec_prepared("append_events", pg::int_array(jobs), pg::text_array(docs));
      t.commit();
    });
  }

  Json read(JobId job, std::size_t limit) override {
    Json out = Json::array();
    link_.run([&](pqxx::connection& c) {
      pqxx::work t(c);
      for (const auto& r : t.exec_prepared("read_events", static_cast<std::int64_t>(job), static_cast<std::int64_t>(limit))) {
        Json doc = Json::parse(r[0].as<std::string>(), nullptr, false);
        if (!doc.is_discarded()) out.push_back(std::move(doc));
      }
    });
    return out;
  }

  // The job's rows are gone already: history left behind by a store that went
  // away is unreachable (ids are never reused), so it is only worth a warning.
  void remove(JobId job) override {
    try {
      link_.run([&](pqxx::connection& c) {
        pqxx::work t(c);
        t.exec_prepared("remove_events", static_cast<std::int64_t>(job));
        t.commit();
      });
    } catch (const StoreUnavailable& e) {
      spdlog::warn("job {}'s history is left in the event log: {}", job, e.what());
    }
  }

 private:
  pg::Link link_;
};

}  // namespace

std::unique_ptr<Store> open_pg_store(const std::string& uri, std::int64_t epoch) {
  return std::make_unique<PgStore>(uri, epoch);
}
std::unique_ptr<EventLog> open_pg_event_log(const std::string& uri) { return std::make_unique<PgEventLog>(uri); }

}  // namespace qube::supervisor
