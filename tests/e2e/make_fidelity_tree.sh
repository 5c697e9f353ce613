#!/bin/bash
# make_fidelity_tree.sh DIR: builds below DIR (absent or empty) a tree with
# every kind of entry and metadata a restore must bring back exactly: file
# sizes, empty and nested dirs, symlinks (relative, absolute, dangling,
# loops), hard-link groups, FIFO and devices, setuid/setgid/sticky and odd
# modes, foreign numeric owners, nanosecond and pre-1970 mtimes, xattrs of
# the user/trusted/security namespaces and POSIX ACLs, sparse files, and
# hostile-looking but legal names (non-UTF-8, newline, quotes, 255 bytes,
# paths past 3000 and past 4096 bytes).
#
# Needs root (owners, devices, trusted xattrs) and a file system with xattrs:
# DIR must not be on tmpfs. Entries the system refuses (mknod in a container,
# an xattr namespace) are left out with a "note:" on stderr, never silently.
# Runs in a few seconds; about 90 MiB of disk (most of it sparse or random).
set -euo pipefail
trap 'echo "make_fidelity_tree: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

DIR=${1:?usage: make_fidelity_tree.sh DIR}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[[ -z $(ls -A "$DIR") ]] || { echo "make_fidelity_tree: $DIR is not empty" >&2; exit 1; }
if [[ $(stat -f -c %T "$DIR") == tmpfs ]]; then
  echo "make_fidelity_tree: $DIR is on tmpfs; use a disk file system (xattrs)" >&2
  exit 1
fi
note() { echo "note: make_fidelity_tree: $*" >&2; }
cd "$DIR"

# --- regular files of several sizes -----------------------------------------
mkdir files
: >files/empty
printf 'x' >files/one_byte
head -c $((5 * 1024 * 1024)) /dev/urandom >files/random_5m
(seq 1 4000000 || true) | head -c $((20 * 1024 * 1024)) >files/compressible_20m
printf 'born before 1970\n' >files/pre_epoch
printf 'odd nanoseconds\n' >files/odd_ns

# --- directories -------------------------------------------------------------
mkdir -p dirs/empty_dir dirs/nested/a/b/c
printf 'leaf\n' >dirs/nested/a/b/c/leaf.txt
printf 'mid\n' >dirs/nested/a/mid.txt

# --- symlinks ----------------------------------------------------------------
mkdir links
ln -s ../files/one_byte links/relative
ln -s /etc/hostname links/absolute
ln -s does/not/exist links/dangling
ln -s self links/self            # a -> a
ln -s loop_b links/loop_a        # a -> b -> a
ln -s loop_a links/loop_b
ln -s ../files/empty links/foreign_owner
chown -h 12345:54321 links/foreign_owner

# --- hard links --------------------------------------------------------------
mkdir -p hardlinks/sub
printf 'pair\n' >hardlinks/pair_1
ln hardlinks/pair_1 hardlinks/pair_2                  # two in one dir
printf 'across dirs\n' >hardlinks/across
ln hardlinks/across dirs/nested/across_link           # across directories
printf 'three\n' >hardlinks/trio_1
ln hardlinks/trio_1 hardlinks/trio_2
ln hardlinks/trio_1 hardlinks/sub/trio_3              # three-link group

# --- FIFO and devices --------------------------------------------------------
mkdir special
mkfifo special/fifo
mknod special/char_1_3 c 1 3 2>/dev/null || note "mknod c 1 3 refused: no char device"
mknod special/block_7_200 b 7 200 2>/dev/null || note "mknod b 7 200 refused: no block device"

# --- modes -------------------------------------------------------------------
mkdir modes
for f in setuid setgid none private; do printf '%s\n' "$f" >"modes/$f"; done
chmod 4755 modes/setuid
chmod 2755 modes/setgid
chmod 0000 modes/none
chmod 0600 modes/private
mkdir modes/sticky_dir modes/setgid_dir
printf 'in sticky\n' >modes/sticky_dir/inside
chmod 1777 modes/sticky_dir
chmod 2755 modes/setgid_dir

