// VecDeque (include/waymark/vec_deque.hpp): the ring-buffer deque of CustomerState's
// lists. Checked against std::deque under the operations the engine uses, with
// wrap-around, growth while wrapped, element lifetimes and allocation counts.
#include "waymark/vec_deque.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace waymark {
namespace {

template <class T>
std::vector<T> items(const VecDeque<T>& d) {
  return std::vector<T>(d.begin(), d.end());
}

template <class T>
std::vector<T> items(const std::deque<T>& d) {
  return std::vector<T>(d.begin(), d.end());
}

// Counts live instances, to catch leaks and double destruction.
struct Tracked {
  static int live;
  std::string v;
  Tracked(std::string s = "") : v(std::move(s)) { ++live; }
  Tracked(const Tracked& o) : v(o.v) { ++live; }
  Tracked(Tracked&& o) noexcept : v(std::move(o.v)) { ++live; }
  Tracked& operator=(const Tracked&) = default;
  Tracked& operator=(Tracked&&) noexcept = default;
  ~Tracked() { --live; }
  bool operator==(const Tracked& o) const { return v == o.v; }
};
int Tracked::live = 0;

TEST(VecDeque, EmptyAllocatesNothing) {
  VecDeque<std::string> d;
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(d.capacity(), 0u);
  EXPECT_EQ(d.begin(), d.end());
  VecDeque<std::string> copy = d;
  EXPECT_EQ(copy.capacity(), 0u);
  EXPECT_LE(sizeof(VecDeque<std::string>), 24u);
}

TEST(VecDeque, PushPopFrontBackAndIndexing) {
  VecDeque<int> d;
  for (int i = 0; i < 5; ++i)
    d.push_back(i);
  EXPECT_EQ(d.size(), 5u);
  EXPECT_EQ(d.front(), 0);
  EXPECT_EQ(d.back(), 4);
  EXPECT_EQ(d[2], 2);
  d.pop_front();
  d.pop_front();
  EXPECT_EQ(d.front(), 2);
  d.pop_back();
  EXPECT_EQ(d.back(), 3);
  EXPECT_EQ(items(d), (std::vector<int>{2, 3}));
  EXPECT_EQ(d.emplace_back(9), 9);
  d.clear();
  EXPECT_TRUE(d.empty());
  EXPECT_GT(d.capacity(), 0u);  // like std::vector: clear keeps the buffer
  d.shrink_to_fit();
  EXPECT_EQ(d.capacity(), 0u);
}

// The engine's bound pattern: push, then pop the oldest while over the bound. The ring
// settles at one buffer of the next power of two above bound + 1 and stops allocating.
TEST(VecDeque, BoundedQueueSettlesInOneBuffer) {
  VecDeque<std::string> d;
  const size_t bound = 100;
  for (int i = 0; i < 10000; ++i) {
    d.push_back("entry " + std::to_string(i));
    while (d.size() > bound)
      d.pop_front();
    if (i == 500) {
      EXPECT_EQ(d.capacity(), 128u);
    }
  }
  EXPECT_EQ(d.capacity(), 128u);
  ASSERT_EQ(d.size(), bound);
  for (size_t k = 0; k < bound; ++k)
    EXPECT_EQ(d[k], "entry " + std::to_string(9900 + k));
  EXPECT_EQ(d.front(), "entry 9900");
  EXPECT_EQ(d.back(), "entry 9999");
}

// With reserve_bounded before each push the same list ends in an exact buffer of bound + 1.
TEST(VecDeque, ReserveBoundedStopsDoublingAtTheBound) {
  for (size_t bound : {0u, 1u, 3u, 50u, 100u, 200u}) {
    VecDeque<std::string> d;
    std::vector<size_t> capacities;
    for (int i = 0; i < 1000; ++i) {
      d.reserve_bounded(bound);
      const size_t before = d.capacity();
      d.push_back(std::to_string(i));
      EXPECT_EQ(d.capacity(), before) << "push_back after reserve_bounded reallocated";
      while (d.size() > bound)
        d.pop_front();
      if (capacities.empty() || capacities.back() != d.capacity())
        capacities.push_back(d.capacity());
    }
    EXPECT_EQ(d.capacity(), bound + 1) << "bound " << bound;
    EXPECT_EQ(d.size(), bound);
    if (bound > 0) {
      EXPECT_EQ(d.back(), "999");
      EXPECT_EQ(d.front(), std::to_string(1000 - bound));
    }
    EXPECT_LE(capacities.size(), 7u) << "bound " << bound;  // doubling from 4, then the bound
  }
  VecDeque<int> over{1, 2, 3, 4, 5, 6};  // already past the bound: grows as usual
  over.reserve_bounded(2);
  EXPECT_EQ(over.capacity(), 12u);
  over.reserve_bounded(2);  // room left: no change
  EXPECT_EQ(over.capacity(), 12u);
  VecDeque<int> none;
  none.reserve(0);
  EXPECT_EQ(none.capacity(), 0u);
}

TEST(VecDeque, GrowsWhileWrappedAround) {
  VecDeque<int> d;
  for (int i = 0; i < 4; ++i)
    d.push_back(i);
  d.pop_front();
  d.pop_front();
  d.push_back(4);
  d.push_back(5);  // wraps: slots 0,1
  ASSERT_EQ(d.capacity(), 4u);
  d.push_back(6);  // full and wrapped: grows
  EXPECT_EQ(d.capacity(), 8u);
  EXPECT_EQ(items(d), (std::vector<int>{2, 3, 4, 5, 6}));
}

TEST(VecDeque, PushBackOfOwnElementWhileGrowing) {
  VecDeque<std::string> d;
  for (int i = 0; i < 4; ++i)
    d.push_back(std::string(40, char('a' + i)));
  ASSERT_EQ(d.size(), d.capacity());
  d.push_back(d.front());  // the reference points into the buffer being replaced
  d.push_back(d[4]);
  EXPECT_EQ(d[4], std::string(40, 'a'));
  EXPECT_EQ(d[5], std::string(40, 'a'));
  d.insert(d.begin() + 1, d.back());
  EXPECT_EQ(d[1], std::string(40, 'a'));
}

TEST(VecDeque, IteratorsAreRandomAccessAndWrap) {
  VecDeque<int> d;
  for (int i = 0; i < 8; ++i)
    d.push_back(i);
  for (int i = 0; i < 5; ++i)
    d.pop_front();
  for (int i = 8; i < 12; ++i)
    d.push_back(i);  // 5..11, wrapped in a buffer of 8
  static_assert(std::is_same_v<std::iterator_traits<VecDeque<int>::iterator>::iterator_category,
                               std::random_access_iterator_tag>);
  auto b = d.begin();
  auto e = d.end();
  EXPECT_EQ(e - b, 7);
  EXPECT_EQ(*(b + 3), 8);
  EXPECT_EQ(b[6], 11);
  EXPECT_EQ(*(e - 1), 11);
  EXPECT_EQ(*(2 + b), 7);
  auto it = b;
  it += 4;
  EXPECT_EQ(*it--, 9);
  EXPECT_EQ(*it, 8);
  EXPECT_TRUE(b < it && it <= e && e > b && b >= b);
  VecDeque<int>::const_iterator c = it;  // iterator -> const_iterator
  EXPECT_EQ(c, it);
  EXPECT_EQ(*c, 8);
  *b = 50;
  EXPECT_EQ(d.front(), 50);
  EXPECT_EQ(std::upper_bound(d.begin() + 1, d.end(), 8) - d.begin(), 4);
  const VecDeque<int>& cd = d;
  EXPECT_EQ(std::count_if(cd.begin(), cd.end(), [](int x) { return x > 8; }), 4);
  std::vector<int> reversed(std::make_reverse_iterator(d.end()), std::make_reverse_iterator(d.begin()));
  EXPECT_EQ(reversed, (std::vector<int>{11, 10, 9, 8, 7, 6, 50}));
  std::sort(d.begin(), d.end());
  EXPECT_EQ(items(d), (std::vector<int>{6, 7, 8, 9, 10, 11, 50}));
}

TEST(VecDeque, InsertAndEraseInTheMiddle) {
  VecDeque<int> d{1, 2, 4, 5};
  auto pos = d.insert(d.begin() + 2, 3);
  EXPECT_EQ(*pos, 3);
  EXPECT_EQ(items(d), (std::vector<int>{1, 2, 3, 4, 5}));
  d.insert(d.end(), 6);
  d.insert(d.begin(), 0);
  EXPECT_EQ(items(d), (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  auto after = d.erase(d.begin() + 2, d.begin() + 4);
  EXPECT_EQ(*after, 4);
  EXPECT_EQ(items(d), (std::vector<int>{0, 1, 4, 5, 6}));
  d.erase(d.begin());
  EXPECT_EQ(items(d), (std::vector<int>{1, 4, 5, 6}));
  d.erase(std::remove_if(d.begin(), d.end(), [](int x) { return x % 2 == 0; }), d.end());
  EXPECT_EQ(items(d), (std::vector<int>{1, 5}));
  d.erase(d.begin(), d.begin());
  EXPECT_EQ(d.size(), 2u);
  d.erase(d.begin(), d.end());
  EXPECT_TRUE(d.empty());
}

TEST(VecDeque, CopyMoveSwapCompareAndInitializerLists) {
  VecDeque<std::string> a{"x", "y"};
  for (int i = 0; i < 3; ++i) {  // wrap it
    a.push_back("z" + std::to_string(i));
    a.pop_front();
  }
  VecDeque<std::string> b = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.capacity(), b.size());  // a copy allocates what it holds
  b.push_back("more");
  EXPECT_NE(a, b);
  VecDeque<std::string> c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(items(c), (std::vector<std::string>{"z1", "z2", "more"}));
  a = c;
  EXPECT_EQ(a, c);
  a = {"p", "q"};
  EXPECT_EQ(items(a), (std::vector<std::string>{"p", "q"}));
  swap(a, c);
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(a.size(), 3u);
  a = std::move(c);
  EXPECT_EQ(items(a), (std::vector<std::string>{"p", "q"}));
  a = a;  // self-assignment
  EXPECT_EQ(a.size(), 2u);
  std::vector<std::string> src{"1", "2", "3"};
  VecDeque<std::string> r(src.begin(), src.end());
  EXPECT_EQ(items(r), src);
  VecDeque<std::string> merged;
  std::merge(std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()),
             std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()), std::back_inserter(merged));
  EXPECT_EQ(items(merged), (std::vector<std::string>{"1", "1", "2", "2", "3", "3"}));
}

