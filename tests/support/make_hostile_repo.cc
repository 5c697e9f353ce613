// coffre_make_hostile_repo REPO NAME: adds to an existing repository (its
// passphrase in COFFRE_PASSWORD) a snapshot whose root tree holds one file
// literally named NAME with the content "pwned". The tree encoder refuses
// such names, so the tree is encoded with a safe placeholder of the same
// length that is then replaced in the encoded bytes: exactly what an
// attacker who holds the keys could store. Used by hostile_tree_test.sh.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/repo/open_backend.h"
#include "agent/repo/pack_uploader.h"
#include "core/compress/zstd_codec.h"

using namespace coffre;

static int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "make_hostile_repo: %s: %s\n", what.c_str(), s.message().c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: coffre_make_hostile_repo REPO NAME\n");
    return 2;
  }
  const std::string name = argv[2];
  const char* pass = std::getenv("COFFRE_PASSWORD");
  if (!pass) return Fail("COFFRE_PASSWORD", InvalidArgumentError("not set"));
  auto backend = repo::OpenBackend(argv[1]);
  if (!backend) return Fail("open", backend.error());
  auto repo = repo::Repository::Open(std::move(*backend), AsBytes(pass));
  if (!repo) return Fail("open", repo.error());
  if (Status s = (*repo)->LoadIndex(); !s.ok()) return Fail("index", s);

  auto hasher = (*repo)->NewHasher();
  const std::string content = "pwned";
  BlobId chunk(hasher->Compute(AsBytes(content)));

  format::Node node;
  node.name = std::string(name.size(), 'Q');
  node.type = format::NodeType::kFile;
  node.mode = 0644;
  node.size = content.size();
  node.content = {chunk};
  format::Tree tree;
  tree.nodes.push_back(node);
  auto encoded = format::EncodeTree(tree);
  if (!encoded) return Fail("encode", encoded.error());
  std::string bytes(AsChars(*encoded));
  size_t at = bytes.find(node.name);
  if (at == std::string::npos) return Fail("patch", InternalError("placeholder not found"));
  bytes.replace(at, name.size(), name);
  BlobId tree_id(hasher->Compute(AsBytes(bytes)));

  {
    repo::PackUploader uploader(repo->get());
    if (uploader.Reserve(chunk))
      (void)uploader.AddBlob(format::BlobType::kData, chunk, compress::Codec::kNone,
                             content.size(), AsBytes(content));
    (void)uploader.AddBlob(format::BlobType::kTree, tree_id, compress::Codec::kNone,
                           bytes.size(), AsBytes(bytes));
    if (Status s = uploader.Flush(); !s.ok()) return Fail("store", s);
  }
  format::Snapshot snapshot;
  snapshot.time_ns = repo::NowNs();
  snapshot.host = "attacker";
  snapshot.paths = {"/"};
  snapshot.root = tree_id;
  auto id = (*repo)->SaveSnapshot(snapshot);
  if (!id) return Fail("snapshot", id.error());
  std::printf("%s\n", id->Hex().c_str());
  return 0;
}
