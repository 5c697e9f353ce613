#!/usr/bin/env python3
"""Benchmark data set for Coffre vs restic vs BorgBackup.

  dataset.py generate DIR SIZE_MB [--seed N]   build the data set in DIR (must not exist)
  dataset.py mutate DIR [--seed N]             the "small change": 1% of files + a db block
  dataset.py manifest DIR                      one line per entry: type, mode, size, mtime,
                                               sha256 / link target (to verify a restore)

Everything random comes from random.Random(seed), so the same seed, size and
machine give the same bytes. Real files are copied from /usr (text from
/usr/include and the Python library, ELF binaries from /usr/bin and /usr/lib):
the selection is a seeded shuffle of the sorted file list, so it only changes
when the installed packages change. No network.

Proportions of SIZE_MB (see bench/README in RESULTS.md):
  src/         30%  source and text files (copied; generated C-like text if /usr runs out)
  bin/         20%  ELF executables and shared libraries (copied)
  db/          15%  a SQLite database (orders/customers tables, 4 KiB pages)
  vm/          15%  of data in a sparse disk image of twice that apparent size
  compressed/  10%  JPEG-like random files, .tar.gz and .xz archives of text
  small/       10%  thousands of 1-8 KiB files in nested directories
"""

import argparse
import gzip
import hashlib
import lzma
import os
import random
import sqlite3
import stat
import sys

MIB = 1 << 20
SHARES = {"src": 0.30, "bin": 0.20, "db": 0.15, "vm": 0.15, "compressed": 0.10, "small": 0.10}

VOCAB = (
    "static const int unsigned char void return if else for while struct typedef "
    "size_t uint8_t uint32_t uint64_t int64_t bool true false nullptr auto namespace "
    "std::vector std::string std::unique_ptr Status Result ok error buffer length "
    "offset count index value key node tree chunk pack blob hash cipher nonce salt "
    "read write open close flush sync seek stat file path dir entry name mode mtime "
    "the a of to in is that it for on with as be by this are from or an at which "
    "when not all can has more than one will may must should data block page record "
    "= == != < > <= >= + - * / % && || ! ( ) { } [ ] ; , . -> :: # include define "
    "0 1 2 4 8 16 32 64 128 256 4096 0x0 0xff 0xffff NULL errno EINVAL ENOENT EIO "
    "customer order invoice amount total tax price quantity status pending shipped "
    "server client request response header body timeout retry backoff log debug info"
).split()


def gen_text(rng, nbytes, comment="//"):
    """Compressible C-like text of about nbytes (zstd -3 shrinks it ~3-4x)."""
    out, total = [], 0
    choices, randint = rng.choices, rng.randint
    while total < nbytes:
        indent = " " * (4 * randint(0, 3))
        words = choices(VOCAB, k=randint(3, 14))
        if randint(0, 9) == 0:
            line = f"{indent}{comment} {' '.join(words)}\n"
        else:
            line = f"{indent}{' '.join(words)};\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()


def walk_sorted(roots, accept):
    """Regular files under roots (no symlinks), sorted, first path per inode."""
    seen, found = set(), []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                if accept(path, st):
                    found.append((path, st.st_size))
    return found


def is_text(path, st):
    if st.st_size > 8 * MIB:
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b"\0" not in head and not path.endswith((".gz", ".xz", ".bz2", ".zst"))


def is_elf(path, st):
    if st.st_size > 64 * MIB:
        return False
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def copy_selection(rng, candidates, budget, dest):
    """Copies a seeded sample of candidates (keeping their paths) until budget bytes."""
    order = list(candidates)
    rng.shuffle(order)
    used = 0
    for path, size in order:
        if used >= budget:
            break
        if used + size > budget * 1.02:
            continue
        target = os.path.join(dest, path.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(path, "rb") as src, open(target, "wb") as dst:
            data = src.read()
            dst.write(data)
        used += len(data)
    return used


def make_src(rng, root, budget):
    dest = os.path.join(root, "src")
    os.makedirs(dest)
    cands = walk_sorted(["/usr/include", "/usr/lib/python3", "/usr/share/perl"], is_text)
    used = copy_selection(rng, cands, budget, dest)
    n = 0
    while used < budget:  # /usr ran out: generated C-like files
        size = min(budget - used, rng.randint(2_000, 120_000))
        path = os.path.join(dest, "generated", f"m{n // 100:03d}", f"file{n:05d}.c")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = gen_text(rng, size)
        with open(path, "wb") as f:
            f.write(data)
        used += len(data)
        n += 1
    # A few entries that trip naive tools: odd names, symlinks, an empty dir.
    odd = os.path.join(dest, "odd names")
    os.makedirs(os.path.join(odd, "empty dir"))
    for name in ("file with spaces.txt", "été-ünïcode-名前.txt", "-starts-with-dash", "tab\tin name"):
        with open(os.path.join(odd, name), "wb") as f:
            f.write(gen_text(rng, 3000))
    os.symlink("file with spaces.txt", os.path.join(odd, "relative-link"))
    os.symlink("/nonexistent/target", os.path.join(odd, "dangling-link"))
    os.chmod(os.path.join(odd, "-starts-with-dash"), 0o600)
    return used


def make_bin(rng, root, budget):
    dest = os.path.join(root, "bin")
    os.makedirs(dest)
    roots = ["/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu", "/usr/libexec", "/usr/lib/gcc"]
    used = copy_selection(rng, walk_sorted(roots, is_elf), budget, dest)
    for dirpath, _, filenames in os.walk(dest):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o755)
    return used