# --- owners (chown first: it clears setuid) -----------------------------------
mkdir owners owners/foreign_dir
printf 'foreign\n' >owners/foreign
printf 'root\n' >owners/root
printf 'setuid foreign\n' >owners/setuid_foreign
chown 12345:54321 owners/foreign owners/foreign_dir owners/setuid_foreign
chown 0:0 owners/root
chmod 4750 owners/setuid_foreign

# --- xattrs and ACLs ---------------------------------------------------------
mkdir xattrs
printf 'xattrs\n' >xattrs/file
mkdir xattrs/dir
for ns in user trusted security; do
  setfattr -n "$ns.test" -v "value of $ns.test" xattrs/file 2>/dev/null \
    || note "xattr namespace $ns refused on this file system"
  setfattr -n "$ns.test" -v "dir $ns" xattrs/dir 2>/dev/null || true
done
setfattr -n user.binary -v 0x00ff10fe80 xattrs/file 2>/dev/null || true
setfattr -n user.empty xattrs/file 2>/dev/null || true
setfattr -h -n trusted.on_symlink -v 'link xattr' links/relative 2>/dev/null \
  || note "trusted xattr on a symlink refused"
printf 'acl\n' >xattrs/acl_file
mkdir xattrs/acl_default_dir
printf 'created before the default ACL\n' >xattrs/acl_default_dir/old_child
if command -v setfacl >/dev/null; then
  setfacl -m u:12345:rw-,g:54321:r-- xattrs/acl_file || note "setfacl refused"
  setfacl -d -m u:12345:rwx xattrs/acl_default_dir || note "default ACL refused"
else
  note "setfacl missing: no POSIX ACL in the tree"
fi

# --- sparse files ------------------------------------------------------------
mkdir sparse
truncate -s 64M sparse/sparse_64m
dd if=/dev/urandom of=sparse/sparse_64m bs=4096 count=1 seek=256 conv=notrunc status=none    # at 1 MiB
dd if=/dev/urandom of=sparse/sparse_64m bs=4096 count=1 seek=15360 conv=notrunc status=none  # at 60 MiB
truncate -s 16M sparse/all_hole_16m

# --- names -------------------------------------------------------------------
mkdir names
printf 'not utf-8\n' >names/$'\xff\xfe'
printf 'newline\n' >names/$'a\nb'
mkdir names/$'dir\nwith newline'
printf 'quotes\n' >"names/with spaces 'single' \"double\" \\back"
printf 'dash\n' >names/-leading-dash
printf 'long name\n' >"names/$(printf 'n%.0s' {1..255})"
ln -s $'\xff\xfe' names/link_to_non_utf8
# Paths past 3000 and past 4096 bytes: nested 200-byte names, created with
# *at() calls because no single path of that length can be passed to mkdir.
python3 - names <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
depth = 0
for level in range(24):
    name = ("deep%02d" % level).ljust(200, "_")
    os.mkdir(name, dir_fd=fd)
    child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = child
    depth += 201
    if level == 14:   # about 3000 bytes below names/
        f = os.open("deep_file_past_3000", os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fd)
        os.write(f, b"more than 3000 bytes deep\n")
        os.close(f)
f = os.open("deep_file_past_4096", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"more than 4096 bytes deep\n")
os.close(f)
os.symlink("deep_file_past_4096", "deep_link", dir_fd=fd)
EOF

# --- mtimes, last: non-directories, then directories deepest first -----------
find . ! -type d -execdir touch -h -d @1600000000.123456789 {} +
touch -d @1600000001.000000001 files/odd_ns
touch -d @-86399.25 files/pre_epoch
touch -h -d @1500000000.5 links/dangling
find . -depth -type d -execdir touch -h -d @1600000100.987654321 {} +
touch -d @1234567890.111111111 dirs/empty_dir
