// coffre ls SNAPSHOT [PATH]: lists a snapshot's entries, one absolute path a
// line (with --long: type, mode, owner, size, mtime), or --json.
#include <cstdio>
#include <iostream>

#include "cli/context.h"
#include "cli/output/format.h"

namespace coffre::cli {

namespace {

struct LsArgs {
  std::string snapshot;
  std::string path = "/";
  bool long_format = false;
};

const char* TypeName(format::NodeType t) {
  switch (t) {
    case format::NodeType::kFile: return "file";
    case format::NodeType::kDir: return "dir";
    case format::NodeType::kSymlink: return "symlink";
    case format::NodeType::kFifo: return "fifo";
    case format::NodeType::kCharDevice: return "chardev";
    case format::NodeType::kBlockDevice: return "blockdev";
    case format::NodeType::kSocket: return "socket";
  }
  return "?";
}

class Lister {
 public:
  Lister(repo::Repository& repo, const Context& ctx, const LsArgs& args)
      : repo_(repo), ctx_(ctx), args_(args) {}

  void Print(const format::Node& node, const std::string& path) {
    if (ctx_.global.json) {
      out_.push_back(Json{{"path", path},
                          {"type", TypeName(node.type)},
                          {"mode", node.mode},
                          {"uid", node.uid},
                          {"gid", node.gid},
                          {"user", node.user},
                          {"group", node.group},
                          {"size", node.size},
                          {"mtime", Rfc3339(node.mtime_ns)}});
    } else if (args_.long_format) {
      // Names as recorded at backup time (this machine's may differ, or be
      // missing after a disaster); the number where there was no name.
      const std::string user = node.user.empty() ? std::to_string(node.uid) : node.user;
      const std::string group = node.group.empty() ? std::to_string(node.gid) : node.group;
      std::printf("%-8s %04o %-8s %-8s %12llu %s %s\n", TypeName(node.type), node.mode,
                  user.c_str(), group.c_str(), static_cast<unsigned long long>(node.size),
                  LocalTime(node.mtime_ns).c_str(), path.c_str());
    } else {
      std::fwrite(path.data(), 1, path.size(), stdout);
      std::fputc('\n', stdout);
    }
  }

  Status Walk(const BlobId& tree_id, const std::string& dir) {
    ASSIGN_OR_RETURN(format::Tree tree, repo_.LoadTree(tree_id));
    for (const format::Node& node : tree.nodes) {
      std::string path = dir == "/" ? "/" + node.name : dir + "/" + node.name;
      Print(node, path);
      if (node.subtree) RETURN_IF_ERROR(Walk(*node.subtree, path));
    }
    return Status::Ok();
  }

  // Finds PATH's node by walking from the root, then lists it.
  Status Run(const BlobId& root) {
    if (args_.path.empty() || args_.path == "/") return Finish(Walk(root, "/"));
    if (args_.path[0] != '/')
      return InvalidArgumentError("'" + args_.path + "' must be an absolute path");
    BlobId tree_id = root;
    std::string walked;
    size_t pos = 1;
    while (pos <= args_.path.size()) {
      size_t slash = args_.path.find('/', pos);
      if (slash == std::string::npos) slash = args_.path.size();
      std::string name = args_.path.substr(pos, slash - pos);
      pos = slash + 1;
      if (name.empty()) continue;
      ASSIGN_OR_RETURN(format::Tree tree, repo_.LoadTree(tree_id));
      const format::Node* found = nullptr;
      for (const auto& n : tree.nodes)
        if (n.name == name) found = &n;
      if (!found) return NotFoundError("'" + args_.path + "' is not in the snapshot");
      walked += "/" + name;
      if (pos > args_.path.size() || args_.path.find_first_not_of('/', pos) == std::string::npos) {
        Print(*found, walked);
        if (found->subtree) return Finish(Walk(*found->subtree, walked));
        return Finish(Status::Ok());
      }
      if (!found->subtree) return NotFoundError("'" + walked + "' is not a directory");
      tree_id = *found->subtree;
    }
    return Finish(Status::Ok());
  }

 private:
  Status Finish(Status s) {
    if (s.ok() && ctx_.global.json) std::cout << DumpJson(out_) << std::endl;
    return s;
  }

  repo::Repository& repo_;
  const Context& ctx_;
  const LsArgs& args_;
  Json out_ = Json::array();
};

}  // namespace

void AddLsCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<LsArgs>();
  CLI::App* cmd = app.add_subcommand("ls", "list the files of a snapshot");
  cmd->add_option("snapshot", args->snapshot, "snapshot id, prefix or 'latest'")->required();
  cmd->add_option("path", args->path, "absolute path inside the snapshot (default /)");
  cmd->add_flag("-l,--long", args->long_format, "show type, mode, owner, size and time");
  cmd->callback([&ctx, args] {
    auto repo = ctx.OpenRepository();
    if (!repo) return ctx.Fail(repo.error());
    std::vector<repo::DamagedSnapshot> damaged;
    auto snap = (*repo)->FindSnapshot(args->snapshot, &damaged);
    ctx.WarnDamaged(damaged);
    if (!snap) return ctx.Fail(snap.error());
    if (Status s = (*repo)->LoadIndex(); !s.ok()) return ctx.Fail(s);
    if (auto added = (*repo)->IncludeUnindexedPacks(); !added) return ctx.Fail(added.error());
    Lister lister(**repo, ctx, *args);
    Status s = lister.Run(snap->snapshot.root);
    if (!s.ok()) ctx.Fail(s);
  });
}

}  // namespace coffre::cli
