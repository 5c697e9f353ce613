#include "vault/api/guarded_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/base/clock.h"

namespace coffre::vault {
namespace {

// Waits are cut in slices this long, so a stopping server is noticed.
constexpr int64_t kSliceMs = 200;
// After a refusal, what the client still sends is read and dropped for this
// long at most, so that closing with unread bytes does not reset the
// connection before the client has read the answer.
constexpr int64_t kLingerMs = 1000;
// A worker with nothing to do for this long ends (min_threads stay).
constexpr auto kWorkerIdle = std::chrono::seconds(30);

int64_t NowMs() { return MonotonicNs() / 1'000'000; }

// A TaskQueue that starts a worker whenever none is free, up to `max`,
// so connections never wait for one another's workers.
class GrowingTaskQueue : public httplib::TaskQueue {
 public:
  GrowingTaskQueue(int min, int max) : min_(min), max_(max) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < min_; ++i) StartLocked();
  }
  ~GrowingTaskQueue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    if (static_cast<int>(jobs_.size()) > idle_ && live_ < max_) StartLocked();
    work_.notify_one();
  }

  void shutdown() override {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    work_.notify_all();
    gone_.wait(lock, [&] { return live_ == 0; });
  }

 private:
  void StartLocked() {
    ++live_;
    std::thread([this] { Work(); }).detach();
  }
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      const bool woke = work_.wait_for(lock, kWorkerIdle, [&] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (!jobs_.empty()) {
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
        continue;
      }
      if (stopping_ || (!woke && live_ > min_)) break;
    }
    if (--live_ == 0) gone_.notify_all();
  }

  const int min_;
  const int max_;
  std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable gone_;
  std::deque<std::function<void()>> jobs_;
  int live_ = 0;
  int idle_ = 0;
  bool stopping_ = false;
};

// Set while a worker serves a connection: where CloseAfterResponse marks it.
thread_local bool* t_close_after = nullptr;

void AddressOf(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  char host[NI_MAXHOST] = {}, serv[NI_MAXSERV] = {};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv,
                  sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

// One TLS connection over a non-blocking socket. Every read and write waits
// at most io_timeout for progress and never past the deadline of the phase
// (handshake, headers, body) it is in; in the header phase it also counts
// bytes and lines. Once it fails, it stays failed.
class TlsStream : public httplib::Stream {
 public:
  TlsStream(socket_t sock, SSL* ssl, const ConnectionLimits& limits,
            const std::atomic<socket_t>& listener)
      : sock_(sock), ssl_(ssl), limits_(limits), listener_(listener) {}

  enum class Phase { kHandshake, kHeaders, kBody };
  void Begin(Phase phase, int64_t deadline_ms) {
    phase_ = phase;
    deadline_ms_ = deadline_ms;
    header_bytes_ = 0;
    header_lines_ = 0;
  }
  bool failed() const { return failed_; }  // a read failed or was cut
  const char* cut_reason() const { return cut_reason_; }
  bool stopping() const { return listener_ == INVALID_SOCKET; }

  // Runs the TLS handshake within the current deadline.
  bool Handshake() {
    for (;;) {
      ERR_clear_error();
      const int r = SSL_accept(ssl_);
      if (r == 1) return true;
      const int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, false)) return false;
        continue;
      }
      return Fail("handshake_failed");
    }
  }

  // Waits up to idle_timeout for the first byte of a next request; false
  // if none came, the peer closed, or the server stops.
  bool WaitForRequest(int64_t idle_ms) {
    if (SSL_pending(ssl_) > 0) return true;
    const int64_t end = NowMs() + idle_ms;
    for (;;) {
      if (stopping()) return false;
      const int64_t left = end - NowMs();
      if (left <= 0) return false;
      pollfd p{sock_, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min(left, kSliceMs)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
  }

  bool is_readable() const override { return SSL_pending(ssl_) > 0 || PollOnce(POLLIN); }
  bool is_writable() const override { return !write_failed_ && PollOnce(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    if (failed_) return -1;
    if (phase_ == Phase::kHeaders) {
      if (header_bytes_ >= limits_.max_header_bytes) return Fail("header_too_large"), -1;
      size = std::min(size, limits_.max_header_bytes - header_bytes_);
    }
    size = std::min<size_t>(size, 1 << 30);
    for (;;) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, ptr, static_cast<int>(size));
      if (n > 0) {
        if (phase_ == Phase::kHeaders) {
          header_bytes_ += n;
          header_lines_ += std::count(ptr, ptr + n, '\n');
          // The request line and the blank line are lines too.
          if (header_lines_ > limits_.max_header_lines + 2) return Fail("header_too_large"), -1;
        }
        return n;
      }
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, false)) return -1;
        continue;
      }
      if (err == SSL_ERROR_ZERO_RETURN) return 0;
      failed_ = true;
      return -1;
    }
  }

  // A read that failed (headers too large, a deadline) still lets the
  // answer that cpp-httplib gives it (400) be written.
  ssize_t write(const char* ptr, size_t size) override {
    if (write_failed_) return -1;
    size = std::min<size_t>(size, 1 << 30);
    for (;;) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, ptr, static_cast<int>(size));
      if (n > 0) return n;
      const int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        // Writing an answer is bound by io_timeout only: its size is the
        // server's choice, and a reader that stops is cut after it.
        if (!Wait(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, true)) {
          write_failed_ = true;
          return -1;
        }
        continue;
      }
      failed_ = write_failed_ = true;
      return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) AddressOf(addr, len, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) AddressOf(addr, len, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  bool Fail(const char* reason) {
    failed_ = true;
    if (!cut_reason_) cut_reason_ = reason;
    return false;
  }
  bool PollOnce(short events) const {
    pollfd p{sock_, events, 0};
    return ::poll(&p, 1, static_cast<int>(std::min<int64_t>(limits_.io_timeout_ms, INT32_MAX))) > 0;
  }
  // Waits for `events` until io_timeout passes without them or (unless
  // `writing`) the phase's deadline passes.
  bool Wait(short events, bool writing) {
    const int64_t now = NowMs();
    int64_t end = now + limits_.io_timeout_ms;
    const bool phase_bound = !writing && deadline_ms_ < end;
    if (phase_bound) end = deadline_ms_;
    for (;;) {
      const int64_t left = end - NowMs();
      if (left <= 0) {
        if (!phase_bound) return Fail("io_timeout");
        switch (phase_) {
          case Phase::kHandshake: return Fail("handshake_timeout");
          case Phase::kHeaders: return Fail("header_timeout");
          case Phase::kBody: return Fail("body_timeout");
        }
      }
      pollfd p{sock_, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min(left, kSliceMs * 5)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return Fail("io_error");
    }
  }

  const socket_t sock_;
  SSL* const ssl_;
  const ConnectionLimits& limits_;
  const std::atomic<socket_t>& listener_;
  Phase phase_ = Phase::kHandshake;
  int64_t deadline_ms_ = 0;
  size_t header_bytes_ = 0;
  size_t header_lines_ = 0;
  bool failed_ = false;
  bool write_failed_ = false;
  const char* cut_reason_ = nullptr;
};

// Reads and drops what the client still sends, until it closes or
// kLingerMs pass, so that close() does not turn unread bytes into a reset
// that could destroy the answer before the client read it.
void Linger(socket_t sock) {
  ::shutdown(sock, SHUT_WR);
  const int64_t end = NowMs() + kLingerMs;
  char sink[16384];
  for (int64_t left; (left = end - NowMs()) > 0;) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return;
    const ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) return;
  }
}

}  // namespace

