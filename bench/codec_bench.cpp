// Micro-benchmark of the sdk codec on the messages the supervisor handles most:
// a worker's work_result and a stored agenda item. Prints ns per encode and per
// decode. Used to justify changes to sdk/src/codec.cpp (docs/performance.md).
#include <chrono>
#include <cstdio>

#include "qube/codec.hpp"

namespace {

template <typename F>
double ns_per_op(int n, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) f(i);
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
}

}  // namespace

int main() {
  using qube::Json;
  const Json result{{"job", 12},          {"subid", 3},       {"index", 4711},   {"attempt", 1},
                    {"status", "complete"}, {"exitcode", 0},  {"signal", nullptr}, {"walltime", 0.0},
                    {"cputime", 0.0},     {"peak_rss_kb", 0}, {"reason", ""},    {"resultpackage", Json::object()}};
  const Json header{{"v", 1}, {"type", "work_result"}, {"id", 123456}};
  constexpr int kN = 200000;
  std::size_t sink = 0;
  const double enc = ns_per_op(kN, [&](int) { sink += qube::encode(result).size() + qube::encode(header).size(); });
  const std::string r = qube::encode(result), h = qube::encode(header);
  const double dec = ns_per_op(kN, [&](int) { sink += qube::decode(r).size() + qube::decode(h).size(); });
  std::printf("{\"encode_header_and_body_ns\": %.0f, \"decode_header_and_body_ns\": %.0f, \"bytes\": %zu, \"sink\": %zu}\n",
              enc, dec, r.size() + h.size(), sink % 7);
  return 0;
}
