// The one line `coffre` prints for a command line it cannot take: the
// command being parsed and its own --help, and for a word that is no
// command, that word and the nearest command's name.
// Thread-safety: free functions.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace coffre::cli {

// "unknown command 'snapshot' (did you mean 'snapshots'? see coffre --help)",
// "--target is required (see coffre restore --help)". `app` is the top-level
// app after its parse() threw `error`.
std::string UsageErrorLine(CLI::App& app, const CLI::ParseError& error);

// The name among `candidates` nearest to `word` (a prefix either way, or
// at most a third of its letters off), or "" when none is near enough.
std::string NearestName(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace coffre::cli
