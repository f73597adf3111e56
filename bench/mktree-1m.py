#!/usr/bin/env python3
"""Create a synthetic tree of exactly N entries (default 1,000,000) for the
hallmark memory benchmark (bench/run.sh).

Layout: the root directory, D-1 subdirectories d000..d998, each holding
F-S regular files of a few bytes and S relative symlinks, so that
1 + (D-1) + (D-1) * F == N entries (with the defaults D=1000, F=1000, S=10:
1 + 999 + 999 * 1000 = 1,000,000).  File contents are distinct and small so
that the run measures per-entry costs (walk, stat, open, manifest lines,
merge join), not hashing throughput.

With --count N the tree has exactly N entries: as many full directories
of F entries as fit, and one last directory with the rest (used by
bench/scale.sh for 10k, 100k and 1M).

Usage: mktree-1m.py DIR [--count N | --dirs D] [--per-dir F] [--symlinks S]
DIR must not exist; it is created (via DIR.tmp, renamed at the end).
"""

import argparse
import os
import shutil
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--dirs", type=int, default=1000,
                    help="directories including the root (default 1000)")
    ap.add_argument("--count", type=int, default=None,
                    help="exactly this many entries (overrides --dirs)")
    ap.add_argument("--per-dir", type=int, default=1000,
                    help="entries per subdirectory (default 1000)")
    ap.add_argument("--symlinks", type=int, default=10,
                    help="of which symlinks (default 10)")
    a = ap.parse_args()

    if a.dirs < 1 or a.per_dir < 0 or not 0 <= a.symlinks <= a.per_dir:
        ap.error("bad sizes")
    # Entries in each subdirectory: per_dir, except the last (count mode).
    sizes = [a.per_dir] * (a.dirs - 1)
    if a.count is not None:
        if a.count < 1 or a.per_dir < 1:
            ap.error("bad sizes")
        full, rest = divmod(a.count - 1, a.per_dir + 1)
        sizes = [a.per_dir] * full + ([rest - 1] if rest else [])
    if os.path.lexists(a.dir):
        print(f"mktree-1m: '{a.dir}' exists", file=sys.stderr)
        return 2

    tmp = a.dir + ".tmp"
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    os.mkdir(tmp, 0o755)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    count = 1
    for d, per_dir in enumerate(sizes):
        nlinks = min(a.symlinks, per_dir)
        nfiles = per_dir - nlinks
        dname = f"d{d:03d}"
        dpath = os.path.join(tmp, dname)
        os.mkdir(dpath, 0o755)
        dfd = os.open(dpath, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for f in range(nfiles):
                fd = os.open(f"f{f:04d}", flags, 0o644, dir_fd=dfd)
                try:
                    os.write(fd, f"{d}/{f}\n".encode())
                finally:
                    os.close(fd)
            for s in range(nlinks):
                os.symlink(f"f{s:04d}", f"l{s:04d}", dir_fd=dfd)
        finally:
            os.close(dfd)
        count += 1 + per_dir
    os.rename(tmp, a.dir)
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
