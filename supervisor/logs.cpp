#include "logs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <tuple>

#include <spdlog/spdlog.h>

namespace qube::supervisor {

std::filesystem::path LogStore::file(JobId job, std::int32_t subid, bool err) const {
  return root_ / std::to_string(job) / (std::to_string(subid) + (err ? ".err" : ".out"));
}

void LogStore::append(JobId job, std::int32_t subid, bool err, std::string_view data) {
  const auto path = file(job, subid, err);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.flush();
  const auto key = std::make_tuple(job, subid, err);
  if (out) {
    sizes_[key] = static_cast<std::uint64_t>(out.tellp());
  } else {  // disk full, say: the size is read from the file again next time
    sizes_.erase(key);
    spdlog::error("output of instance {}.{} not stored in {}: {}", job, subid, path.string(), std::strerror(errno));
  }
  dirs_[job] = true;
}

void LogStore::append_at(JobId job, std::int32_t subid, bool err, std::uint64_t offset, std::string_view data) {
  const std::uint64_t have = size(job, subid, err);
  if (offset < have) {  // sent again: what the stream holds is skipped
    data.remove_prefix(static_cast<std::size_t>(std::min<std::uint64_t>(have - offset, data.size())));
  } else if (offset > have) {
    // Output lost before it came (dropped by its worker over its bound, or held
    // by another supervisor): said in its place, so that the file's length
    // stays the stream's and what comes again later still lines up.
    const std::uint64_t gap = offset - have;
    const std::string said = "\n[" + std::to_string(gap) + " bytes of output lost]\n";
    if (gap <= kGapWrittenUpTo) {
      std::string filler = said.size() <= gap ? said : std::string(static_cast<std::size_t>(gap), '.');
      if (filler.size() < gap) filler.insert(filler.size() - 1, static_cast<std::size_t>(gap) - filler.size(), ' ');
      append(job, subid, err, filler);
    } else {  // a hole, not megabytes of filler: the notice, then nothing (it reads as NUL bytes)
      append(job, subid, err, said);
      std::error_code ec;
      std::filesystem::resize_file(file(job, subid, err), offset, ec);
      sizes_.erase({job, subid, err});
    }
  }
  if (!data.empty()) append(job, subid, err, data);
}

bool LogStore::has_dir(JobId job) {
  auto [it, fresh] = dirs_.try_emplace(job, false);
  if (fresh) {
    std::error_code ec;
    it->second = std::filesystem::exists(root_ / std::to_string(job), ec);
  }
  return it->second;
}

std::uint64_t LogStore::size(JobId job, std::int32_t subid, bool err) {
  auto [it, fresh] = sizes_.try_emplace({job, subid, err}, 0);
  if (fresh && has_dir(job)) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(file(job, subid, err), ec);
    it->second = ec ? 0 : n;
  }
  return it->second;
}

std::string LogStore::read(JobId job, std::int32_t subid, bool err, std::uint64_t offset,
                           std::size_t limit, std::uint64_t& size) const {
  std::ifstream in(file(job, subid, err), std::ios::binary | std::ios::ate);
  size = 0;
  if (!in) return {};
  size = static_cast<std::uint64_t>(in.tellg());
  if (offset >= size) return {};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size - offset, limit));
  std::string data(n, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(data.data(), static_cast<std::streamsize>(n));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

void LogStore::remove(JobId job) {
  sizes_.erase(sizes_.lower_bound({job, std::numeric_limits<std::int32_t>::min(), false}),
               sizes_.lower_bound({job + 1, std::numeric_limits<std::int32_t>::min(), false}));
  dirs_.erase(job);
  std::error_code ec;
  std::filesystem::remove_all(root_ / std::to_string(job), ec);
}

}  // namespace qube::supervisor
