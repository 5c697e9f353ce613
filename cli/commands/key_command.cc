// coffre key list|add|remove|passwd: manages the key slots of a repository.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/context.h"
#include "cli/output/format.h"

namespace coffre::cli {

namespace {

struct KeyArgs {
  std::string new_password_file;
  std::string label;
  std::string id;
};

// The new passphrase: --new-password-file, COFFRE_NEW_PASSWORD, or a prompt.
Result<std::string> NewPassphrase(Context& ctx, const KeyArgs& args) {
  std::string file = args.new_password_file;
  if (file.empty()) {
    if (const char* pass = std::getenv("COFFRE_NEW_PASSWORD"); pass && *pass) return std::string(pass);
    Context prompt_only;
    prompt_only.global.repo = ctx.global.repo;
    return prompt_only.Passphrase(/*confirm=*/true, "new passphrase: ");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Err(ErrnoStatus(errno, "cannot read " + file));
  std::string line;
  std::getline(in, line);
  if (line.empty()) return Err(InvalidArgumentError(file + " holds no passphrase"));
  return line;
}

void ListKeys(Context& ctx) {
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  auto keys = (*repo)->ListKeys();
  if (!keys) return ctx.Fail(keys.error());
  if (ctx.global.json) {
    Json out = Json::array();
    for (const auto& k : *keys)
      out.push_back(Json{{"id", k.id.Hex()},
                         {"created", Rfc3339(k.info.created_ns)},
                         {"host", k.info.host},
                         {"user", k.info.user},
                         {"label", k.info.label},
                         {"current", k.in_use}});
    std::cout << DumpJson(out) << std::endl;
    return;
  }
  std::printf(" %-8s  %-19s  %-16s  %-10s  %s\n", "ID", "Created", "Host", "User", "Label");
  for (const auto& k : *keys)
    std::printf("%c%-8s  %-19s  %-16s  %-10s  %s\n", k.in_use ? '*' : ' ', k.id.Short().c_str(),
                LocalTime(k.info.created_ns).c_str(), k.info.host.c_str(), k.info.user.c_str(),
                k.info.label.c_str());
}

void AddKey(Context& ctx, const KeyArgs& args, bool replace) {
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  auto passphrase = NewPassphrase(ctx, args);
  if (!passphrase) return ctx.Fail(passphrase.error());
  auto id = replace ? (*repo)->ChangePassphrase(AsBytes(*passphrase))
                    : (*repo)->AddKey(AsBytes(*passphrase), args.label);
  if (!id) return ctx.Fail(id.error());
  if (ctx.global.json) {
    std::cout << DumpJson(Json{{"id", id->Hex()}}) << std::endl;
  } else if (!ctx.global.quiet) {
    std::cout << (replace ? "passphrase changed: key slot " : "added key slot ") << id->Short()
              << std::endl;
  }
}

void RemoveKey(Context& ctx, const KeyArgs& args) {
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  Status s = (*repo)->RemoveKey(args.id);
  if (!s.ok()) return ctx.Fail(s);
  if (!ctx.global.quiet && !ctx.global.json) std::cout << "removed key slot " << args.id << std::endl;
}

}  // namespace

void AddKeyCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<KeyArgs>();
  CLI::App* key = app.add_subcommand("key", "manage the passphrases (key slots)");
  key->require_subcommand(1);
  key->add_subcommand("list", "list key slots")->callback([&ctx] { ListKeys(ctx); });

  CLI::App* add = key->add_subcommand("add", "add a key slot with a new passphrase");
  add->add_option("--new-password-file", args->new_password_file, "file holding the new passphrase");
  add->add_option("--label", args->label, "a note to recognise the slot (e.g. 'recovery')");
  add->callback([&ctx, args] { AddKey(ctx, *args, /*replace=*/false); });

  CLI::App* remove = key->add_subcommand("remove", "remove a key slot");
  remove->add_option("id", args->id, "key slot id or unique prefix")->required();
  remove->callback([&ctx, args] { RemoveKey(ctx, *args); });

  CLI::App* passwd = key->add_subcommand("passwd", "change the passphrase of the key slot in use");
  passwd->add_option("--new-password-file", args->new_password_file, "file holding the new passphrase");
  passwd->callback([&ctx, args] { AddKey(ctx, *args, /*replace=*/true); });
}

}  // namespace coffre::cli
