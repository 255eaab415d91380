// A client that writes bytes itself: for the server's tests of malformed, oversized, slow and
// half-closed requests, which a well-behaved HTTP client cannot send.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace shiplog::testing {

class RawSocket {
 public:
  // Connects to 127.0.0.1:`port`; connected() is false when refused.
  explicit RawSocket(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    // A bound on every read, so a server that never answers fails the test instead of hanging it.
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawSocket() { Close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }

  // False when the server has gone (reset or closed).
  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Everything the server sends until it closes the connection (or a reset, or the read bound).
  // `timed_out` tells the last case apart.
  std::string ReadUntilClosed(bool* timed_out = nullptr) {
    std::string out;
    char buf[4096];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (timed_out) *timed_out = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      return out;
    }
  }

  // What the server sends until it has sent `needle` (on a stream that stays open: a live feed),
  // or closes, or the read bound passes.
  std::string ReadUntilContains(const std::string& needle) {
    std::string out;
    char buf[4096];
    while (out.find(needle) == std::string::npos) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // One answer on a connection that stays open: the head, then Content-Length bytes of body
  // (empty when the server closes or the read bound passes first).
  std::string ReadAnswer() {
    std::string out;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t want = std::string::npos;
    while (want == std::string::npos || out.size() < want) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return {};
      out.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos && (head_end = out.find("\r\n\r\n")) != std::string::npos) {
        const size_t at = out.find("Content-Length: ");
        if (at == std::string::npos || at > head_end) return {};
        want = head_end + 4 + std::stoul(out.substr(at + 16));
      }
    }
    return out;
  }

  // The status code of an answer "HTTP/1.1 NNN ...", or 0 when there is none.
  static int StatusOf(const std::string& answer) {
    if (answer.rfind("HTTP/1.1 ", 0) != 0 || answer.size() < 12) return 0;
    return std::stoi(answer.substr(9, 3));
  }

 private:
  int fd_;
  bool connected_ = false;
};

}  // namespace shiplog::testing
