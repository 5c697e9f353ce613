#include "core/storage/s3/sigv4.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/base/bytes.h"

namespace coffre::storage::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kScopeTerminator = "aws4_request";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 9110 "token": what a header name may be made of.
bool IsTokenChar(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Number(std::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

// Region, service and access key id end up inside "Credential=a/b/c/d, ...":
// a '/', ',' or blank in one of them would shift the scope the server parses.
Status ValidateScopeField(std::string_view what, std::string_view value) {
  if (value.empty()) return InvalidArgumentError("s3 signer: empty " + std::string(what));
  for (unsigned char c : value) {
    if (IsControl(c) || c == ' ' || c == '/' || c == ',') {
      return InvalidArgumentError("s3 signer: " + std::string(what) +
                                  " holds a character not allowed in a credential scope");
    }
  }
  return Status::Ok();
}

Status ValidateMethod(std::string_view method) {
  if (method.empty() ||
      !std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return InvalidArgumentError("s3 signer: the method must be uppercase letters (\"GET\")");
  }
  return Status::Ok();
}

Status ValidatePayloadHash(std::string_view hash) {
  if (hash == kUnsignedPayload) return Status::Ok();
  bool hex = hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
             });
  if (!hex) {
    return InvalidArgumentError(
        "s3 signer: the payload hash must be 64 lowercase hex digits or UNSIGNED-PAYLOAD");
  }
  return Status::Ok();
}

// "YYYYMMDDTHHMMSSZ" with plausible fields; the server checks the rest.
Status ValidateAmzDate(std::string_view date) {
  bool shape = date.size() == 16 && date[8] == 'T' && date[15] == 'Z' &&
               IsDigits(date.substr(0, 8)) && IsDigits(date.substr(9, 6));
  if (shape) {
    int month = Number(date.substr(4, 2)), day = Number(date.substr(6, 2));
    int hour = Number(date.substr(9, 2)), minute = Number(date.substr(11, 2));
    int second = Number(date.substr(13, 2));
    shape = month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
            second <= 60;
  }
  if (!shape) {
    return InvalidArgumentError("s3 signer: amz_date must be \"YYYYMMDDTHHMMSSZ\" in UTC");
  }
  return Status::Ok();
}

