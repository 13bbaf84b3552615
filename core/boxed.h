// Boxed<T>: a T on the heap with value semantics (copies copy the T, == compares the Ts).
//
// For a rarely used, large member of a variant alternative, so that the variant stays the size
// of its common alternatives: `UpdateConfig` boxes its 800-byte Config, which keeps every
// `Input` at 128 bytes instead of 816.
//
//   Boxed<Config> box = config;   // copies config to the heap
//   box->max_connections = 10;
//   const Config& c = *box;
//
// A Boxed always holds a T (a default-constructed one by default); only a moved-from Boxed is
// empty, and it may only be assigned to or destroyed.
#ifndef CONNMGR_CORE_BOXED_H_
#define CONNMGR_CORE_BOXED_H_

#include <memory>
#include <utility>

namespace connmgr {

template <typename T>
class Boxed {
 public:
  Boxed() : value_(std::make_unique<T>()) {}
  Boxed(const T& value) : value_(std::make_unique<T>(value)) {}        // NOLINT: implicit
  Boxed(T&& value) : value_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit
  Boxed(const Boxed& other) : Boxed(*other) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    if (this != &other) value_ = std::make_unique<T>(*other);
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  ~Boxed() = default;

  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return value_.get(); }
  const T* operator->() const { return value_.get(); }

  friend bool operator==(const Boxed& a, const Boxed& b) { return *a == *b; }

 private:
  std::unique_ptr<T> value_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_BOXED_H_
