#include "core/storage/s3/s3_bucket.h"

#include <httplib.h>

#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/storage/http_headers.h"
#include "core/storage/http_pool.h"

namespace coffre::storage::s3 {

namespace {

constexpr char kContentType[] = "application/octet-stream";
// What a stream may hold between its writer and its request at once.
constexpr size_t kStreamQueueBytes = 1 << 20;

// The text of the first <tag>...</tag> in `xml` at or after `*from` (moved
// past it), with the five XML entities decoded; nullopt if there is none.
std::optional<std::string> XmlElement(std::string_view xml, std::string_view tag,
                                      size_t* from = nullptr) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const size_t start = xml.find(open, from ? *from : 0);
  if (start == std::string_view::npos) return std::nullopt;
  const size_t begin = start + open.size();
  const size_t end = xml.find(close, begin);
  if (end == std::string_view::npos) return std::nullopt;
  if (from) *from = end + close.size();
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (xml[i] != '&') {
      out += xml[i];
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool known = false;
    for (const auto& [entity, c] : kEntities) {
      if (xml.substr(i, entity.size()) == entity) {
        out += c;
        i += entity.size() - 1;
        known = true;
        break;
      }
    }
    if (!known) out += '&';
  }
  return out;
}

// "https://host:port" split; the port defaults by scheme.
struct Endpoint {
  bool https = false;
  std::string host;
  int port = 0;
};

Result<Endpoint> ParseEndpoint(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Err(InvalidArgumentError("S3 endpoint '" + url + "': " + why +
                                    " (expected http://HOST[:PORT] or https://HOST[:PORT])"));
  };
  Endpoint out;
  std::string_view rest(url);
  if (rest.rfind("https://", 0) == 0) {
    out.https = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return bad("no http:// or https://");
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("a path is not allowed");
  const size_t colon = rest.rfind(':');
  out.port = out.https ? 443 : 80;
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    auto port = ParseDecimal(rest.substr(colon + 1));
    if (!port || *port == 0 || *port > 65535) return bad("bad port");
    out.port = static_cast<int>(*port);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  out.host = std::string(rest);
  return out;
}

}  // namespace

// One bucket's requests: signing, the connection pool, and what S3's
// answers mean.
class S3Bucket::Client {
 public:
  struct Answer {
    int status = 0;
    httplib::Headers headers;
    std::string body;  // the error document, or a small answer's body
    std::optional<uint64_t> range_total;
  };

  Client(S3Options options, Endpoint endpoint, Signer signer)
      : options_(std::move(options)),
        endpoint_(std::move(endpoint)),
        signer_(std::move(signer)),
        host_(options_.virtual_hosted ? options_.bucket + "." + endpoint_.host : endpoint_.host),
        pool_([this] { return NewConnection(); }, options_.max_connections) {}

  const S3Options& options() const { return options_; }

  std::string Location() const {
    return std::string(endpoint_.https ? "https://" : "http://") + host_ + ":" +
           std::to_string(endpoint_.port) + "/" +
           (options_.virtual_hosted ? "" : options_.bucket + "/");
  }

  // What a request sends besides its method and key.
  struct Send {
    NameValues query;
    NameValues headers;        // signed; lowercase names
    std::string payload_hash;  // PayloadHash(body), or kUnsignedPayload
    const std::string* body = nullptr;
    // A streamed body of `length` bytes instead of `body`.
    std::optional<uint64_t> length;
    httplib::ContentProvider provider;
    // Where a GET's body goes; true to go on.
    std::function<bool(const char*, size_t)> receive;
  };

