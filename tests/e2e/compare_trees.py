#!/usr/bin/env python3
"""Compares two file trees bit for bit; the oracle of the end-to-end tests.

    compare_trees.py [--exclude REL]... A B

Walks both trees and compares, for every entry (the roots included): the set
of names (as bytes: names need not be UTF-8), type, mode bits (with setuid,
setgid, sticky), uid, gid, mtime in ns, and by type: size, SHA-256 of the
content and allocated blocks (within BLOCK_TOLERANCE, so a sparse file that
comes back dense is caught) of regular files, symlink targets, rdev of
devices; xattrs of every namespace (POSIX ACLs included), read without
following symlinks; and the hard-link groups (the partition of non-directory
paths by inode must be the same in both trees). Directory sizes, atimes,
ctimes and link counts are not compared: a restore cannot set them.

Paths of any length work: every call is relative to an open directory fd
(xattrs, which have no *at() form, after fchdir into that directory).
--exclude REL leaves out the entry REL (relative to the roots, e.g. "a/b")
and everything below it, in both trees.

Prints one line per difference and exits 1 if there is any, 0 if the trees
are the same, 2 on a usage or I/O error. Python 3 standard library only.
"""

import hashlib
import os
import stat
import sys

BLOCK_TOLERANCE = 8  # 512-byte units: a file system may add an extent block
READ_SIZE = 1 << 20


def show(path):
    """A printable, unambiguous form of a bytes path (\\xff, \\n escaped),
    shortened in the middle past 400 characters."""
    text = repr(path)[2:-1] if path else "."
    if len(text) > 400:
        text = f"{text[:120]}...({len(path)} bytes)...{text[-240:]}"
    return text


class Tree:
    """Metadata of every entry of one tree, keyed by relative bytes path."""

    def __init__(self, root, excludes):
        self.root = os.fsencode(os.path.abspath(root))
        self.excludes = excludes
        self.entries = {}
        self.inodes = {}  # (st_dev, st_ino) -> [relative paths], non-dirs

    def load(self):
        parent, name = os.path.split(self.root)
        parent_fd = os.open(parent or b"/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._visit(parent_fd, name or b".", b"")
        finally:
            os.close(parent_fd)
        return self

    def _visit(self, dirfd, name, rel):
        if rel in self.excludes:
            return
        st = os.lstat(name, dir_fd=dirfd)
        record = {
            "type": stat.S_IFMT(st.st_mode),
            "mode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "mtime_ns": st.st_mtime_ns,
            "xattrs": read_xattrs(dirfd, name),
        }
        if stat.S_ISREG(st.st_mode):
            record["size"] = st.st_size
            record["blocks"] = st.st_blocks
            record["sha256"] = hash_file(dirfd, name)
        elif stat.S_ISLNK(st.st_mode):
            record["target"] = os.readlink(name, dir_fd=dirfd)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            record["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
        self.entries[rel] = record
        if stat.S_ISDIR(st.st_mode):
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                         dir_fd=dirfd)
            try:
                for child in sorted(os.fsencode(n) for n in os.listdir(fd)):
                    self._visit(fd, child, rel + b"/" + child if rel else child)
            finally:
                os.close(fd)
        else:
            self.inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)

    def link_groups(self):
        return {frozenset(paths) for paths in self.inodes.values()
                if len(paths) > 1}


def read_xattrs(dirfd, name):
    os.fchdir(dirfd)  # listxattr has no dir_fd form
    values = {}
    try:
        names = os.listxattr(name, follow_symlinks=False)
    except OSError as e:
        return {"<listxattr error>": e.strerror}
    for attr in names:
        values[attr] = os.getxattr(name, attr, follow_symlinks=False)
    return values


def hash_file(dirfd, name):
    digest = hashlib.sha256()
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY, dir_fd=dirfd)
    try:
        while True:
            block = os.read(fd, READ_SIZE)
            if not block:
                break
            digest.update(block)
    finally:
        os.close(fd)
    return digest.hexdigest()


TYPE_NAMES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
              stat.S_IFCHR: "char device", stat.S_IFBLK: "block device",
              stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket"}


def compare_entry(rel, a, b, report):
    where = show(rel)
    if a["type"] != b["type"]:
        report(f"{where}: type {TYPE_NAMES.get(a['type'])} != "
               f"{TYPE_NAMES.get(b['type'])}")
        return
    if a["mode"] != b["mode"]:
        report(f"{where}: mode {a['mode']:04o} != {b['mode']:04o}")
    for key in ("uid", "gid", "mtime_ns", "size", "sha256", "target", "rdev"):
        if a.get(key) != b.get(key):
            report(f"{where}: {key} {a.get(key)!r} != {b.get(key)!r}")
    if "blocks" in a and abs(a["blocks"] - b["blocks"]) > BLOCK_TOLERANCE:
        report(f"{where}: allocated blocks {a['blocks']} != {b['blocks']} "
               f"(512-byte units; tolerance {BLOCK_TOLERANCE})")
    for attr in sorted(set(a["xattrs"]) | set(b["xattrs"])):
        va, vb = a["xattrs"].get(attr), b["xattrs"].get(attr)
        if va != vb:
            report(f"{where}: xattr {attr} {va!r} != {vb!r}")


def compare(tree_a, tree_b):
    differences = []
    report = differences.append
    names_a, names_b = set(tree_a.entries), set(tree_b.entries)
    for rel in sorted(names_a - names_b):
        report(f"{show(rel)}: only in A")
    for rel in sorted(names_b - names_a):
        report(f"{show(rel)}: only in B")
    for rel in sorted(names_a & names_b):
        compare_entry(rel, tree_a.entries[rel], tree_b.entries[rel], report)
    groups_a, groups_b = tree_a.link_groups(), tree_b.link_groups()
    for group in sorted(groups_a - groups_b, key=sorted):
        report("hard-link group only in A: "
               + ", ".join(show(p) for p in sorted(group)))
    for group in sorted(groups_b - groups_a, key=sorted):
        report("hard-link group only in B: "
               + ", ".join(show(p) for p in sorted(group)))
    return differences


def main(argv):
    excludes, roots = set(), []
    args = iter(argv[1:])
    for arg in args:
        if arg == "--exclude":
            excludes.add(os.fsencode(next(args, "")).strip(b"/"))
        else:
            roots.append(os.path.abspath(arg))  # before any fchdir
    if len(roots) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        tree_a = Tree(roots[0], excludes).load()
        tree_b = Tree(roots[1], excludes).load()
    except OSError as e:
        print(f"compare_trees: {e}", file=sys.stderr)
        return 2
    finally:
        os.fchdir(cwd)
    differences = compare(tree_a, tree_b)
    for line in differences:
        print(line)
    if differences:
        print(f"compare_trees: {len(differences)} difference(s) between "
              f"A={roots[0]} and B={roots[1]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
