#include "qube/agenda_order.hpp"

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <utility>

namespace qube {

namespace {

// A bound on the frames a preview names, so that a hostile "1-10000000" cannot make
// every submission's ordering pass slow; a preview is a handful of frames.
constexpr std::size_t kMaxPreviewFrames = 100'000;

bool holds(const FrameRun& item, Frame f) {
  const Frame lo = std::min(item.first, item.last), hi = std::max(item.first, item.last);
  return f >= lo && f <= hi && item.step != 0 && (f - item.first) % item.step == 0;
}

void arrange(std::vector<std::size_t>& group, AgendaOrder order) {
  if (order == AgendaOrder::reverse) std::reverse(group.begin(), group.end());
  if (order != AgendaOrder::binary) return;
  std::vector<std::size_t> ordered;
  ordered.reserve(group.size());
  for (std::size_t i : binary_order(group.size())) ordered.push_back(group[i]);
  group = std::move(ordered);
}

}  // namespace

AgendaOrder parse_agenda_order(std::string_view text) {
  if (text.empty() || text == "as-written") return AgendaOrder::as_written;
  if (text == "reverse") return AgendaOrder::reverse;
  if (text == "binary") return AgendaOrder::binary;
  throw std::invalid_argument("order: '" + std::string(text) + "' is not one of as-written, reverse, binary");
}

Preview parse_preview(std::string_view text) {
  Preview p;
  if (text.empty()) return p;
  if (text == kDefaultPreview) {
    p.ends = true;
    return p;
  }
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 9 || std::stoul(std::string(text)) == 0)
      throw RangeError("preview: every Nth item needs N between 1 and 999999999, got '" + std::string(text) + "'", 0);
    p.every = std::stoul(std::string(text));
    return p;
  }
  p.frames = parse_range(text);
  std::size_t total = 0;
  for (const auto& run : p.frames) total += run.count();
  if (total > kMaxPreviewFrames)
    throw RangeError("preview: more than " + std::to_string(kMaxPreviewFrames) + " frames; a preview is a few frames",
                     0);
  return p;
}

std::vector<std::size_t> binary_order(std::size_t n) {
  std::vector<std::size_t> order;
  order.reserve(n);
  if (n == 0) return order;
  order.push_back(0);
  if (n == 1) return order;
  order.push_back(n - 1);
  // Gaps (a, b): the indices strictly between two already taken.
  std::deque<std::pair<std::size_t, std::size_t>> gaps{{0, n - 1}};
  while (!gaps.empty()) {
    const auto [a, b] = gaps.front();
    gaps.pop_front();
    if (b - a < 2) continue;
    const std::size_t m = a + (b - a) / 2;
    order.push_back(m);
    gaps.emplace_back(a, m);
    gaps.emplace_back(m, b);
  }
  return order;
}

std::vector<bool> preview_items(const std::vector<std::string>& names, std::string_view preview) {
  std::vector<bool> pick(names.size(), false);
  if (names.empty() || preview.empty()) return pick;
  const Preview p = parse_preview(preview);
  if (p.ends) {
    pick.front() = pick.back() = pick[(names.size() - 1) / 2] = true;
    return pick;
  }
  if (p.every > 0) {
    for (std::size_t i = 0; i < names.size(); i += p.every) pick[i] = true;
    return pick;
  }
  std::vector<Frame> frames;
  for (const auto& run : p.frames)
    for (std::size_t i = 0; i < run.count(); ++i) frames.push_back(run.at(i));
  std::sort(frames.begin(), frames.end());
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::vector<FrameRun> item;
    try {
      item = parse_range(names[i]);
    } catch (const RangeError&) {
      continue;  // a free name ("left-eye") holds no frame
    }
    if (item.size() != 1) continue;
    const Frame lo = std::min(item[0].first, item[0].last), hi = std::max(item[0].first, item[0].last);
    for (auto f = std::lower_bound(frames.begin(), frames.end(), lo); f != frames.end() && *f <= hi; ++f)
      if (holds(item[0], *f)) {
        pick[i] = true;
        break;
      }
  }
  return pick;
}

std::vector<std::size_t> dispatch_order(const std::vector<std::string>& names, AgendaOrder order,
                                        std::string_view preview) {
  const std::vector<bool> pick = preview_items(names, preview);
  std::vector<std::size_t> first, rest;
  for (std::size_t i = 0; i < names.size(); ++i) (pick[i] ? first : rest).push_back(i);
  arrange(first, order);
  arrange(rest, order);
  first.insert(first.end(), rest.begin(), rest.end());
  return first;
}

}  // namespace qube
