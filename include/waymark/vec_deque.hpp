// VecDeque<T>: a double-ended queue in one ring-buffer allocation, for the bounded
// per-customer lists of CustomerState (history, sends, trace, deliveries). libstdc++'s
// std::deque allocates a 64 B map and a 512 B block even when empty, ~2.2 KB for the four
// lists of every live customer before any event; this allocates nothing until the first
// element, and is 24 bytes instead of 80.
//
// push_back / pop_front / pop_back are O(1) (amortised for push_back), indexing and
// random-access iterators wrap around the ring. Capacity doubles from 4 and is kept when
// elements leave (like std::vector); reserve_bounded caps the doubling for the engine's
// "push, then pop the oldest past the bound" lists, which then settle in one buffer of
// exactly bound + 1 elements.
// insert and erase in the middle move elements like std::vector does. Iterators and
// references are invalidated by anything that reallocates, inserts or erases.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace waymark {

template <class T>
class VecDeque {
  template <bool Const>
  class Iter;

public:
  using value_type = T;
  using size_type = size_t;
  using difference_type = ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using pointer = T*;
  using const_pointer = const T*;
  using iterator = Iter<false>;
  using const_iterator = Iter<true>;

  VecDeque() noexcept = default;

  VecDeque(std::initializer_list<T> init) : VecDeque(init.begin(), init.end()) {}

  template <class It, class = typename std::iterator_traits<It>::iterator_category>
  VecDeque(It first, It last) {
    if constexpr (std::is_base_of_v<std::forward_iterator_tag, typename std::iterator_traits<It>::iterator_category>)
      reserve(static_cast<size_t>(std::distance(first, last)));
    for (; first != last; ++first)
      emplace_back(*first);
  }

  VecDeque(const VecDeque& other) : VecDeque(other.begin(), other.end()) {}

  VecDeque(VecDeque&& other) noexcept
      : buf_(std::exchange(other.buf_, nullptr)),
        cap_(std::exchange(other.cap_, 0)),
        head_(std::exchange(other.head_, 0)),
        size_(std::exchange(other.size_, 0)) {}

  VecDeque& operator=(const VecDeque& other) {
    if (this != &other) {
      VecDeque copy(other);
      swap(copy);
    }
    return *this;
  }

  VecDeque& operator=(VecDeque&& other) noexcept {
    VecDeque taken(std::move(other));
    swap(taken);
    return *this;
  }

  VecDeque& operator=(std::initializer_list<T> init) {
    VecDeque copy(init);
    swap(copy);
    return *this;
  }

  ~VecDeque() {
    clear();
    release(buf_, cap_);
  }

  void swap(VecDeque& other) noexcept {
    std::swap(buf_, other.buf_);
    std::swap(cap_, other.cap_);
    std::swap(head_, other.head_);
    std::swap(size_, other.size_);
  }
  friend void swap(VecDeque& a, VecDeque& b) noexcept { a.swap(b); }

  // ---- size ----

