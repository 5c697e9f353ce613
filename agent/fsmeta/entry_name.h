// Helpers shared by node_reader.cc and node_writer.cc for naming one entry
// of an open directory: in messages (escaped) and to the l*xattr calls.
#pragma once

#include <string>
#include <string_view>

namespace coffre::fsmeta {

// The name in double quotes with every byte that is not printable ASCII as
// \xNN: raw names may hold newlines or invalid UTF-8, which would break
// one-line logs and JSON.
std::string Quote(std::string_view name);

// "/proc/self/fd/<dirfd>/<name>": a short path to an entry of an open
// directory at any depth, for the xattr calls that take no dirfd. The magic
// link resolves to the directory; the l* calls do not follow the last
// component.
std::string ProcPath(int dirfd, const std::string& name);

}  // namespace coffre::fsmeta
