#include "logs.hpp"

#include <fstream>
#include <limits>

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
  sizes_[{job, subid, err}] = static_cast<std::uint64_t>(out.tellp());
  dirs_[job] = true;
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