  // Sends one request for `key` ("" for the bucket itself). A transport
  // failure is kUnavailable (or kAuthFailed for an untrusted certificate);
  // any HTTP answer, error or not, is returned.
  Result<Answer> Request(const std::string& method, const std::string& key, Send send,
                         const std::string& what) {
    const std::string path =
        options_.virtual_hosted ? "/" + key : "/" + options_.bucket + (key.empty() ? "" : "/" + key);
    s3::Request request;
    request.method = method;
    request.path = path;
    request.query = send.query;
    request.headers = send.headers;
    request.headers.emplace_back("host", HostHeader());
    request.payload_hash = send.payload_hash.empty() ? PayloadHash("") : send.payload_hash;
    request.amz_date =
        AmzDate(options_.clock ? options_.clock() : std::chrono::system_clock::now());
    ASSIGN_OR_RETURN(SignedRequest signed_request, signer_.Sign(request));

    httplib::Headers headers;
    for (const auto& [name, value] : send.headers) headers.emplace(name, value);
    headers.emplace("Host", HostHeader());
    for (const auto& [name, value] : signed_request.headers_to_add) headers.emplace(name, value);
    const std::string target = signed_request.canonical_uri +
                               (signed_request.canonical_query.empty()
                                    ? ""
                                    : "?" + signed_request.canonical_query);

    Answer answer;
    auto lease = pool_.Acquire();
    httplib::Result res = [&] {
      if (method == "GET") {
        return lease->Get(
            target, headers,
            [&](const httplib::Response& response) {
              answer.status = response.status;
              answer.range_total = ContentRangeTotal(response.get_header_value("Content-Range"));
              return true;
            },
            [&](const char* data, size_t n) {
              if (answer.status / 100 == 2 && send.receive) return send.receive(data, n);
              if (answer.body.size() < 4096) answer.body.append(data, std::min<size_t>(n, 4096));
              return true;
            });
      }
      if (method == "HEAD") return lease->Head(target, headers);
      if (method == "DELETE") return lease->Delete(target, headers);
      if (send.length) return lease->Put(target, headers, *send.length, send.provider, kContentType);
      static const std::string kEmpty;
      return lease->Put(target, headers, send.body ? *send.body : kEmpty, kContentType);
    }();
    if (!res) {
      lease.MarkBroken();
      if (res.error() == httplib::Error::SSLServerVerification)
        return Err(AuthFailedError(what + ": the S3 endpoint's TLS certificate is not trusted "
                                          "(give its CA with ca_file)"));
      if (res.error() == httplib::Error::Canceled && answer.status / 100 == 2)
        return Err(CancelledError(what + ": stopped by the caller"));
      return Err(UnavailableError(what + ": no answer from S3 at " + Location() + " (" +
                                  httplib::to_string(res.error()) + ")"));
    }
    if (method != "GET") {
      answer.status = res->status;
      answer.body = res->body.substr(0, 4096);
      answer.range_total = ContentRangeTotal(res->get_header_value("Content-Range"));
    }
    answer.headers = res->headers;
    return answer;
  }

  // An error answer as a Status, naming S3's code.
  Status ErrorOf(const Answer& answer, const std::string& what) const {
    const std::string code = XmlElement(answer.body, "Code").value_or("");
    const std::string said = code.empty() ? "HTTP " + std::to_string(answer.status)
                                          : code + " (HTTP " + std::to_string(answer.status) + ")";
    const std::string why = what + ": S3 answered " + said;
    if (code == "RequestTimeTooSkewed")
      return AuthFailedError(what + ": this machine's clock is more than 15 minutes away from "
                                    "the S3 server's (RequestTimeTooSkewed): set the time");
    if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" ||
        (answer.status == 403 && code.empty()))
      return AuthFailedError(what + ": S3 refused the credentials (" + said +
                             "): check the access key and the secret");
    if (code == "NoSuchBucket")
      return NotFoundError(what + ": S3 has no bucket '" + options_.bucket + "' at " +
                           options_.endpoint);
    if (answer.status == 403) return PermissionDeniedError(why);
    if (answer.status == 404) return NotFoundError(why);
    if (answer.status == 412 || code == "ConditionalRequestConflict")
      return AlreadyExistsError(why);
    if (code == "QuotaExceeded" || answer.status == 507) return NoSpaceError(why);
    if (answer.status >= 500 || answer.status == 408 || answer.status == 429 ||
        code == "SlowDown" || code == "RequestTimeout")
      return UnavailableError(why);
    return InvalidArgumentError(why);
  }

 private:
  std::string HostHeader() const {
    const bool default_port = endpoint_.port == (endpoint_.https ? 443 : 80);
    return default_port ? host_ : host_ + ":" + std::to_string(endpoint_.port);
  }

  std::unique_ptr<httplib::Client> NewConnection() {
    const std::string base = std::string(endpoint_.https ? "https://" : "http://") +
                             (options_.virtual_hosted ? host_ : endpoint_.host) + ":" +
                             std::to_string(endpoint_.port);
    auto client = std::make_unique<httplib::Client>(base);
    if (endpoint_.https) {
      if (!options_.ca_file.empty()) client->set_ca_cert_path(options_.ca_file.c_str());
      client->enable_server_certificate_verification(true);
    }
    client->set_url_encode(false);  // the path is sent as it was signed
    client->set_decompress(false);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    client->set_connection_timeout(options_.timeout_seconds, 0);
    client->set_read_timeout(options_.timeout_seconds, 0);
    client->set_write_timeout(options_.timeout_seconds, 0);
    return client;
  }

  S3Options options_;
  const Endpoint endpoint_;
  const Signer signer_;
  const std::string host_;
  HttpPool<httplib::Client> pool_;
};

