// Tracked links: signing with OpenSSL's HMAC-SHA256 (libssl-dev, already a
// dependency for CAF's TLS), URL checks, and the node's stored key.
#include "waymark/links.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace waymark::links {

namespace {

constexpr size_t kSignatureBytes = 16;
constexpr size_t kKeyFileBytes = 32;
constexpr size_t kStoredKeyCharsMin = 32;

bool is_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string to_hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

/// The scheme's length ("http://" or "https://"), 0 for any other.
size_t scheme_length(std::string_view url) {
  if (url.substr(0, 7) == "http://")
    return 7;
  if (url.substr(0, 8) == "https://")
    return 8;
  return 0;
}

Result<std::string> read_key_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string key = ss.str();
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
    key.pop_back();
  if (!in || key.size() < kStoredKeyCharsMin || !is_hex(key))
    return make_error("bad_link_key", path + " is not a link key (" + std::to_string(kStoredKeyCharsMin) +
                                          "+ hex digits); remove it to make a new one (old links stop working)");
  return key;
}

}  // namespace

std::string base64url(std::string_view bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0)
    out += alphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string signature(std::string_view key, std::string_view delivery, size_t n, std::string_view target) {
  std::string msg(delivery);
  msg += '\x1f';
  msg += std::to_string(n);
  msg += '\x1f';
  msg += target;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac, &len);
  return base64url(std::string_view(reinterpret_cast<const char*>(mac), kSignatureBytes));
}

bool verify(std::string_view key, std::string_view delivery, size_t n, std::string_view target,
            std::string_view sig) {
  if (key.empty() || sig.size() != kSignatureChars)
    return false;
  const std::string expected = signature(key, delivery, n, target);
  return CRYPTO_memcmp(expected.data(), sig.data(), kSignatureChars) == 0;
}

std::string tracked_url(const LinkKeys& keys, std::string_view delivery, size_t n, std::string_view target) {
  return keys.public_url + "/r/" + std::string(delivery) + "/" + std::to_string(n) + "/" +
         signature(keys.key, delivery, n, target);
}

std::optional<std::string> target_problem(std::string_view url) {
  if (url.size() > kTargetBytesMax)
    return "link longer than " + std::to_string(kTargetBytesMax) + " bytes";
  const size_t scheme = scheme_length(url);
  if (scheme == 0)
    return "link '" + std::string(url) + "' is not an absolute http(s) URL";
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\')
      return "link '" + std::string(url) + "' has a space, quote, angle bracket, backslash or control character";
  const std::string_view rest = url.substr(scheme);
  const size_t host_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, host_end);
  const size_t at = authority.rfind('@');
  const std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (host.empty() || host.front() == ':')
    return "link '" + std::string(url) + "' has no host";
  return std::nullopt;
}

Result<std::string> normalize_public_url(std::string_view url) {
  std::string out(url);
  while (!out.empty() && out.back() == '/')
    out.pop_back();
  if (auto problem = target_problem(out))
    return make_error("bad_config", "http.public_url: " + *problem);
  if (out.find_first_of("?#") != std::string::npos)
    return make_error("bad_config", "http.public_url: no query or fragment allowed");
  return out;
}

std::string public_url_for(std::string_view host, unsigned port) {
  std::string h(host);
  if (h.empty() || h == "0.0.0.0")
    h = "127.0.0.1";
  else if (h == "::")
    h = "::1";
  if (h.find(':') != std::string::npos && h.front() != '[')
    h = "[" + h + "]";
  return "http://" + h + ":" + std::to_string(port);
}

Result<std::string> load_or_create_key(const std::string& data_dir) {
  const std::string path = data_dir + "/link_secret";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return read_key_file(path);
    return make_error("io", "cannot create " + path + ": " + std::strerror(errno));
  }
  unsigned char raw[kKeyFileBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    ::close(fd);
    ::unlink(path.c_str());
    return make_error("io", "no random bytes for the link key");
  }
  const std::string key = to_hex(raw, sizeof raw);
  const std::string text = key + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return make_error("io", "cannot write " + path);
  }
  return key;
}

}  // namespace waymark::links