GuardedServer::GuardedServer(TlsContext* tls, ConnectionLimits limits, CutCounter count_cut)
    : tls_(tls), limits_(limits), count_cut_(std::move(count_cut)) {
  const int min = std::max(1, limits_.min_threads);
  // A few more workers than connections, so that one past the cap is
  // still picked up and closed at once rather than queued.
  const int max = std::max(min, limits_.max_connections + 8);
  new_task_queue = [min, max] { return new GrowingTaskQueue(min, max); };
}

void GuardedServer::CloseAfterResponse(httplib::Response& res) {
  if (t_close_after) *t_close_after = true;
  res.set_header("Connection", "close");
}

void GuardedServer::WidenBacklog(int backlog) {
  // listen() again on a listening socket only changes its backlog.
  if (svr_sock_ != INVALID_SOCKET) ::listen(svr_sock_, backlog);
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  if (open_.fetch_add(1) >= limits_.max_connections) {
    count_cut_("too_many_connections");
  } else {
    Serve(sock);
  }
  open_.fetch_sub(1);
  ::close(sock);
  return true;
}

void GuardedServer::Serve(socket_t sock) {
  if (auto reloaded = tls_->ReloadIfChanged(); !reloaded) {
    std::cerr << "coffre-vault: TLS certificate not reloaded: " << reloaded.error().message()
              << std::endl;
  }
  const int on = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  std::shared_ptr<SSL_CTX> ctx = tls_->Current();
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), sock) != 1) return;
  TlsStream stream(sock, ssl.get(), limits_, svr_sock_);
  stream.Begin(TlsStream::Phase::kHandshake, NowMs() + limits_.handshake_timeout_ms);
  if (!stream.Handshake()) {
    if (stream.cut_reason()) count_cut_(stream.cut_reason());
    return;
  }
  bool close_after = false;
  t_close_after = &close_after;
  for (size_t count = keep_alive_max_count_; count > 0; --count) {
    if (!stream.WaitForRequest(limits_.idle_timeout_ms)) break;
    stream.Begin(TlsStream::Phase::kHeaders, NowMs() + limits_.header_timeout_ms);
    bool connection_closed = false;
    const bool ok = process_request(
        stream, count == 1 || stream.stopping(), connection_closed, [&](httplib::Request& req) {
          stream.Begin(TlsStream::Phase::kBody, NowMs() + limits_.body_timeout_ms);
          req.ssl = ssl.get();
        });
    if (!ok || connection_closed || close_after || stream.failed()) break;
  }
  t_close_after = nullptr;
  if (stream.cut_reason()) count_cut_(stream.cut_reason());
  if (!stream.failed() || close_after) SSL_shutdown(ssl.get());  // close_notify; the peer's is not awaited
  if (close_after) Linger(sock);
}

}  // namespace coffre::vault