// One PUT fed by Write from another thread, through a bounded queue. The
// last byte is held back until Commit: S3 makes an object visible when its
// whole body arrived, so until then nothing is.
class S3Bucket::Writer : public ObjectWriter {
 public:
  Writer(S3Bucket& owner, std::string key, std::string label, uint64_t size)
      : owner_(owner), key_(std::move(key)), label_(std::move(label)), size_(size) {}

  ~Writer() override {
    {
      std::lock_guard lock(mu_);
      aborted_ = true;
    }
    changed_.notify_all();
    if (request_.joinable()) request_.join();
  }

  Status Write(ByteView data) override {
    if (committed_) return InternalError("write after commit");
    if (data.size() > size_ - written_) return CheckStreamedSize(label_, written_ + data.size(), size_);
    written_ += data.size();
    if (written_ == size_ && !data.empty()) {  // keep the object's last byte for Commit
      held_ = data.back();
      data = data.first(data.size() - 1);
    }
    if (data.empty()) return Status::Ok();
    if (!request_.joinable()) request_ = std::thread([this] { Run(); });
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return queued_ < kStreamQueueBytes || finished_; });
    if (finished_) return result_.ok() ? InternalError("S3 answered before the body ended") : result_;
    queue_.emplace_back(data.begin(), data.end());
    queued_ += data.size();
    changed_.notify_all();
    return Status::Ok();
  }

  Status Commit() override {
    if (committed_) return InternalError("commit twice");
    RETURN_IF_ERROR(CheckStreamedSize(label_, written_, size_));
    committed_ = true;
    if (!request_.joinable()) {  // nothing or one byte: one plain PUT
      Bytes whole;
      if (held_) whole.push_back(*held_);
      return owner_.PutIfAbsent(key_, whole, label_);
    }
    {
      std::lock_guard lock(mu_);
      if (held_) {
        queue_.emplace_back(1, *held_);
        ++queued_;
      }
      closed_ = true;
    }
    changed_.notify_all();
    request_.join();
    return result_;
  }

 private:
  void Run() {
    Client& client = *owner_.client_;
    Client::Send send;
    send.headers = {{"if-none-match", "*"}};
    send.payload_hash = std::string(kUnsignedPayload);
    send.length = size_;
    send.provider = [this](size_t, size_t, httplib::DataSink& sink) {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return !queue_.empty() || aborted_; });
      if (aborted_ && !closed_) return false;  // cut: S3 keeps nothing
      if (queue_.empty()) return false;
      Bytes piece = std::move(queue_.front());
      queue_.pop_front();
      queued_ -= piece.size();
      lock.unlock();
      changed_.notify_all();
      return sink.write(reinterpret_cast<const char*>(piece.data()), piece.size());
    };
    const std::string what = "save " + label_;
    auto answer = client.Request("PUT", key_, std::move(send), what);
    Status status = !answer ? answer.error()
                    : answer->status / 100 == 2 ? Status::Ok()
                                                : client.ErrorOf(*answer, what);
    std::lock_guard lock(mu_);
    result_ = std::move(status);
    finished_ = true;
    changed_.notify_all();
  }

  S3Bucket& owner_;
  const std::string key_;
  const std::string label_;
  const uint64_t size_;
  uint64_t written_ = 0;
  std::optional<uint8_t> held_;
  bool committed_ = false;
  std::thread request_;

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Bytes> queue_;
  size_t queued_ = 0;
  bool closed_ = false;    // Commit queued the last byte
  bool aborted_ = false;   // the writer is being destroyed
  bool finished_ = false;  // the request returned, with result_
  Status result_;
};