  bool empty() const noexcept { return size_ == 0; }
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return cap_; }
  static constexpr size_t max_size() noexcept { return UINT32_MAX; }

  /// Makes room for `n` elements in all (one allocation, no more while size <= n).
  void reserve(size_t n) {
    if (n > cap_)
      reallocate(n);
  }

  /// Room for one more element in a queue its owner keeps to `bound` elements by popping
  /// the oldest after each push (so it briefly holds bound + 1): capacity doubles as usual
  /// but stops at bound + 1, and a full queue sits in an exact buffer instead of the next
  /// power of two (up to half of which would stay unused).
  void reserve_bounded(size_t bound) {
    if (size_ < cap_)
      return;
    size_t want = grown_capacity();
    if (size_ <= bound && bound < want)
      want = bound + 1;
    reallocate(want);
  }

  /// Capacity down to size(); frees the buffer when empty.
  void shrink_to_fit() {
    if (size_ < cap_)
      reallocate(size_);
  }

  // ---- access ----

  T& operator[](size_t i) noexcept { return buf_[slot(i)]; }
  const T& operator[](size_t i) const noexcept { return buf_[slot(i)]; }
  T& front() noexcept { return buf_[head_]; }
  const T& front() const noexcept { return buf_[head_]; }
  T& back() noexcept { return buf_[slot(size_ - 1)]; }
  const T& back() const noexcept { return buf_[slot(size_ - 1)]; }

  iterator begin() noexcept { return iterator(buf_, cap_, head_); }
  iterator end() noexcept { return iterator(buf_, cap_, size_t(head_) + size_); }
  const_iterator begin() const noexcept { return const_iterator(buf_, cap_, head_); }
  const_iterator end() const noexcept { return const_iterator(buf_, cap_, size_t(head_) + size_); }
  const_iterator cbegin() const noexcept { return begin(); }
  const_iterator cend() const noexcept { return end(); }

  // ---- modifiers ----

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ < cap_) {
      T* p = ::new (static_cast<void*>(buf_ + slot(size_))) T(std::forward<Args>(args)...);
      ++size_;
      return *p;
    }
    // Full: build the new element in the new buffer first, as `args` may refer to an
    // element of this one (push_back(front())).
    const size_t new_cap = grown_capacity();
    T* nb = allocate(new_cap);
    T* p;
    try {
      p = ::new (static_cast<void*>(nb + size_)) T(std::forward<Args>(args)...);
    } catch (...) {
      release(nb, new_cap);
      throw;
    }
    move_into(nb);
    buf_ = nb;
    cap_ = static_cast<uint32_t>(new_cap);
    ++size_;
    return *p;
  }

  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }

  /// Removes the first element; the ring's head moves on, nothing else moves.
  void pop_front() noexcept {
    buf_[head_].~T();
    head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
    if (--size_ == 0)
      head_ = 0;
  }

  void pop_back() noexcept {
    buf_[slot(size_ - 1)].~T();
    if (--size_ == 0)
      head_ = 0;
  }

  /// Destroys the elements, keeps the capacity.
  void clear() noexcept {
    for (size_t i = 0; i < size_; ++i)
      buf_[slot(i)].~T();
    head_ = 0;
    size_ = 0;
  }

  /// Inserts before `pos`: appended, then rotated into place (cheap near the back,
  /// where time-ordered lists insert).
  template <class... Args>
  iterator emplace(const_iterator pos, Args&&... args) {
    const size_t i = index(pos);
    emplace_back(std::forward<Args>(args)...);
    std::rotate(begin() + static_cast<difference_type>(i), end() - 1, end());
    return begin() + static_cast<difference_type>(i);
  }
  iterator insert(const_iterator pos, const T& v) { return emplace(pos, v); }
  iterator insert(const_iterator pos, T&& v) { return emplace(pos, std::move(v)); }

  /// Erases [first, last): a prefix is popped from the front, otherwise the tail moves down.
  iterator erase(const_iterator first, const_iterator last) {
    const size_t i = index(first);
    const size_t n = static_cast<size_t>(last - first);
    if (i == 0) {
      for (size_t k = 0; k < n; ++k)
        pop_front();
    } else if (n > 0) {
      std::move(begin() + static_cast<difference_type>(i + n), end(), begin() + static_cast<difference_type>(i));
      for (size_t k = 0; k < n; ++k)
        pop_back();
    }
    return begin() + static_cast<difference_type>(i);
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }

  friend bool operator==(const VecDeque& a, const VecDeque& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const VecDeque& a, const VecDeque& b) { return !(a == b); }

