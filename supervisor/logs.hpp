#pragma once
// Output of instances, kept as files: <data>/logs/<job>/<subid>.out and .err.
// Kept apart from the database so that a chatty frame never slows a commit.
#include <filesystem>
#include <map>
#include <tuple>
#include <string>
#include <string_view>

#include "qube/model.hpp"

namespace qube::supervisor {

class LogStore {
 public:
  explicit LogStore(std::filesystem::path root) : root_(std::move(root)) {}
  void append(JobId job, std::int32_t subid, bool err, std::string_view data);
  // `data` as the bytes from `offset` of the stream (LogReport::offset): what the
  // stream already holds is skipped; a gap before it is filled with a notice of
  // the lost output, so that the file's length stays the stream's.
  void append_at(JobId job, std::int32_t subid, bool err, std::uint64_t offset, std::string_view data);
  static constexpr std::uint64_t kGapWrittenUpTo = 1u << 20;
  // Up to `limit` bytes from `offset` of one instance's stream; sets `size` to the
  // stream's whole length so that a follower knows where to continue.
  std::string read(JobId job, std::int32_t subid, bool err, std::uint64_t offset,
                   std::size_t limit, std::uint64_t& size) const;
  // The length of one instance's stream so far (kept in memory as it grows).
  std::uint64_t size(JobId job, std::int32_t subid, bool err);
  void remove(JobId job);

 private:
  std::filesystem::path file(JobId job, std::int32_t subid, bool err) const;
  // Whether the job has a log directory: an instance's streams of a job without
  // one are empty, known without a stat per stream (every item's start asks).
  bool has_dir(JobId job);
  std::filesystem::path root_;
  std::map<std::tuple<JobId, std::int32_t, bool>, std::uint64_t> sizes_;
  std::map<JobId, bool> dirs_;
};

}  // namespace qube::supervisor