Result<std::shared_ptr<S3Bucket>> S3Bucket::Open(const S3Options& options) {
  if (options.bucket.empty()) return Err(InvalidArgumentError("S3: no bucket given"));
  ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(options.endpoint));
  SignerOptions signer_options;
  signer_options.region = options.region;
  ASSIGN_OR_RETURN(Signer signer, Signer::Create(options.credentials, signer_options));
  auto client = std::make_unique<Client>(options, std::move(endpoint), std::move(signer));
  const std::string what = "open S3 bucket '" + options.bucket + "'";
  ASSIGN_OR_RETURN(Client::Answer answer, client->Request("HEAD", "", {}, what));
  if (answer.status != 200) {
    // A HEAD has no error document: say what its status means here.
    if (answer.status == 404)
      return Err(NotFoundError(what + ": S3 has no bucket '" + options.bucket + "' at " +
                               options.endpoint));
    if (answer.status == 403) {
      // Ask again with a GET, whose error document tells a wrong key from
      // a skewed clock.
      Client::Send send;
      send.query = {{"list-type", "2"}, {"max-keys", "1"}};
      ASSIGN_OR_RETURN(Client::Answer listing, client->Request("GET", "", send, what));
      return Err(client->ErrorOf(listing.status == 200 ? answer : listing, what));
    }
    return Err(client->ErrorOf(answer, what));
  }
  return std::shared_ptr<S3Bucket>(new S3Bucket(std::move(client)));
}

Status S3Bucket::Create(const S3Options& options) {
  ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(options.endpoint));
  SignerOptions signer_options;
  signer_options.region = options.region;
  ASSIGN_OR_RETURN(Signer signer, Signer::Create(options.credentials, signer_options));
  Client client(options, std::move(endpoint), std::move(signer));
  const std::string what = "create S3 bucket '" + options.bucket + "'";
  ASSIGN_OR_RETURN(Client::Answer answer, client.Request("PUT", "", {}, what));
  if (answer.status / 100 == 2) return Status::Ok();
  const std::string code = XmlElement(answer.body, "Code").value_or("");
  if (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists")
    return AlreadyExistsError(what + ": it exists");
  return client.ErrorOf(answer, what);
}

S3Bucket::S3Bucket(std::unique_ptr<Client> client) : client_(std::move(client)) {}
S3Bucket::~S3Bucket() = default;

std::string S3Bucket::Location() const { return client_->Location(); }

Result<std::unique_ptr<ObjectWriter>> S3Bucket::StreamPut(const std::string& key, uint64_t size,
                                                          const std::string& label) {
  return std::unique_ptr<ObjectWriter>(new Writer(*this, key, label, size));
}

Status S3Bucket::PutIfAbsent(const std::string& key, ByteView data, const std::string& label) {
  const std::string what = "save " + label;
  const std::string body(AsChars(data));
  Client::Send send;
  send.headers = {{"if-none-match", "*"}};
  send.payload_hash = PayloadHash(body);
  send.body = &body;
  ASSIGN_OR_RETURN(Client::Answer answer, client_->Request("PUT", key, send, what));
  if (answer.status / 100 == 2) return Status::Ok();
  return client_->ErrorOf(answer, what);
}