def make_db(rng, root, budget):
    dest = os.path.join(root, "db")
    os.makedirs(dest)
    path = os.path.join(dest, "shop.sqlite")
    db = sqlite3.connect(path)
    db.executescript(
        """PRAGMA page_size=4096; PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF;
        CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, email TEXT, city TEXT,
                               created INTEGER, balance REAL);
        CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER, sku TEXT, qty INTEGER,
                            price REAL, status TEXT, created INTEGER, note TEXT);
        CREATE INDEX orders_by_customer ON orders(customer_id);"""
    )
    first = "Marie Jean Pierre Sophie Luc Camille Nicolas Julie Thomas Claire Hugo Léa".split()
    last = "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon".split()
    cities = "Paris Lyon Marseille Toulouse Nice Nantes Strasbourg Lille Rennes Brest".split()
    statuses = "pending paid shipped delivered refunded cancelled".split()
    cust = order = 0
    t0 = 1_600_000_000
    while True:
        rows = []
        for _ in range(1000):
            cust += 1
            f, l = rng.choice(first), rng.choice(last)
            rows.append((cust, f"{f} {l}", f"{f.lower()}.{l.lower()}{cust}@example.fr",
                         rng.choice(cities), t0 + cust * 37, round(rng.uniform(-500, 5000), 2)))
        db.executemany("INSERT INTO customers VALUES(?,?,?,?,?,?)", rows)
        rows = []
        for _ in range(9000):
            order += 1
            note = " ".join(rng.choices(VOCAB, k=rng.randint(0, 8)))
            rows.append((order, rng.randint(1, cust), f"SKU-{rng.randint(0, 99999):05d}",
                         rng.randint(1, 20), round(rng.uniform(1, 900), 2),
                         rng.choice(statuses), t0 + order * 3, note))
        db.executemany("INSERT INTO orders VALUES(?,?,?,?,?,?,?,?)", rows)
        db.commit()
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        if pages * 4096 >= budget:
            break
    db.close()
    return os.path.getsize(path)


def structured_bytes(rng, n):
    """Inode-table-like records: mostly constant fields, a few counters."""
    tmpl = bytearray(rng.randbytes(32) + bytes(96))
    base = rng.randint(0, 1 << 30)
    parts, i = [], 0
    while len(parts) * 128 < n:
        tmpl[32:40] = (base + i).to_bytes(8, "little")
        tmpl[40:44] = (i * 4096 & 0xFFFFFFFF).to_bytes(4, "little")
        parts.append(bytes(tmpl))
        i += 1
    return b"".join(parts)[:n]


