// AWS Signature Version 4 signer: checked against the values AWS publishes,
// never against this code's own output.
//
// Sources of the vectors (data only):
// [S3]    AWS S3 API Reference, "Signature Calculations for the Authorization
//         Header: Transferring Payload in a Single Chunk (AWS Signature
//         Version 4)", section "Examples: Signature Calculations" (bucket
//         examplebucket, key AKIAIOSFODNN7EXAMPLE, 20130524T000000Z).
// [Suite] AWS General Reference, "Signature Version 4 Test Suite"
//         (aws-sig-v4-test-suite: service "service", us-east-1,
//         20150830T123600Z, key AKIDEXAMPLE); the .creq, .sts and .authz
//         files of each named test.
// [Key]   AWS General Reference, "Examples of how to derive a signing key
//         for Signature Version 4" (secret ...EXAMPLEKEY, 20120215,
//         us-east-1, iam).
#include "core/storage/s3/sigv4.h"

#include <catch2/catch.hpp>
#include <string>

#include "core/base/bytes.h"

namespace coffre::storage::s3 {
namespace {

using namespace std::chrono;

constexpr std::string_view kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// --- [S3] examples ---------------------------------------------------------

constexpr std::string_view kS3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kS3Host = "examplebucket.s3.amazonaws.com";

Signer S3ExampleSigner() {
  auto signer = Signer::Create({"AKIAIOSFODNN7EXAMPLE", std::string(kS3Secret), ""},
                               {"us-east-1", "s3", true});
  REQUIRE(signer);
  return std::move(*signer);
}

Request S3ExampleRequest(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.headers = {{"Host", std::string(kS3Host)}};
  r.payload_hash = std::string(kEmptyHash);
  r.amz_date = "20130524T000000Z";
  return r;
}

SignedRequest MustSign(const Signer& signer, const Request& request) {
  auto signed_request = signer.Sign(request);
  if (!signed_request) FAIL(signed_request.error().message());
  return std::move(*signed_request);
}

TEST_CASE("signer reproduces the S3 GET Object example with a range header", "[unit][storage]") {
  Request r = S3ExampleRequest("GET", "/test.txt");
  r.headers.emplace_back("Range", "bytes=0-9");
  SignedRequest s = MustSign(S3ExampleSigner(), r);

  CHECK(s.canonical_request ==
        "GET\n/test.txt\n\n"
        "host:examplebucket.s3.amazonaws.com\n"
        "range:bytes=0-9\n"
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-amz-date:20130524T000000Z\n\n"
        "host;range;x-amz-content-sha256;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  CHECK(s.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(s.authorization ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  CHECK(s.canonical_uri == "/test.txt");
  CHECK(s.canonical_query.empty());
  NameValues want_added = {{"x-amz-date", "20130524T000000Z"},
                           {"x-amz-content-sha256", std::string(kEmptyHash)},
                           {"authorization", s.authorization}};
  CHECK(s.headers_to_add == want_added);
}

TEST_CASE("signer reproduces the S3 PUT Object example with a '$' in the key", "[unit][storage]") {
  // The example's body is "Welcome to Amazon S3."; its hash is published.
  const std::string body_hash = PayloadHash("Welcome to Amazon S3.");
  REQUIRE(body_hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request r = S3ExampleRequest("PUT", "/test$file.text");
  r.headers.emplace_back("Date", "Fri, 24 May 2013 00:00:00 GMT");
  r.headers.emplace_back("x-amz-storage-class", "REDUCED_REDUNDANCY");
  r.payload_hash = body_hash;
  SignedRequest s = MustSign(S3ExampleSigner(), r);

  CHECK(s.canonical_uri == "/test%24file.text");
  CHECK(s.canonical_request ==
        "PUT\n/test%24file.text\n\n"
        "date:Fri, 24 May 2013 00:00:00 GMT\n"
        "host:examplebucket.s3.amazonaws.com\n"
        "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
        "x-amz-date:20130524T000000Z\n"
        "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  CHECK(s.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("signer reproduces the S3 GET Bucket Lifecycle example (a value-less subresource)",
          "[unit][storage]") {
  Request r = S3ExampleRequest("GET", "/");
  r.query = {{"lifecycle", ""}};
  SignedRequest s = MustSign(S3ExampleSigner(), r);

  CHECK(s.canonical_query == "lifecycle=");
  CHECK(s.canonical_request ==
        "GET\n/\nlifecycle=\n"
        "host:examplebucket.s3.amazonaws.com\n"
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-amz-date:20130524T000000Z\n\n"
        "host;x-amz-content-sha256;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  CHECK(s.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("signer reproduces the S3 List Objects example from unsorted parameters",
          "[unit][storage]") {
  Request r = S3ExampleRequest("GET", "/");
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // the reverse of canonical order
  SignedRequest s = MustSign(S3ExampleSigner(), r);

  CHECK(s.canonical_query == "max-keys=2&prefix=J");
  CHECK(s.canonical_request ==
        "GET\n/\nmax-keys=2&prefix=J\n"
        "host:examplebucket.s3.amazonaws.com\n"
        "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "x-amz-date:20130524T000000Z\n\n"
        "host;x-amz-content-sha256;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(s.string_to_sign ==
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  CHECK(s.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// --- [Suite] generic vectors -------------------------------------------------

constexpr std::string_view kSuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kSuiteScope = "20150830/us-east-1/service/aws4_request";

Signer SuiteSigner(std::string session_token = "") {
  // The suite predates x-amz-content-sha256: it signs the generic way.
  auto signer = Signer::Create({"AKIDEXAMPLE", std::string(kSuiteSecret), session_token},
                               {"us-east-1", "service", false});
  REQUIRE(signer);
  return std::move(*signer);
}

Request SuiteRequest(std::string method, std::string path, NameValues query = {}) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = {{"Host", "example.amazonaws.com"}};
  r.payload_hash = std::string(kEmptyHash);
  r.amz_date = "20150830T123600Z";
  return r;
}

std::string SuiteStringToSign(std::string_view canonical_request_hash) {
  return "AWS4-HMAC-SHA256\n20150830T123600Z\n" + std::string(kSuiteScope) + "\n" +
         std::string(canonical_request_hash);
}

std::string SuiteAuthorization(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + std::string(kSuiteScope) +
         ", SignedHeaders=" + std::string(signed_headers) + ", Signature=" + std::string(signature);
}

TEST_CASE("signer reproduces the test suite's get-vanilla", "[unit][storage]") {
  SignedRequest s = MustSign(SuiteSigner(), SuiteRequest("GET", "/"));
  CHECK(s.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "host;x-amz-date\n" +
            std::string(kEmptyHash));
  CHECK(s.string_to_sign ==
        SuiteStringToSign("bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"));
  CHECK(s.authorization ==
        SuiteAuthorization("host;x-amz-date",
                           "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
  // Without the S3 option no x-amz-content-sha256 is added.
  CHECK(s.headers_to_add.size() == 2);
}

TEST_CASE("signer reproduces the test suite's get-vanilla-query-order-key-case",
          "[unit][storage]") {
  SignedRequest s = MustSign(
      SuiteSigner(), SuiteRequest("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}));
  CHECK(s.canonical_query == "Param1=value1&Param2=value2");
  CHECK(s.canonical_request ==
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
            std::string(kEmptyHash));
  CHECK(s.string_to_sign ==
        SuiteStringToSign("816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"));
  CHECK(s.signature == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST_CASE("signer reproduces the test suite's get-vanilla-query-order-key (repeats by value)",
          "[unit][storage]") {
  SignedRequest s = MustSign(
      SuiteSigner(), SuiteRequest("GET", "/", {{"Param1", "value2"}, {"Param1", "Value1"}}));
  CHECK(s.canonical_query == "Param1=Value1&Param1=value2");
  CHECK(s.string_to_sign ==
        SuiteStringToSign("704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89"));
  CHECK(s.signature == "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
}

TEST_CASE("signer reproduces the test suite's get-header-value-trim", "[unit][storage]") {
  Request r = SuiteRequest("GET", "/");
  // As the .req file sends them: a space after the colon, inner runs.
  r.headers.emplace_back("My-Header1", " value1");
  r.headers.emplace_back("My-Header2", " \"a   b   c\"");
  SignedRequest s = MustSign(SuiteSigner(), r);
  CHECK(s.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
        "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n" +
            std::string(kEmptyHash));
  CHECK(s.string_to_sign ==
        SuiteStringToSign("a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7"));
  CHECK(s.authorization ==
        SuiteAuthorization("host;my-header1;my-header2;x-amz-date",
                           "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

TEST_CASE("signer reproduces the test suite's get-header-key-duplicate", "[unit][storage]") {
  Request r = SuiteRequest("GET", "/");
  r.headers.emplace_back("My-Header1", "value2");
  r.headers.emplace_back("My-Header1", "value2");
  r.headers.emplace_back("My-Header1", "value1");
  SignedRequest s = MustSign(SuiteSigner(), r);
  CHECK(s.canonical_request ==
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
        "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n" +
            std::string(kEmptyHash));
  CHECK(s.string_to_sign ==
        SuiteStringToSign("dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c"));
  CHECK(s.signature == "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea");
}

TEST_CASE("signer reproduces the test suite's UTF-8, unreserved and space vectors",
          "[unit][storage]") {
  SECTION("get-vanilla-utf8-query") {
    SignedRequest s = MustSign(SuiteSigner(), SuiteRequest("GET", "/", {{"\xE1\x88\xB4", "bar"}}));
    CHECK(s.canonical_query == "%E1%88%B4=bar");
    CHECK(s.string_to_sign ==
          SuiteStringToSign("eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073"));
    CHECK(s.signature == "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
  }
  SECTION("get-utf8") {
    SignedRequest s = MustSign(SuiteSigner(), SuiteRequest("GET", "/\xE1\x88\xB4"));
    CHECK(s.canonical_uri == "/%E1%88%B4");
    CHECK(s.signature == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85");
  }
  SECTION("get-unreserved") {
    const std::string unreserved =
        "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    SignedRequest s = MustSign(SuiteSigner(), SuiteRequest("GET", unreserved));
    CHECK(s.canonical_uri == unreserved);
    CHECK(s.string_to_sign ==
          SuiteStringToSign("6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9"));
    CHECK(s.signature == "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
  }
  SECTION("get-vanilla-query-unreserved") {
    const std::string unreserved =
        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    SignedRequest s = MustSign(SuiteSigner(), SuiteRequest("GET", "/", {{unreserved, unreserved}}));
    CHECK(s.canonical_query == unreserved + "=" + unreserved);
    CHECK(s.signature == "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197");
  }
  SECTION("get-space (normalize-path group; nothing to normalize)") {
    SignedRequest s = MustSign(SuiteSigner(), SuiteRequest("GET", "/example space/"));
    CHECK(s.canonical_uri == "/example%20space/");
    CHECK(s.string_to_sign ==
          SuiteStringToSign("63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86"));
    CHECK(s.signature == "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741");
  }
}

TEST_CASE("signer reproduces the test suite's post-x-www-form-urlencoded", "[unit][storage]") {
  Request r = SuiteRequest("POST", "/");
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"Host", "example.amazonaws.com"}};
  r.payload_hash = PayloadHash("Param1=value1");
  SignedRequest s = MustSign(SuiteSigner(), r);
  CHECK(s.canonical_request ==
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
        "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
        "content-type;host;x-amz-date\n"
        "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  CHECK(s.string_to_sign ==
        SuiteStringToSign("42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"));
  CHECK(s.authorization ==
        SuiteAuthorization("content-type;host;x-amz-date",
                           "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST_CASE("signer signs a session token as the test suite's post-sts-header-before",
          "[unit][storage]") {
  const std::string token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwA"
      "eMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8p"
      "hUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT"
      "38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabI"
      "Qwj2ICCR/oLxBA==";
  SignedRequest s = MustSign(SuiteSigner(token), SuiteRequest("POST", "/"));
  CHECK(s.canonical_request ==
        "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
        "x-amz-security-token:" +
            token + "\n\nhost;x-amz-date;x-amz-security-token\n" + std::string(kEmptyHash));
  CHECK(s.string_to_sign ==
        SuiteStringToSign("c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6"));
  CHECK(s.authorization ==
        SuiteAuthorization("host;x-amz-date;x-amz-security-token",
                           "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"));
  NameValues want_added = {{"x-amz-date", "20150830T123600Z"},
                           {"x-amz-security-token", token},
                           {"authorization", s.authorization}};
  CHECK(s.headers_to_add == want_added);
}

// --- [Key] -------------------------------------------------------------------

TEST_CASE("signing key derivation matches AWS's published example", "[unit][storage]") {
  crypto::Digest key = DeriveSigningKey(kSuiteSecret, "20120215", "us-east-1", "iam");
  CHECK(HexEncode(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

// --- The encoding rules, one at a time ----------------------------------------

TEST_CASE("uri encoding keeps only RFC 3986 unreserved characters", "[unit][storage]") {
  CHECK(UriEncode("AZaz09-._~", false) == "AZaz09-._~");
  CHECK(UriEncode("a b", false) == "a%20b");  // %20, never '+'
  CHECK(UriEncode("test$file", false) == "test%24file");
  CHECK(UriEncode("a+b=c&d", false) == "a%2Bb%3Dc%26d");
  CHECK(UriEncode("100%", false) == "100%25");  // raw input: '%' is literal
  CHECK(UriEncode("*!'()", false) == "%2A%21%27%28%29");
  CHECK(UriEncode("caf\xC3\xA9 \xE2\x82\xAC", false) == "caf%C3%A9%20%E2%82%AC");
  CHECK(UriEncode("a/b", false) == "a%2Fb");
  CHECK(UriEncode("a/b", true) == "a/b");
}

TEST_CASE("canonical uri encodes each key segment and keeps every slash", "[unit][storage]") {
  CHECK(*CanonicalUri("/") == "/");
  CHECK(*CanonicalUri("/bucket/dir with space/f~$.txt") == "/bucket/dir%20with%20space/f~%24.txt");
  CHECK(*CanonicalUri("/b/\xC3\xA9t\xC3\xA9") == "/b/%C3%A9t%C3%A9");
  // S3 keys are not paths: no segment is merged or resolved.
  CHECK(*CanonicalUri("/b//a/./../k/") == "/b//a/./../k/");
  auto relative = CanonicalUri("bucket/key");
  REQUIRE(!relative);
  CHECK(relative.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("canonical query sorts by encoded name then value and encodes both", "[unit][storage]") {
  CHECK(*CanonicalQuery({}) == "");
  CHECK(*CanonicalQuery({{"uploads", ""}}) == "uploads=");
  CHECK(*CanonicalQuery({{"uploadId", "a/b c"}, {"partNumber", "7"}}) ==
        "partNumber=7&uploadId=a%2Fb%20c");
  // Byte order: uppercase before lowercase, and '%' (0x25) before letters.
  CHECK(*CanonicalQuery({{"prefix", "J"}, {"Prefix", "x"}, {"a b", "1"}}) ==
        "Prefix=x&a%20b=1&prefix=J");
  CHECK(*CanonicalQuery({{"list-type", "2"}, {"continuation-token", "1+/=~"}}) ==
        "continuation-token=1%2B%2F%3D~&list-type=2");
  auto unnamed = CanonicalQuery({{"", "v"}});
  REQUIRE(!unnamed);
  CHECK(unnamed.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("canonical headers are lowercased, trimmed, folded, merged and sorted",
          "[unit][storage]") {
  auto h = CanonicalizeHeaders({{"X-Amz-Meta-B", "\t two \t  words  "},
                                {"Content-Type", "text/plain"},
                                {"If-None-Match", "*"},
                                {"x-amz-meta-b", "more"},
                                {"X-Empty", "   "}});
  REQUIRE(h);
  CHECK(h->block ==
        "content-type:text/plain\nif-none-match:*\nx-amz-meta-b:two words,more\nx-empty:\n");
  CHECK(h->signed_headers == "content-type;if-none-match;x-amz-meta-b;x-empty");
}

TEST_CASE("canonical headers refuse names and values that could split a request",
          "[unit][storage]") {
  for (const NameValues& bad : std::vector<NameValues>{{{"x-amz-meta-a", "v\r\nx-injected: 1"}},
                                                       {{"x-amz-meta-a", std::string("v\0w", 3)}},
                                                       {{"", "v"}},
                                                       {{"bad name", "v"}},
                                                       {{"bad:name", "v"}}}) {
    auto h = CanonicalizeHeaders(bad);
    REQUIRE(!h);
    CHECK(h.error().code() == ErrorCode::kInvalidArgument);
    CHECK(h.error().message().find("injected") == std::string::npos);
  }
}

// --- Sign's own checks ----------------------------------------------------------

TEST_CASE("signer sends UNSIGNED-PAYLOAD as the content hash when asked", "[unit][storage]") {
  Request r = S3ExampleRequest("PUT", "/b/k");
  r.payload_hash = std::string(kUnsignedPayload);
  SignedRequest s = MustSign(S3ExampleSigner(), r);
  CHECK(s.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
  CHECK(s.canonical_request.find("\nx-amz-content-sha256:UNSIGNED-PAYLOAD\n") != std::string::npos);
  CHECK(s.headers_to_add[1] ==
        std::pair<std::string, std::string>("x-amz-content-sha256", "UNSIGNED-PAYLOAD"));
}

TEST_CASE("signer returns the path and query the signature covers", "[unit][storage]") {
  Request r = S3ExampleRequest("PUT", "/bucket/snapshots/a b+c");
  r.query = {{"uploadId", "x/y"}, {"partNumber", "2"}};
  SignedRequest s = MustSign(S3ExampleSigner(), r);
  CHECK(s.canonical_uri == "/bucket/snapshots/a%20b%2Bc");
  CHECK(s.canonical_query == "partNumber=2&uploadId=x%2Fy");
  CHECK(
      s.canonical_request.starts_with("PUT\n" + s.canonical_uri + "\n" + s.canonical_query + "\n"));
}

TEST_CASE("signer refuses malformed requests with invalid argument", "[unit][storage]") {
  const Signer signer = S3ExampleSigner();
  auto refuses = [&](Request r) {
    auto s = signer.Sign(r);
    REQUIRE(!s);
    CHECK(s.error().code() == ErrorCode::kInvalidArgument);
    CHECK(s.error().message().find(kS3Secret) == std::string::npos);
  };
  Request base = S3ExampleRequest("GET", "/k");
  REQUIRE(signer.Sign(base));

  Request r = base;
  r.method = "get";
  refuses(r);
  r = base;
  r.path = "k";
  refuses(r);
  r = base;
  r.headers = {{"Range", "bytes=0-9"}};  // no host
  refuses(r);
  for (const char* owned :
       {"Authorization", "X-Amz-Date", "x-amz-content-sha256", "X-Amz-Security-Token"}) {
    r = base;
    r.headers.emplace_back(owned, "x");
    refuses(r);
  }
  for (const char* hash :
       {"", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", "unsigned-payload"}) {
    r = base;
    r.payload_hash = hash;
    refuses(r);
  }
  for (const char* date : {"", "2013-05-24T00:00:00Z", "20130524T000000", "20131324T000000Z",
                           "20130524T250000Z", "20130524t000000z"}) {
    r = base;
    r.amz_date = date;
    refuses(r);
  }
}

TEST_CASE("signer creation refuses unusable credentials without quoting secrets",
          "[unit][storage]") {
  const std::string secret(kS3Secret);
  auto refuses = [&](Credentials c, SignerOptions o) {
    auto s = Signer::Create(c, o);
    REQUIRE(!s);
    CHECK(s.error().code() == ErrorCode::kInvalidArgument);
    CHECK(s.error().message().find(secret) == std::string::npos);
    CHECK(s.error().message().find("TOKENSECRET") == std::string::npos);
  };
  refuses({"", secret, ""}, {"us-east-1"});
  refuses({"AKID/X", secret, ""}, {"us-east-1"});
  refuses({"AKID", "", ""}, {"us-east-1"});
  refuses({"AKID", secret, "TOKENSECRET\r\nx: y"}, {"us-east-1"});
  refuses({"AKID", secret, ""}, {""});
  refuses({"AKID", secret, ""}, {"us east"});
  refuses({"AKID", secret, ""}, {"us-east-1", "s3/x"});
}

TEST_CASE("no output of the signer but the signature is derived from the secret",
          "[unit][storage]") {
  Request r = S3ExampleRequest("GET", "/k");
  SignedRequest s = MustSign(S3ExampleSigner(), r);
  for (const std::string* text :
       {&s.canonical_uri, &s.canonical_query, &s.canonical_request, &s.signed_headers,
        &s.credential_scope, &s.string_to_sign, &s.authorization}) {
    CHECK(text->find(kS3Secret) == std::string::npos);
  }
  for (const auto& [name, value] : s.headers_to_add) {
    CHECK(value.find(kS3Secret) == std::string::npos);
  }
  // The signature does depend on it.
  auto other = Signer::Create({"AKIAIOSFODNN7EXAMPLE", "another-secret", ""}, {"us-east-1"});
  REQUIRE(other);
  CHECK(MustSign(*other, r).signature != s.signature);
}

TEST_CASE("amz date formats a system clock time in UTC, truncating sub-seconds",
          "[unit][storage]") {
  CHECK(AmzDate(sys_days{year{2013} / May / 24}) == "20130524T000000Z");
  CHECK(AmzDate(sys_days{year{2015} / August / 30} + hours{12} + minutes{36} + milliseconds{999}) ==
        "20150830T123600Z");
  CHECK(AmzDate(sys_days{year{1999} / December / 31} + hours{23} + minutes{59} + seconds{59}) ==
        "19991231T235959Z");
}

}  // namespace
}  // namespace coffre::storage::s3
