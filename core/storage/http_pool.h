// HttpPool: kept-alive HTTP(S) connections to one server, leased one
// request at a time, so several threads send at once without a TCP and TLS
// handshake per request (the vault's client and the S3 storage use it).
// Thread-safety: Acquire may be called from many threads; a Lease belongs
// to the thread that holds it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace coffre::storage {

template <typename Client>
class HttpPool {
 public:
  // `make` opens a new connection (not yet connected: the client connects
  // on its first request); at most `max_idle` wait in the pool between
  // requests.
  HttpPool(std::function<std::unique_ptr<Client>()> make, size_t max_idle)
      : make_(std::move(make)), max_idle_(max_idle) {}

  // One request's connection. It goes back to the pool when the lease dies,
  // unless the request failed at the transport level (MarkBroken): such a
  // connection is closed, never reused.
  class Lease {
   public:
    Lease(HttpPool* pool, std::unique_ptr<Client> client)
        : pool_(pool), client_(std::move(client)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (client_ && !broken_) pool_->Return(std::move(client_));
    }
    Client& operator*() { return *client_; }
    Client* operator->() { return client_.get(); }
    void MarkBroken() { broken_ = true; }

   private:
    HttpPool* pool_;
    std::unique_ptr<Client> client_;
    bool broken_ = false;
  };

  Lease Acquire() {
    std::unique_ptr<Client> client;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        client = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!client) client = make_();
    return Lease(this, std::move(client));
  }

 private:
  void Return(std::unique_ptr<Client> client) {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(client));
  }

  const std::function<std::unique_ptr<Client>()> make_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Client>> idle_;
};

}  // namespace coffre::storage
