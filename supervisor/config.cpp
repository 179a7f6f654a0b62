#include "config.hpp"

#include <stdexcept>

#include "qube/config_file.hpp"
#include "store/open_store.hpp"

namespace qube::supervisor {

Config load_config(const std::filesystem::path& file, Config c) {
  const YAML::Node root = load_config_map(file);
  read_key(root, "workers", c.workers_endpoint, file);
  read_key(root, "clients", c.clients_endpoint, file);
  const auto relative_to_file = [&](const char* key, std::filesystem::path& into) {
    std::string path;
    read_key(root, key, path, file);
    if (!path.empty()) into = std::filesystem::absolute(file).parent_path() / path;
  };
  relative_to_file("data", c.data_dir);
  relative_to_file("keys", c.keys_dir);
  read_key(root, "store", c.store, file);
  if (!is_store_setting(c.store))
    throw std::runtime_error(file.string() + ": store must be sqlite or a postgresql:// URI");
  read_key(root, "keys_required", c.keys_required, file);
  read_key(root, "insecure", c.insecure, file);
  read_key(root, "heartbeat_interval", c.heartbeat_interval, file);
  read_key(root, "heartbeat_misses", c.heartbeat_misses, file);
  read_key(root, "log_level", c.log_level, file);
  read_key(root, "admins", c.admins, file);
  read_key(root, "callbacks", c.callbacks, file);
  read_key(root, "callback_timelimit", c.callback_timelimit, file);
  read_key(root, "python", c.python, file);
  read_key(root, "smtp_server", c.smtp_server, file);
  read_key(root, "mail_from", c.mail_from, file);
  read_key(root, "callbacks_run_as_owner", c.callbacks_run_as_owner, file);
  read_key(root, "global_resources", c.global_resources, file);
  read_key(root, "fair_share", c.fair_share, file);
  read_key(root, "fair_share_half_life", c.fair_share_half_life, file);
  read_key(root, "fair_share_lookahead", c.fair_share_lookahead, file);
  if (c.fair_share_lookahead < 0) throw std::runtime_error(file.string() + ": fair_share_lookahead must not be negative");
  read_key(root, "supervisor_default_user_subjob_limit", c.user_subjob_limit, file);
  read_key(root, "supervisor_default_pgrp_subjob_limit", c.pgrp_subjob_limit, file);
  read_key(root, "user_subjob_limits", c.user_subjob_limits, file);
  read_key(root, "preemption", c.preemption, file);
  if (c.preemption != "passive" && c.preemption != "aggressive" && c.preemption != "disabled")
    throw std::runtime_error(file.string() + ": preemption must be passive, aggressive or disabled");
  read_key(root, "bad_host_threshold", c.bad_host_threshold, file);
  read_key(root, "suspect_host_jobs", c.suspect_host_jobs, file);
  read_key(root, "suspect_host_window", c.suspect_host_window, file);
  read_key(root, "suspect_host_lock", c.suspect_host_lock, file);
  read_key(root, "max_failure_rate", c.max_failure_rate, file);
  read_key(root, "failure_rate_min_items", c.failure_rate_min_items, file);
  read_key(root, "http", c.http_endpoint, file);
  read_key(root, "http_anonymous_read", c.http_anonymous_read, file);
  relative_to_file("http_tls_cert", c.http_tls_cert);
  relative_to_file("http_tls_key", c.http_tls_key);
  read_key(root, "http_max_body", c.http_max_body, file);
  read_key(root, "http_threads", c.http_threads, file);
  read_key(root, "http_io_timeout", c.http_io_timeout, file);
  read_key(root, "http_reply_timeout", c.http_reply_timeout, file);
  relative_to_file("dashboard_dir", c.dashboard_dir);
  if (c.http_threads < 2 || c.http_threads > 1024)
    throw std::runtime_error(file.string() + ": http_threads must be between 2 and 1024");
  if (!(c.http_io_timeout > 0) || !(c.http_reply_timeout > 0) || c.http_max_body == 0)
    throw std::runtime_error(file.string() + ": http_io_timeout, http_reply_timeout and http_max_body must be positive");
  if (c.bad_host_threshold < 0 || c.suspect_host_jobs < 0)
    throw std::runtime_error(file.string() + ": bad_host_threshold and suspect_host_jobs must not be negative (0: off)");
  if (!(c.suspect_host_window > 0)) throw std::runtime_error(file.string() + ": suspect_host_window must be positive");
  if (!(c.max_failure_rate >= 0 && c.max_failure_rate <= 1))
    throw std::runtime_error(file.string() + ": max_failure_rate must be between 0 (off) and 1");
  if (c.failure_rate_min_items < 1) throw std::runtime_error(file.string() + ": failure_rate_min_items must be at least 1");
  if (!(c.fair_share_half_life > 0)) throw std::runtime_error(file.string() + ": fair_share_half_life must be positive");
  if (c.user_subjob_limit < 0 || c.pgrp_subjob_limit < 0)
    throw std::runtime_error(file.string() + ": subjob limits must not be negative (0: no cap)");
  if (!(c.callback_timelimit > 0)) throw std::runtime_error(file.string() + ": callback_timelimit must be positive");
  if (c.heartbeat_interval <= 0 || c.heartbeat_interval > 3600)
    throw std::runtime_error(file.string() + ": heartbeat_interval must be between 0 and 3600 seconds");
  if (c.heartbeat_misses < 1) throw std::runtime_error(file.string() + ": heartbeat_misses must be at least 1");
  read_key(root, "retention_days", c.retention_days, file);
  if (!(c.retention_days >= 0)) throw std::runtime_error(file.string() + ": retention_days must not be negative (0: keep forever)");
  return c;
}

}  // namespace qube::supervisor