// Trims spaces and tabs at both ends and folds each inner run into one
// space. Control characters (CR and LF above all) are refused.
Result<std::string> NormalizeHeaderValue(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (unsigned char c : value) {
    if (c == ' ' || c == '\t') {
      pending_space = !out.empty();
      continue;
    }
    if (IsControl(c)) {
      return Err(InvalidArgumentError("s3 signer: header " + std::string(name) +
                                      " has a control character in its value"));
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

bool IsSignerOwnedHeader(std::string_view lowercase_name) {
  return lowercase_name == "authorization" || lowercase_name == "x-amz-date" ||
         lowercase_name == "x-amz-content-sha256" || lowercase_name == "x-amz-security-token";
}

// The caller's headers must name the host and leave the signer's own alone:
// two x-amz-date values, say, would make the request sent differ from the
// one signed.
Status ValidateCallerHeaders(const NameValues& headers) {
  bool has_host = false;
  for (const auto& header : headers) {
    std::string name = Lowercase(header.first);
    if (IsSignerOwnedHeader(name)) {
      return InvalidArgumentError("s3 signer: header " + name +
                                  " is set by the signer, not by the caller");
    }
    has_host = has_host || name == "host";
  }
  if (!has_host) return InvalidArgumentError("s3 signer: the request has no host header");
  return Status::Ok();
}

crypto::Digest Hmac(ByteView key, std::string_view data) {
  return crypto::HmacSha256(key).Compute(AsBytes(data));
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto day = floor<days>(time);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{floor<seconds>(time - day)};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string PayloadHash(std::string_view body) { return HexEncode(crypto::Sha256(AsBytes(body))); }

std::string UriEncode(std::string_view raw, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<std::string> CanonicalUri(std::string_view raw_path) {
  if (raw_path.empty() || raw_path[0] != '/') {
    return Err(InvalidArgumentError("s3 signer: the request path must start with '/'"));
  }
  // Encoding every byte but '/' is encoding each segment and keeping the
  // separators; no segment is resolved or dropped, as S3 wants.
  return UriEncode(raw_path, /*keep_slash=*/true);
}

Result<std::string> CanonicalQuery(const NameValues& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    if (name.empty()) {
      return Err(InvalidArgumentError("s3 signer: a query parameter has an empty name"));
    }
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  // Byte order of the encoded forms, name first, then value for repeats.
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

Result<CanonicalHeaders> CanonicalizeHeaders(const NameValues& headers) {
  std::map<std::string, std::string> merged;  // sorted by lowercase name
  for (const auto& [raw_name, raw_value] : headers) {
    if (raw_name.empty() || !std::all_of(raw_name.begin(), raw_name.end(), [](char c) {
          return IsTokenChar(static_cast<unsigned char>(c));
        })) {
      return Err(InvalidArgumentError("s3 signer: a header name is empty or not an HTTP token"));
    }
    std::string name = Lowercase(raw_name);
    ASSIGN_OR_RETURN(std::string value, NormalizeHeaderValue(name, raw_value));
    auto [it, inserted] = merged.try_emplace(std::move(name), std::move(value));
    if (!inserted) {
      it->second.push_back(',');
      it->second += value;
    }
  }
  CanonicalHeaders out;
  for (const auto& [name, value] : merged) {
    out.block += name;
    out.block.push_back(':');
    out.block += value;
    out.block.push_back('\n');
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }
  return out;
}

crypto::Digest DeriveSigningKey(std::string_view secret_access_key, std::string_view date,
                                std::string_view region, std::string_view service) {
  std::string seed = "AWS4";
  seed += secret_access_key;
  crypto::Digest key = Hmac(AsBytes(seed), date);
  SecureWipe(seed.data(), seed.size());
  for (std::string_view part : {region, service, kScopeTerminator}) {
    crypto::Digest next = Hmac(key, part);
    SecureWipe(key.data(), key.size());
    key = next;
    SecureWipe(next.data(), next.size());
  }
  return key;
}

Result<Signer> Signer::Create(Credentials credentials, SignerOptions options) {
  RETURN_IF_ERROR(ValidateScopeField("access key id", credentials.access_key_id));
  if (credentials.secret_access_key.empty()) {
    return Err(InvalidArgumentError("s3 signer: empty secret access key"));
  }
  for (unsigned char c : credentials.session_token) {
    if (IsControl(c)) {
      return Err(InvalidArgumentError("s3 signer: the session token has a control character"));
    }
  }
  RETURN_IF_ERROR(ValidateScopeField("region", options.region));
  RETURN_IF_ERROR(ValidateScopeField("service", options.service));
  return Signer(std::move(credentials), std::move(options));
}

// Best effort: the string's own buffer is wiped; copies the caller keeps are
// the caller's.
Signer::~Signer() {
  std::string& secret = credentials_.secret_access_key;
  SecureWipe(secret.data(), secret.size());
}

Result<SignedRequest> Signer::Sign(const Request& request) const {
  RETURN_IF_ERROR(ValidateMethod(request.method));
  RETURN_IF_ERROR(ValidatePayloadHash(request.payload_hash));
  RETURN_IF_ERROR(ValidateAmzDate(request.amz_date));

  SignedRequest out;
  ASSIGN_OR_RETURN(out.canonical_uri, CanonicalUri(request.path));
  ASSIGN_OR_RETURN(out.canonical_query, CanonicalQuery(request.query));

  RETURN_IF_ERROR(ValidateCallerHeaders(request.headers));

  out.headers_to_add.emplace_back("x-amz-date", request.amz_date);
  if (options_.add_content_sha256) {
    out.headers_to_add.emplace_back("x-amz-content-sha256", request.payload_hash);
  }
  if (!credentials_.session_token.empty()) {
    out.headers_to_add.emplace_back("x-amz-security-token", credentials_.session_token);
  }
  NameValues all = request.headers;
  all.insert(all.end(), out.headers_to_add.begin(), out.headers_to_add.end());
  ASSIGN_OR_RETURN(CanonicalHeaders canonical, CanonicalizeHeaders(all));
  out.signed_headers = std::move(canonical.signed_headers);

  out.canonical_request = request.method + "\n" + out.canonical_uri + "\n" + out.canonical_query +
                          "\n" + canonical.block + "\n" + out.signed_headers + "\n" +
                          request.payload_hash;

  const std::string_view date = std::string_view(request.amz_date).substr(0, 8);
  out.credential_scope = std::string(date) + "/" + options_.region + "/" + options_.service + "/" +
                         std::string(kScopeTerminator);
  out.string_to_sign = std::string(kAlgorithm) + "\n" + request.amz_date + "\n" +
                       out.credential_scope + "\n" +
                       HexEncode(crypto::Sha256(AsBytes(out.canonical_request)));

  crypto::Digest key =
      DeriveSigningKey(credentials_.secret_access_key, date, options_.region, options_.service);
  out.signature = HexEncode(Hmac(key, out.string_to_sign));
  SecureWipe(key.data(), key.size());

  out.authorization = std::string(kAlgorithm) + " Credential=" + credentials_.access_key_id + "/" +
                      out.credential_scope + ", SignedHeaders=" + out.signed_headers +
                      ", Signature=" + out.signature;
  out.headers_to_add.emplace_back("authorization", out.authorization);
  return out;
}

}  // namespace coffre::storage::s3
