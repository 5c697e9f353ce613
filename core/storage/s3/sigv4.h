// AWS Signature Version 4 for S3 requests (header-based, payload in one
// piece): what the S3 backend uses to authenticate to Ceph RGW or AWS.
//
// The signer sends nothing. It takes a request as the caller means it (raw
// path, raw query parameters, headers) and returns what must go on the wire:
// the encoded path, the encoded and sorted query, the headers to add. Sending
// exactly those makes the request sent the request signed.
//
// S3 rules followed (not the generic AWS ones): the path is URI-encoded once
// and never normalized ("//", "." and ".." are parts of S3 keys).
// Secrets: the secret key appears in no error message and no output; only
// the signature is derived from it. Thread-safety: Sign is const and keeps no
// state, so one Signer may sign from many threads at once.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/crypto/hash.h"

namespace coffre::storage::s3 {

// The x-amz-content-sha256 value for a body that is not hashed.
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary (STS) credentials
};

struct SignerOptions {
  std::string region;  // "us-east-1"; RGW accepts its zonegroup name
  std::string service = "s3";
  // S3 requires x-amz-content-sha256 on every request; other AWS services
  // do not know it (the generic AWS test suite signs without it).
  bool add_content_sha256 = true;
};

// Query parameters or headers: ordered, repeats allowed.
using NameValues = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "PUT"... : uppercase letters only
  // The raw path, not encoded: "/bucket/dir/key with space". Must start
  // with '/'. A '%' here is a literal percent sign, sent as %25.
  std::string path;
  // Raw names and values, in any order, not encoded. A subresource without
  // a value (?uploads) is {"uploads", ""}.
  NameValues query;
  // Every header the caller will send, in any case and order; "host" is
  // required. All are signed. Repeated names are joined with ',' in the
  // given order. Must not include authorization, x-amz-date,
  // x-amz-content-sha256 or x-amz-security-token: the signer sets those.
  // Headers the HTTP client adds itself (content-length) may stay unsigned;
  // every x-amz-* header sent must be here.
  NameValues headers;
  // Lowercase hex SHA-256 of the body (PayloadHash), or kUnsignedPayload.
  std::string payload_hash;
  // The request time, "YYYYMMDDTHHMMSSZ" in UTC: AmzDate(now). S3 rejects a
  // request whose time is more than 15 minutes away from its clock.
  std::string amz_date;
};

struct SignedRequest {
  std::string canonical_uri;    // the path to send: "/test%24file.text"
  std::string canonical_query;  // the query to send after '?', or ""
  std::string canonical_request;
  std::string signed_headers;    // "host;range;x-amz-content-sha256;x-amz-date"
  std::string credential_scope;  // "20130524/us-east-1/s3/aws4_request"
  std::string string_to_sign;
  std::string signature;      // 64 lowercase hex digits
  std::string authorization;  // the whole Authorization header value
  // Headers to send besides the caller's, lowercase: x-amz-date, then
  // x-amz-content-sha256 and x-amz-security-token if any, authorization last.
  NameValues headers_to_add;
};

class Signer {
 public:
  // kInvalidArgument if the access key id, secret, region or service is
  // empty, if the key id, region or service holds a character that would
  // break the credential scope ('/', ',', space, control characters), or if
  // the session token holds a control character. No message quotes a secret.
  static Result<Signer> Create(Credentials credentials, SignerOptions options);

  Signer(Signer&&) = default;
  Signer& operator=(Signer&&) = default;
  Signer(const Signer&) = delete;  // one copy of the secret, not many
  Signer& operator=(const Signer&) = delete;
  ~Signer();

  // Signs `request`. kInvalidArgument, naming the offending part, for a
  // malformed method, path, header name or value (CR, LF and other control
  // characters are refused: they would split the request), a missing host,
  // a header the signer owns, a bad payload hash or a bad amz_date. Pure
  // computation: never blocks, and the same input gives the same output.
  Result<SignedRequest> Sign(const Request& request) const;

 private:
  Signer(Credentials credentials, SignerOptions options)
      : credentials_(std::move(credentials)), options_(std::move(options)) {}

  Credentials credentials_;
  SignerOptions options_;
};

// The steps of Sign, exposed so that tests can check each one against AWS's
// published intermediate values. First, "YYYYMMDDTHHMMSSZ" of `time` in UTC
// (a fraction of a second is dropped).
std::string AmzDate(std::chrono::system_clock::time_point time);

// Lowercase hex SHA-256 of a body, for Request::payload_hash.
std::string PayloadHash(std::string_view body);

// Percent-encodes every byte except the RFC 3986 unreserved characters
// A-Z a-z 0-9 - . _ ~ (and '/' when `keep_slash`), as %XX in uppercase hex.
// UTF-8 is encoded byte by byte.
std::string UriEncode(std::string_view raw, bool keep_slash);

// The encoded path: each segment UriEncoded, the '/' between them kept.
// kInvalidArgument unless `raw_path` starts with '/'.
Result<std::string> CanonicalUri(std::string_view raw_path);

// Names and values UriEncoded (a '/' too), pairs sorted by encoded name then
// encoded value, joined as "a=1&b=&c=3". kInvalidArgument for an empty name.
Result<std::string> CanonicalQuery(const NameValues& query);

struct CanonicalHeaders {
  std::string block;           // "host:example.com\nrange:bytes=0-9\n"
  std::string signed_headers;  // "host;range"
};
// Names lowercased, values trimmed with inner runs of spaces and tabs
// collapsed to one space, repeated names joined with ',', sorted by name.
// kInvalidArgument for an empty or non-token name or a control character in
// a value; the message names the header, never its value.
Result<CanonicalHeaders> CanonicalizeHeaders(const NameValues& headers);

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
// "aws4_request"), `date` being "YYYYMMDD". The caller owns the key and
// should wipe it (SecureWipe) once done.
crypto::Digest DeriveSigningKey(std::string_view secret_access_key, std::string_view date,
                                std::string_view region, std::string_view service);

}  // namespace coffre::storage::s3
