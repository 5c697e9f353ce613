#include "cli/usage_error.h"

#include <algorithm>

namespace coffre::cli {

namespace {

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The chain of subcommands CLI11 had entered when it stopped.
CLI::App* DeepestCommand(CLI::App& app, std::string* path) {
  CLI::App* at = &app;
  *path = app.get_name();
  for (;;) {
    auto parsed = at->get_subcommands();
    if (parsed.empty()) return at;
    at = parsed.back();
    *path += " " + at->get_name();
  }
}

}  // namespace

std::string NearestName(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& name : candidates) {
    if (name.rfind(word, 0) == 0 || word.rfind(name, 0) == 0) return name;
    const size_t d = EditDistance(word, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

std::string UsageErrorLine(CLI::App& app, const CLI::ParseError& error) {
  std::string path;
  CLI::App* command = DeepestCommand(app, &path);
  const std::string help = "see " + path + " --help";
  std::vector<std::string> names;
  for (const CLI::App* sub : command->get_subcommands({})) names.push_back(sub->get_name());
  // CLI11 says "A subcommand is required" for a word that names none: say
  // which word, and what was probably meant.
  auto remaining = app.remaining();
  if (!names.empty() && command->get_require_subcommand_min() > 0 &&
      command->get_subcommands().empty()) {
    auto word = std::find_if(remaining.begin(), remaining.end(),
                             [](const std::string& w) { return !w.empty() && w[0] != '-'; });
    if (word == remaining.end())
      return "a command is required after '" + path + "' (" + help + ")";
    const std::string nearest = NearestName(*word, names);
    return "unknown command '" + *word + "' (" +
           (nearest.empty() ? "" : "did you mean '" + nearest + "'? ") + help + ")";
  }
  return std::string(error.what()) + " (" + help + ")";
}

}  // namespace coffre::cli
