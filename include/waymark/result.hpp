// Errors as values for the pure core: Result<T> holds a T or an Error.
// Used by parsers and the store; never throws across module boundaries.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace waymark {

/// An expected failure: a stable machine-readable code and a human message.
struct Error {
  std::string code;     // e.g. "bad_json", "missing_field", "map_full"
  std::string message;  // e.g. "userId or anonymousId is required"
};

template <class T>
class Result {
public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error err) : err_(std::move(err)) {}    // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const Error& error() const { return err_; }

private:
  std::optional<T> value_;
  Error err_;
};

inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

}  // namespace waymark