private:
  // Holds copies of the buffer, its capacity and an unwrapped slot (head + index), so a
  // dereference needs no load through the container (loops over history stay in registers).
  template <bool Const>
  class Iter {
  public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = ptrdiff_t;
    using pointer = std::conditional_t<Const, const T*, T*>;
    using reference = std::conditional_t<Const, const T&, T&>;

    Iter() noexcept = default;
    template <bool C = Const, class = std::enable_if_t<C>>
    Iter(const Iter<false>& other) noexcept : buf_(other.buf_), cap_(other.cap_), pos_(other.pos_) {}  // NOLINT

    reference operator*() const noexcept { return buf_[pos_ >= cap_ ? pos_ - cap_ : pos_]; }
    pointer operator->() const noexcept { return &**this; }
    reference operator[](difference_type n) const noexcept { return *(*this + n); }

    Iter& operator++() noexcept { ++pos_; return *this; }
    Iter operator++(int) noexcept { Iter t = *this; ++pos_; return t; }
    Iter& operator--() noexcept { --pos_; return *this; }
    Iter operator--(int) noexcept { Iter t = *this; --pos_; return t; }
    Iter& operator+=(difference_type n) noexcept { pos_ += static_cast<size_t>(n); return *this; }
    Iter& operator-=(difference_type n) noexcept { pos_ -= static_cast<size_t>(n); return *this; }
    friend Iter operator+(Iter a, difference_type n) noexcept { return a += n; }
    friend Iter operator+(difference_type n, Iter a) noexcept { return a += n; }
    friend Iter operator-(Iter a, difference_type n) noexcept { return a -= n; }
    friend difference_type operator-(const Iter& a, const Iter& b) noexcept {
      return static_cast<difference_type>(a.pos_) - static_cast<difference_type>(b.pos_);
    }

    friend bool operator==(const Iter& a, const Iter& b) noexcept { return a.pos_ == b.pos_; }
    friend bool operator!=(const Iter& a, const Iter& b) noexcept { return a.pos_ != b.pos_; }
    friend bool operator<(const Iter& a, const Iter& b) noexcept { return a.pos_ < b.pos_; }
    friend bool operator>(const Iter& a, const Iter& b) noexcept { return a.pos_ > b.pos_; }
    friend bool operator<=(const Iter& a, const Iter& b) noexcept { return a.pos_ <= b.pos_; }
    friend bool operator>=(const Iter& a, const Iter& b) noexcept { return a.pos_ >= b.pos_; }

  private:
    friend class VecDeque;
    template <bool>
    friend class Iter;
    Iter(T* buf, size_t cap, size_t pos) noexcept : buf_(buf), cap_(cap), pos_(pos) {}

    T* buf_ = nullptr;
    size_t cap_ = 0;
    size_t pos_ = 0;  // head + index: in [head, head + size], wrapped on dereference
  };

  size_t index(const_iterator it) const noexcept { return it.pos_ - head_; }

  /// Ring slot of the i-th element (i < cap_).
  size_t slot(size_t i) const noexcept {
    const size_t s = head_ + i;
    return s >= cap_ ? s - cap_ : s;
  }

  size_t grown_capacity() const {
    if (cap_ >= max_size() / 2)
      throw std::length_error("VecDeque: too many elements");
    return cap_ == 0 ? 4 : size_t(cap_) * 2;
  }

  static T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  static void release(T* p, size_t n) noexcept {
    if (p)
      std::allocator<T>().deallocate(p, n);
  }

  /// Moves the elements to the front of `nb` (size_ slots), frees the old buffer.
  void move_into(T* nb) noexcept {
    static_assert(std::is_nothrow_move_constructible_v<T>, "VecDeque relocates elements by move");
    for (size_t i = 0; i < size_; ++i) {
      T& old = buf_[slot(i)];
      ::new (static_cast<void*>(nb + i)) T(std::move(old));
      old.~T();
    }
    release(buf_, cap_);
    head_ = 0;
  }

  void reallocate(size_t new_cap) {
    if (new_cap > max_size())
      throw std::length_error("VecDeque: too many elements");
    T* nb = new_cap ? allocate(new_cap) : nullptr;
    move_into(nb);
    buf_ = nb;
    cap_ = static_cast<uint32_t>(new_cap);
  }

  T* buf_ = nullptr;
  uint32_t cap_ = 0;   // slots in buf_
  uint32_t head_ = 0;  // slot of the front element
  uint32_t size_ = 0;
};

}  // namespace waymark
