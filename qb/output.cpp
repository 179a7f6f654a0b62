// qb out / qb err: a job's logs, printed whole or followed as they grow.
#include <iostream>
#include <optional>
#include <thread>

#include "exit_codes.hpp"
#include "job_commands.hpp"

namespace qube::qb {

namespace {

// What one `output` request gave from an offset on: the bytes of its parts, and
// the job's status, which the supervisor reads before the output.
struct OutputSlice {
  std::vector<std::uint8_t> data;
  std::optional<JobStatus> status;
};

// The output that `body` names (one instance, or one item's attempt) from byte `offset` on.
OutputSlice fetch_output(Client& client, Json body, std::uint64_t offset) {
  body["offset"] = offset;
  const Json reply = client.request("output", body);
  OutputSlice slice{{}, parse_job_status(get_string(reply, "status"))};
  for (const auto& p : get_array(reply, "parts")) {
    const auto& bin = p.at("data").get_binary();
    slice.data.insert(slice.data.end(), bin.begin(), bin.end());
  }
  return slice;
}

void write_bytes(const std::vector<std::uint8_t>& bytes) {
  std::cout.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Prints an instance's output as it grows, like tail -f, until its job ends.
bool follow_output(Client& client, const Json& body) {
  std::uint64_t offset = 0;
  while (true) {
    const OutputSlice slice = fetch_output(client, body, offset);
    write_bytes(slice.data);
    std::cout.flush();
    offset += slice.data.size();
    // The job's end is read before its output, so once it has ended, an empty
    // read means everything has been printed.
    if (slice.data.empty() && slice.status && is_terminal(*slice.status)) return true;
    if (slice.data.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// The supervisor sends at most a slice (4 MiB) of a log per request. A part that
// came short of its size is read on from where it ended, so that `qb out` prints a
// long render log whole. (The size is the one first reported: a log still growing
// is printed as it was then, as `cat` would.)
void read_rest_of_part(Client& client, Json body, Json& part) {
  auto& data = part.at("data").get_binary();
  const auto size = static_cast<std::uint64_t>(get_int(part, "size"));
  if (!body.contains("work")) body["subid"] = get_int(part, "subid");
  while (data.size() < size) {
    const OutputSlice more = fetch_output(client, body, data.size());
    if (more.data.empty()) break;  // nothing more after all (the job was removed meanwhile)
    data.insert(data.end(), more.data.begin(), more.data.end());
  }
}

// The request for `o`: a job's instances, one instance (ID.SUB) or one item's attempt.
Json output_request(const JobOptions& o, const char* stream, JobId id, int sub) {
  Json body{{"id", id}, {"stream", stream}};
  if (sub >= 0) body["subid"] = sub;
  if (o.attempt != 0 && o.work.empty()) throw UsageError("--attempt needs --work ITEM");
  if (!o.work.empty()) {
    if (o.follow || sub >= 0) throw UsageError("--work reads one item's attempt: give ID, without .SUB or --follow");
    body["work"] = o.work;
    body["attempt"] = o.attempt;
  }
  if (o.follow && sub < 0) throw UsageError("--follow needs one instance: ID.SUB");
  return body;
}

void print_parts(const Json& parts, JobId id, bool json) {
  if (json) {
    Json list = Json::array();
    for (const auto& p : parts) {
      const auto& bin = p.at("data").get_binary();
      list.push_back(Json{{"subid", get_int(p, "subid")}, {"data", std::string(bin.begin(), bin.end())}});
    }
    std::cout << list.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return;
  }
  for (const auto& p : parts) {
    if (parts.size() > 1) std::cout << "==> " << id << "." << get_int(p, "subid") << " <==\n";
    write_bytes(p.at("data").get_binary());
  }
  std::cout.flush();
}

}  // namespace

int print_output(Client& client, const JobOptions& o, const char* stream) {
  const auto [id, sub] = parse_job_ref(o.ref, true);
  const Json body = output_request(o, stream, id, sub);
  if (o.follow) return follow_output(client, body) ? 0 : kFailed;
  Json reply = client.request("output", body);
  (void)get_array(reply, "parts");  // checks its type
  for (auto& part : reply["parts"]) read_rest_of_part(client, body, part);
  print_parts(reply["parts"], id, o.json);
  return 0;
}

}  // namespace qube::qb
