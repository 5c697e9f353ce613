// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/)
// from the project's own encoders: real packs, index objects, trees,
// snapshots, configs, key slots, lock records, agent configurations and
// calendar expressions, sealed under the fixed test keys of fuzz_support.h.
// Run by hand after a format change, and the output committed:
//   build-dev/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
// It writes only files named seed-*, so crash inputs kept as regressions
// (crash-*, named by scripts/fuzz.sh) are left alone. Salts are random, so
// two runs give different sealed bytes of the same values.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/base/encoding.h"
#include "core/compress/zstd_codec.h"
#include "core/crypto/hash.h"
#include "core/format/config.h"
#include "core/format/index.h"
#include "core/format/key_slot.h"
#include "core/format/lock.h"
#include "core/format/pack.h"
#include "core/format/sealed_object.h"
#include "core/format/snapshot.h"
#include "core/format/tree.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;
namespace fs = std::filesystem;

namespace {

fs::path g_root;

void Write(const std::string& target, const std::string& name, ByteView bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
}
void Write(const std::string& target, const std::string& name, std::string_view text) {
  Write(target, name, AsBytes(text));
}

BlobId IdOf(ByteView plaintext) {
  return BlobId(crypto::HmacSha256(fuzz::TestIdKey()).Compute(plaintext));
}
template <typename T>
T FilledId(uint8_t b) {
  std::array<uint8_t, 32> raw;
  raw.fill(b);
  return T(raw);
}

format::Tree SampleTree() {
  format::Tree tree;
  format::Node file;
  file.name = "a";
  file.mode = 0644;
  file.uid = 1000;
  file.gid = 100;
  file.user = "u";
  file.group = "g";
  file.mtime_ns = 1;
  file.ctime_ns = -1;
  file.size = 300;
  file.inode = 5;
  file.device = 6;
  file.xattrs = {{"system.posix_acl_access", Bytes{2, 0, 0, 0}}, {"user.x", Bytes{'v'}}};
  file.content = {FilledId<BlobId>(0x11), FilledId<BlobId>(0x12)};
  tree.nodes.push_back(file);
  format::Node sparse = file;
  sparse.name = "holes";
  sparse.xattrs.clear();
  sparse.size = 1 << 20;
  sparse.sparse = {{0, 100}, {4096, 200}};
  sparse.link_group = 7;
  sparse.nlink = 2;
  tree.nodes.push_back(sparse);
  format::Node all_holes = sparse;
  all_holes.name = "empty-holes";
  all_holes.sparse = {{all_holes.size, 0}};
  all_holes.content.clear();
  tree.nodes.push_back(all_holes);
  format::Node dir;
  dir.name = "d";
  dir.type = format::NodeType::kDir;
  dir.mode = 0755;
  dir.subtree = FilledId<BlobId>(0x22);
  tree.nodes.push_back(dir);
  format::Node link;
  link.name = "l";
  link.type = format::NodeType::kSymlink;
  link.mode = 0777;
  link.link_target = "../a";
  tree.nodes.push_back(link);
  format::Node dev;
  dev.name = "null";
  dev.type = format::NodeType::kCharDevice;
  dev.mode = 0666;
  dev.rdev = 0x103;
  tree.nodes.push_back(dev);
  format::Node fifo;
  fifo.name = "p\n\xff";
  fifo.type = format::NodeType::kFifo;
  tree.nodes.push_back(fifo);
  return tree;
}

// A pack of a raw data chunk, a zstd data chunk and a tree, plus its
// header plaintext as pack.md lays it out (for pack_header_fuzz).
format::PackWriter::Finished SamplePack(bool with_blobs, Bytes* header_plaintext) {
  format::PackWriter writer(fuzz::TestDataKey());
  if (with_blobs) {
    const Bytes raw = {'h', 'e', 'l', 'l', 'o'};
    writer.AddBlob(format::BlobType::kData, IdOf(raw), compress::Codec::kNone,
                   static_cast<uint32_t>(raw.size()), raw);
    const Bytes repetitive(700, 'z');
    Bytes zstd;
    compress::Compressor compressor;
    const compress::Codec codec = compressor.Compress(repetitive, &zstd);
    writer.AddBlob(format::BlobType::kData, IdOf(repetitive), codec,
                   static_cast<uint32_t>(repetitive.size()),
                   codec == compress::Codec::kNone ? ByteView(repetitive) : ByteView(zstd));
    const Bytes tree = *format::EncodeTree(SampleTree());
    writer.AddBlob(format::BlobType::kTree, IdOf(tree), compress::Codec::kNone,
                   static_cast<uint32_t>(tree.size()), tree);
  }
  const size_t blob_end = writer.size();
  format::PackWriter::Finished pack = writer.Finish();
  Writer w;
  w.U32(static_cast<uint32_t>(blob_end - format::kPackPreambleSize));
  w.Varint(pack.entries.size());
  for (const format::PackEntry& e : pack.entries) {
    w.Raw(e.id.view());
    w.U8(static_cast<uint8_t>(e.type));
    w.U8(static_cast<uint8_t>(e.codec));
    w.Varint(e.offset);
    w.Varint(e.stored_len);
    w.Varint(e.raw_len);
  }
  *header_plaintext = w.Take();
  return pack;
}

void SealedAndPlain(const std::string& target, const std::string& name, const char* magic,
                    uint8_t version, ByteView plaintext) {
  Write(target, name, plaintext);
  Write(target, name + "-sealed", format::SealObject(fuzz::TestDataKey(), magic, version, plaintext));
}

void PackSeeds(std::vector<format::IndexedPack>* indexed) {
  for (bool with_blobs : {false, true}) {
    Bytes header;
    format::PackWriter::Finished pack = SamplePack(with_blobs, &header);
    const std::string name = with_blobs ? "three-blobs" : "empty";
    Write("pack", name, pack.bytes);
    Write("pack_header", name, header);
    format::IndexedPack ip;
    ip.id = pack.id;
    ip.salt = pack.salt;
    ip.size = pack.bytes.size();
    ip.entries = pack.entries;
    indexed->push_back(ip);
  }
}

void IndexSeeds(const std::vector<format::IndexedPack>& packs) {
  format::IndexFile index;
  index.packs = packs;
  SealedAndPlain("index", "two-packs", "CFIX", format::kIndexVersion, format::EncodeIndex(index));
  index.supersedes = {FilledId<ObjectId>(0x31), FilledId<ObjectId>(0x32)};
  SealedAndPlain("index", "supersedes", "CFIX", format::kIndexVersion, format::EncodeIndex(index));
  SealedAndPlain("index", "empty", "CFIX", format::kIndexVersion, format::EncodeIndex({}));
}

void TreeSeeds() {
  Write("tree", "sample", *format::EncodeTree(SampleTree()));
  Write("tree", "empty", *format::EncodeTree({}));
}

void SnapshotSeeds() {
  format::Snapshot s;
  s.time_ns = 1700000000123456789;
  s.host = "srv-01";
  s.user = "root";
  s.paths = {"/etc", "/home"};
  s.tags = {"nightly", "db"};
  s.root = FilledId<BlobId>(0x33);
  s.parent = FilledId<ObjectId>(0x44);
  s.stats = {12, 3, 4567, 890, 1234, 1};
  s.program_version = "coffre 0.1.0";
  SealedAndPlain("snapshot", "full", "CFSN", format::kSnapshotVersion, format::EncodeSnapshot(s));
  format::Snapshot small;
  small.time_ns = 2;
  small.host = "h";
  small.paths = {"/"};
  small.root = FilledId<BlobId>(0x33);
  small.stats.files = 1;
  small.program_version = "v";
  SealedAndPlain("snapshot", "small", "CFSN", format::kSnapshotVersion,
                 format::EncodeSnapshot(small));
}

void ConfigSeeds() {
  format::Config c;
  for (size_t i = 0; i < c.repo_id.size(); ++i) c.repo_id[i] = static_cast<uint8_t>(i);
  c.created_ns = 1700000000000000000;
  for (uint8_t version : {uint8_t{1}, uint8_t{2}}) {
    c.version = version;
    Write("config", "v" + std::to_string(version), format::EncodeConfig(c, fuzz::TestIdKey()));
  }
  c.chunker = {64, 128, 1 << 26};
  c.compression_level = 22;
  Write("config", "extremes", format::EncodeConfig(c, fuzz::TestIdKey()));
}

void KeySlotSeeds() {
  const crypto::ScryptParams cheap{16, 1, 1};
  format::KeySlotInfo info;
  info.created_ns = -5;
  info.host = "srv-01";
  info.user = "root";
  info.label = "agent srv-01";
  Write("key_slot", "cheap", format::EncodeKeySlot(fuzz::TestMasterKeys(),
                                                   AsBytes(fuzz::kTestPassphrase), info, cheap));
  Write("key_slot", "cheap-empty-info",
        format::EncodeKeySlot(fuzz::TestMasterKeys(), AsBytes(fuzz::kTestPassphrase), {}, cheap));
}

void LockSeeds() {
  format::Lock lock;
  lock.kind = format::LockKind::kBackup;
  for (size_t i = 0; i < lock.session.size(); ++i) lock.session[i] = static_cast<uint8_t>(i * 3);
  lock.created_ns = 1700000000000000000;
  lock.refreshed_ns = 1700000300000000000;
  lock.host = "srv-01";
  lock.pid = 4242;
  SealedAndPlain("lock", "backup", format::kLockMagic, format::kLockVersion,
                 format::EncodeLockRecord(lock));
  lock.kind = format::LockKind::kPrune;
  lock.host.clear();
  SealedAndPlain("lock", "prune", format::kLockMagic, format::kLockVersion,
                 format::EncodeLockRecord(lock));
  format::PrunePlan plan;
  plan.created_ns = -1;
  plan.visible_by_ns = 1700000000000000000;
  plan.condemned = {FilledId<PackId>(0x01), FilledId<PackId>(0x02), FilledId<PackId>(0xfe)};
  const Bytes encoded = format::EncodeLockRecord(plan);
  SealedAndPlain("lock", "plan", format::kLockMagic, format::kLockVersion, encoded);
  Write("prune_plan", "three", ByteView(encoded).subspan(1));
  plan.condemned.clear();
  Write("prune_plan", "empty", ByteView(format::EncodeLockRecord(plan)).subspan(1));
}

void AgentConfigSeeds(const fs::path& source_dir) {
  std::ifstream in(source_dir / "scripts/agent.conf.example", std::ios::binary);
  const std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (example.empty()) {
    std::fprintf(stderr, "cannot read scripts/agent.conf.example\n");
    std::exit(1);
  }
  Write("agent_config", "example", example);
  Write("agent_config", "empty", std::string_view(""));
  Write("agent_config", "minimal",
        std::string_view("[[job]]\nname = \"etc\"\nrepo = \"/srv/repo\"\n"
                         "password_file = \"/etc/coffre/pass\"\npaths = [\"/etc\"]\n"
                         "schedule = \"Mon..Fri *-*-* 02:30\"\n"
                         "[job.retention]\nkeep_daily = 7\nkeep_within = \"1y6m\"\n"));
  Write("agent_config", "agent-only",
        std::string_view("[agent]\nlog_level = \"debug\"\nlimit_upload = \"20MiB\"\n"
                         "max_parallel_jobs = 4\nnice = 19\nionice = \"best-effort:2\"\n"));
}

void CalendarSeeds() {
  const char* kExpressions[] = {
      "daily",
      "daily 02:30",
      "Mon..Fri *-*-* 08:00",
      "*-*-01 03:00:00 UTC",
      "Sat,Sun 2024-*-* 00/6:30",
      "weekly",
      "quarterly 01:02:03",
      "*-02-29 12:00",
      "2030-01-01..31/2 *:*:0/15 UTC",
      "hourly",
      "Monday..Wednesday,Friday 1..5,10/3:0..59/20",
      "*-*-* 02:30:00",
  };
  int i = 0;
  for (const char* e : kExpressions) Write("calendar", std::to_string(i++), std::string_view(e));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT [SOURCE_DIR]\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  const fs::path source_dir = argc == 3 ? fs::path(argv[2]) : g_root / "../../..";
  std::vector<format::IndexedPack> packs;
  PackSeeds(&packs);
  IndexSeeds(packs);
  TreeSeeds();
  SnapshotSeeds();
  ConfigSeeds();
  KeySlotSeeds();
  LockSeeds();
  AgentConfigSeeds(source_dir);
  CalendarSeeds();
  std::printf("seeds written under %s\n", g_root.c_str());
  return 0;
}