TEST(VecDeque, ElementLifetimes) {
  Tracked::live = 0;
  {
    VecDeque<Tracked> d;
    for (int i = 0; i < 50; ++i) {
      d.emplace_back(std::to_string(i));
      if (i % 3 == 0)
        d.pop_front();
    }
    EXPECT_EQ(Tracked::live, static_cast<int>(d.size()));
    d.insert(d.begin() + 5, Tracked("ins"));
    d.erase(d.begin() + 2, d.begin() + 9);
    d.erase(d.begin(), d.begin() + 3);
    d.pop_back();
    EXPECT_EQ(Tracked::live, static_cast<int>(d.size()));
    VecDeque<Tracked> copy = d;
    EXPECT_EQ(Tracked::live, 2 * static_cast<int>(d.size()));
    copy.clear();
    EXPECT_EQ(Tracked::live, static_cast<int>(d.size()));
    d.shrink_to_fit();
    d.reserve(200);
    EXPECT_EQ(Tracked::live, static_cast<int>(d.size()));
  }
  EXPECT_EQ(Tracked::live, 0);
}

// Random operations against std::deque as the model (fixed seed).
TEST(VecDeque, MatchesStdDequeUnderRandomOperations) {
  std::mt19937 rng(7);
  VecDeque<std::string> d;
  std::deque<std::string> model;
  for (int step = 0; step < 20000; ++step) {
    const std::string v = "v" + std::to_string(rng() % 1000);
    switch (rng() % 10) {
      case 0:
      case 1:
      case 2:
        d.push_back(v);
        model.push_back(v);
        break;
      case 3:
      case 4:
        if (!model.empty()) {
          d.pop_front();
          model.pop_front();
        }
        break;
      case 5:
        if (!model.empty()) {
          d.pop_back();
          model.pop_back();
        }
        break;
      case 6: {
        const size_t at = rng() % (model.size() + 1);
        d.insert(d.begin() + static_cast<ptrdiff_t>(at), v);
        model.insert(model.begin() + static_cast<ptrdiff_t>(at), v);
        break;
      }
      case 7: {
        const size_t from = rng() % (model.size() + 1);
        const size_t to = from + rng() % (model.size() - from + 1);
        d.erase(d.begin() + static_cast<ptrdiff_t>(from), d.begin() + static_cast<ptrdiff_t>(to));
        model.erase(model.begin() + static_cast<ptrdiff_t>(from), model.begin() + static_cast<ptrdiff_t>(to));
        break;
      }
      case 8: {
        const auto odd = [](const std::string& s) { return (s.back() - '0') % 2 == 1; };
        if (rng() % 8 == 0) {
          d.erase(std::remove_if(d.begin(), d.end(), odd), d.end());
          model.erase(std::remove_if(model.begin(), model.end(), odd), model.end());
        }
        break;
      }
      default:
        if (rng() % 50 == 0) {
          d.clear();
          model.clear();
        } else if (rng() % 50 == 0) {
          d.shrink_to_fit();
        }
    }
    ASSERT_EQ(d.size(), model.size()) << "step " << step;
    if (!model.empty()) {
      ASSERT_EQ(d.front(), model.front()) << "step " << step;
      ASSERT_EQ(d.back(), model.back()) << "step " << step;
    }
    if (step % 97 == 0) {
      ASSERT_EQ(items(d), items(model)) << "step " << step;
    }
  }
  EXPECT_EQ(items(d), items(model));
}

}  // namespace
}  // namespace waymark
