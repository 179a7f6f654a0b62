#include "open_store.hpp"

#include <regex>

#ifdef QUBE_HAVE_PQXX
#include "pg_store.hpp"
#endif

namespace qube::supervisor {

namespace {

bool is_postgresql_uri(const std::string& setting) {
  return setting.rfind("postgresql://", 0) == 0 || setting.rfind("postgres://", 0) == 0;
}

}  // namespace

bool is_store_setting(const std::string& setting) {
  return setting.empty() || setting == "sqlite" || is_postgresql_uri(setting);
}

bool postgresql_built_in() {
#ifdef QUBE_HAVE_PQXX
  return true;
#else
  return false;
#endif
}

std::string printable_store_setting(const std::string& setting) {
  if (!is_postgresql_uri(setting)) return setting.empty() ? "sqlite" : setting;
  // user:password@ and password=... in the query string.
  static const std::regex user_password(R"(^(postgres(?:ql)?://[^:/@?]*):[^@/?]*@)");
  static const std::regex password_param(R"(([?&]password=)[^&]*)");
  std::string out = std::regex_replace(setting, user_password, "$1:***@");
  return std::regex_replace(out, password_param, "$1***");
}

OpenedStore open_store(const std::string& setting, const std::filesystem::path& data_dir, std::int64_t epoch) {
  if (setting.empty() || setting == "sqlite")
    return {open_sqlite_store((data_dir / "qube.db").string()), open_event_log((data_dir / "events.db").string())};
  if (!is_postgresql_uri(setting))
    throw std::runtime_error("store '" + setting + "': expected sqlite or a postgresql:// URI");
#ifdef QUBE_HAVE_PQXX
  return {open_pg_store(setting, epoch), open_pg_event_log(setting)};
#else
  throw std::runtime_error("store " + printable_store_setting(setting) +
                           ": this qbsupervisor was built without PostgreSQL support (libpqxx was not found "
                           "when it was configured); install libpqxx-dev and rebuild, or use the sqlite store");
#endif
}

}  // namespace qube::supervisor
