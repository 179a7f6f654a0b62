#pragma once
// The indices of a job's pending agenda items, one bit per item.
//
// A std::set<std::size_t> cost a 48-byte tree node per pending item: for a range
// job of a million frames that was an eighth of the supervisor's memory
// (docs/performance.md). Items are handed out lowest index first, so the search for
// the first pending item resumes where the previous one stopped: amortised O(1).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

namespace qube::supervisor {

class PendingSet {
 public:
  // Visits the indices in ascending order. Erasing the index an iterator stands
  // on does not disturb it (the search for the next one starts after it).
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::size_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::size_t*;
    using reference = std::size_t;

    const_iterator() = default;
    std::size_t operator*() const { return at_; }
    const_iterator& operator++() {
      at_ = set_->next_from(at_ + 1);
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const const_iterator& other) const { return at_ == other.at_; }

   private:
    friend class PendingSet;
    const_iterator(const PendingSet* set, std::size_t at) : set_(set), at_(at) {}
    const PendingSet* set_ = nullptr;
    std::size_t at_ = kEnd;
  };

  void insert(std::size_t i) {
    const std::size_t w = i / 64;
    if (w >= words_.size()) words_.resize(w + 1, 0);
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (words_[w] & bit) return;
    words_[w] |= bit;
    ++count_;
    if (w < first_word_) first_word_ = w;
  }
  void erase(std::size_t i) {
    const std::size_t w = i / 64;
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (w >= words_.size() || !(words_[w] & bit)) return;
    words_[w] &= ~bit;
    --count_;
  }
  bool contains(std::size_t i) const {
    const std::size_t w = i / 64;
    return w < words_.size() && (words_[w] >> (i % 64)) & 1;
  }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  void clear() {
    words_.clear();
    count_ = 0;
    first_word_ = 0;
  }
  const_iterator begin() const {
    if (count_ == 0) return end();
    // Words below first_word_ are known empty; skip the ones emptied since.
    while (words_[first_word_] == 0) ++first_word_;
    return const_iterator(this, next_from(first_word_ * 64));
  }
  const_iterator end() const { return const_iterator(this, kEnd); }

 private:
  static constexpr std::size_t kEnd = static_cast<std::size_t>(-1);

  // The first index >= from in the set, or kEnd.
  std::size_t next_from(std::size_t from) const {
    std::size_t w = from / 64;
    if (w >= words_.size()) return kEnd;
    std::uint64_t bits = words_[w] & (~std::uint64_t{0} << (from % 64));
    while (bits == 0) {
      if (++w == words_.size()) return kEnd;
      bits = words_[w];
    }
    return w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
  }

  std::vector<std::uint64_t> words_;
  std::size_t count_ = 0;
  // No word below this one has a bit set; begin() moves it up lazily.
  mutable std::size_t first_word_ = 0;
};

}  // namespace qube::supervisor