Result<Bytes> S3Bucket::Get(const std::string& key, uint64_t offset, uint64_t length,
                            const std::string& label) {
  const std::string what = "load " + label;
  auto past_end = [&](std::optional<uint64_t> size) {
    return Err(CorruptionError("object " + label + ": range " + std::to_string(offset) + "+" +
                               std::to_string(length) + " runs past its end" +
                               (size ? " (" + std::to_string(*size) + " bytes)" : "")));
  };
  if (length > UINT64_MAX - offset) return past_end(std::nullopt);
  Bytes out;
  if (length) out.reserve(std::min<uint64_t>(length, uint64_t{64} << 20));
  Client::Send send;
  if (offset != 0 || length != 0) {
    send.headers = {{"range", "bytes=" + std::to_string(offset) + "-" +
                                  (length ? std::to_string(offset + length - 1) : "")}};
  }
  send.receive = [&](const char* data, size_t n) {
    if (length && out.size() + n > length) return false;
    out.insert(out.end(), data, data + n);
    return true;
  };
  ASSIGN_OR_RETURN(Client::Answer answer, client_->Request("GET", key, send, what));
  if (answer.status == 416) {
    // Reading from the very end to the end is reading nothing.
    std::optional<uint64_t> size = answer.range_total;
    if (!size) {
      auto head = Head(key, label);
      if (head) size = *head;
    }
    if (length == 0 && size && *size == offset) return Bytes{};
    return past_end(size);
  }
  if (answer.status == 404) return Err(NotFoundError(label + " does not exist"));
  if (answer.status != 200 && answer.status != 206) return Err(client_->ErrorOf(answer, what));
  if (answer.status == 206 && length && answer.range_total &&
      *answer.range_total < offset + length)
    return past_end(answer.range_total);
  if (length && out.size() != length)
    return Err(UnavailableError(what + ": S3 sent " + std::to_string(out.size()) +
                                " bytes of the " + std::to_string(length) + " asked for"));
  return out;
}

Result<uint64_t> S3Bucket::Head(const std::string& key, const std::string& label) {
  const std::string what = "stat " + label;
  ASSIGN_OR_RETURN(Client::Answer answer, client_->Request("HEAD", key, {}, what));
  if (answer.status == 404) return Err(NotFoundError(label + " does not exist"));
  if (answer.status != 200) return Err(client_->ErrorOf(answer, what));
  auto it = answer.headers.find("Content-Length");
  auto size = it == answer.headers.end() ? std::nullopt : ParseDecimal(it->second);
  if (!size) return Err(UnavailableError(what + ": S3 sent no size"));
  return *size;
}

Status S3Bucket::Delete(const std::string& key, const std::string& label) {
  const std::string what = "remove " + label;
  ASSIGN_OR_RETURN(Client::Answer answer, client_->Request("DELETE", key, {}, what));
  if (answer.status / 100 == 2 || answer.status == 404) return Status::Ok();
  return client_->ErrorOf(answer, what);
}

Status S3Bucket::List(const std::string& prefix,
                      const std::function<Status(const std::string& key, uint64_t size)>& fn) {
  const std::string what = "list " + prefix;
  std::string token;
  while (true) {
    Client::Send send;
    send.query = {{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) send.query.emplace_back("continuation-token", token);
    std::string body;
    send.receive = [&](const char* data, size_t n) {
      body.append(data, n);
      return true;
    };
    ASSIGN_OR_RETURN(Client::Answer answer, client_->Request("GET", "", send, what));
    if (answer.status != 200) return client_->ErrorOf(answer, what);
    size_t at = 0;
    while (auto contents = XmlElement(body, "Contents", &at)) {
      const std::string key = XmlElement(*contents, "Key").value_or("");
      auto size = ParseDecimal(XmlElement(*contents, "Size").value_or(""));
      if (key.rfind(prefix, 0) != 0 || !size)
        return UnavailableError(what + ": S3 sent a malformed listing");
      RETURN_IF_ERROR(fn(key, *size));
    }
    if (XmlElement(body, "IsTruncated").value_or("false") != "true") return Status::Ok();
    token = XmlElement(body, "NextContinuationToken").value_or("");
    if (token.empty()) return UnavailableError(what + ": S3 sent a truncated listing without a token");
  }
}

}  // namespace coffre::storage::s3