def make_vm(rng, root, budget):
    dest = os.path.join(root, "vm")
    os.makedirs(dest)
    path = os.path.join(dest, "disk.img")
    image = max(2 * budget, 2 * MIB) // 4096 * 4096
    extents, total = [], 0
    while total < budget:
        size = min(rng.randint(16, 1024) * 4096, budget - total)
        size = max(size // 4096 * 4096, 4096)
        extents.append(size)
        total += size
    gap_total = image - total
    weights = [rng.random() for _ in range(len(extents) + 1)]
    scale = gap_total / sum(weights)
    offset = 0
    with open(path, "wb") as f:
        for size, w in zip(extents, weights):
            offset += int(w * scale) // 4096 * 4096
            kind = rng.random()
            if kind < 0.35:
                data = rng.randbytes(size)
            elif kind < 0.70:
                data = gen_text(rng, size)[:size]
            else:
                data = structured_bytes(rng, size)
            f.seek(offset)
            f.write(data)
            offset += size
        f.truncate(image)
    return total


def make_compressed(rng, root, budget):
    dest = os.path.join(root, "compressed")
    for sub in ("photos", "archives", "logs"):
        os.makedirs(os.path.join(dest, sub))
    used, n = 0, 0
    while used < budget * 0.60:  # already-compressed media: random bytes
        size = min(rng.randint(300_000, 6_000_000), max(int(budget * 0.60) - used, 1000))
        data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size) + b"\xff\xd9"
        with open(os.path.join(dest, "photos", f"IMG_{n:04d}.jpg"), "wb") as f:
            f.write(data)
        used, n = used + len(data), n + 1
    n = 0
    while used < budget * 0.85:
        text = gen_text(rng, rng.randint(1, 12) * MIB // 2)
        data = gzip.compress(text, compresslevel=6, mtime=0)
        with open(os.path.join(dest, "archives", f"release-{n:03d}.tar.gz"), "wb") as f:
            f.write(data)
        used, n = used + len(data), n + 1
    n = 0
    while used < budget:
        text = gen_text(rng, rng.randint(1, 8) * MIB // 2, comment="#")
        data = lzma.compress(text, preset=1)
        with open(os.path.join(dest, "logs", f"app.log.{n}.xz"), "wb") as f:
            f.write(data)
        used, n = used + len(data), n + 1
    return used


def make_small(rng, root, budget):
    dest = os.path.join(root, "small")
    pool = gen_text(rng, 16 * MIB, comment="#")
    used, n = 0, 0
    while used < budget:
        d = os.path.join(dest, f"p{n // 900:02d}", f"q{(n // 30) % 30:02d}")
        if n % 30 == 0:
            os.makedirs(d, exist_ok=True)
        size = rng.randint(1024, 8192)
        start = rng.randint(0, len(pool) - size)
        ext = rng.choice((".conf", ".json", ".txt", ".eml", ".html"))
        data = f"id: {n} {rng.getrandbits(64):016x}\n".encode() + pool[start:start + size]
        with open(os.path.join(d, f"f{n:06d}{ext}"), "wb") as f:
            f.write(data)
        used, n = used + len(data), n + 1
    return used


def generate(args):
    root = os.path.abspath(args.dir)
    os.makedirs(root)
    total = args.size_mb * MIB
    makers = {"src": make_src, "bin": make_bin, "db": make_db, "vm": make_vm,
              "compressed": make_compressed, "small": make_small}
    for part, share in SHARES.items():
        rng = random.Random(f"{args.seed}/{part}")  # parts independent of each other
        used = makers[part](rng, root, int(total * share))
        print(f"  {part:<11} {used / MIB:8.1f} MiB", file=sys.stderr)


def regular_files(root, sub):
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, sub)):
        dirnames.sort()
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(p).st_mode):
                out.append(p)
    return out


def mutate(args):
    """Appends to 1% of all files (text files of src/ and small/), rewrites a db block."""
    root = os.path.abspath(args.dir)
    rng = random.Random(f"{args.seed}/mutate")
    total = sum(len(regular_files(root, s)) for s in SHARES)
    text = regular_files(root, "src") + regular_files(root, "small")
    text = [p for p in text if "odd names" not in p]
    victims = rng.sample(text, max(1, total // 100) - 1)  # the db is the last one
    for p in victims:
        with open(p, "ab") as f:
            f.write(b"\n/* changed by bench: " + gen_text(rng, 150).replace(b"\n", b" ") + b" */\n")
    db = sqlite3.connect(os.path.join(root, "db", "shop.sqlite"))
    hi = db.execute("SELECT max(id) FROM orders").fetchone()[0]
    lo = rng.randint(1, max(1, hi - 500))
    db.execute("UPDATE orders SET status='refunded', note='changed by bench' "
               "WHERE id BETWEEN ? AND ?", (lo, lo + 499))
    db.commit()
    db.close()
    print(f"  mutated {len(victims) + 1} of {total} files (db orders {lo}..{lo + 499})",
          file=sys.stderr)


def manifest(args):
    root = os.path.abspath(args.dir)
    out = sys.stdout
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        st = os.lstat(dirpath)
        out.write(f"d {stat.S_IMODE(st.st_mode):o} - - - {rel!r}\n")
        names = sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))])
        for name in names:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            r = os.path.join(rel, name)
            if stat.S_ISLNK(st.st_mode):
                out.write(f"l - - - {os.readlink(p)!r} {r!r}\n")
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    while chunk := f.read(MIB):
                        h.update(chunk)
                out.write(f"f {stat.S_IMODE(st.st_mode):o} {st.st_size} {int(st.st_mtime)} "
                          f"{h.hexdigest()} {r!r}\n")
            else:
                out.write(f"? {stat.S_IFMT(st.st_mode):o} - - - {r!r}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("dir")
    g.add_argument("size_mb", type=int)
    g.add_argument("--seed", default="coffre-bench-1")
    m = sub.add_parser("mutate")
    m.add_argument("dir")
    m.add_argument("--seed", default="coffre-bench-1")
    f = sub.add_parser("manifest")
    f.add_argument("dir")
    args = ap.parse_args()
    {"generate": generate, "mutate": mutate, "manifest": manifest}[args.cmd](args)


if __name__ == "__main__":
    main()
