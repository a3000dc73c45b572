"""Materialise the pinned repositories of the real-code benchmark outside this repository.

    python bench/realcode/fetch.py                 # into $LOSSLINT_REALCODE (default below)
    python bench/realcode/fetch.py --into /tmp/rc  # elsewhere
    python bench/realcode/fetch.py --only voxelmorph/voxelmorph

The default folder is ~/.cache/losslint-realcode, outside any checkout. Each repository is
taken, at its pinned commit, from the local mirror first (a bare git directory under
$LOSSLINT_MIRROR, default /work/.mirror/<owner>+<name>/, as the sandbox's `fetch` tool leaves
it), else cloned from GitHub where the network allows. Only the files matching the `include`
globs of repos.toml (all when none), less those matching `exclude`, are written. A repository
already materialised at the same commit is skipped.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Repo:
    name: str
    commit: str
    why: str
    kind: str = "repo"
    include: tuple[str, ...] = field(default_factory=tuple)
    exclude: tuple[str, ...] = field(default_factory=tuple)

    @property
    def folder(self) -> str:
        """The folder the repository is materialised into (owner+name, as the mirror spells it)."""
        return self.name.replace("/", "+")


def load_repos(path: Path = HERE / "repos.toml") -> list[Repo]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return [
        Repo(
            name=entry["name"],
            commit=entry["commit"],
            why=entry.get("why", ""),
            kind=entry.get("kind", "repo"),
            include=tuple(entry.get("include", ())),
            exclude=tuple(entry.get("exclude", ())),
        )
        for entry in data["repo"]
    ]


def default_root() -> Path:
    return Path(os.environ.get("LOSSLINT_REALCODE", Path.home() / ".cache" / "losslint-realcode"))


def mirror_git_dir(repo: Repo) -> Path | None:
    """The bare git directory of the mirror for this repository, if one is there."""
    base = Path(os.environ.get("LOSSLINT_MIRROR", "/work/.mirror")) / repo.folder
    for candidate in (base / "repo" / ".git", base / "repo", base):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def kept(repo: Repo, path: str) -> bool:
    if any(fnmatch.fnmatch(path, glob) for glob in repo.exclude):
        return False
    return not repo.include or any(fnmatch.fnmatch(path, glob) for glob in repo.include)


def archive_from(git_dir: Path, repo: Repo, dest: Path) -> int:
    """Write the included files of the pinned commit into dest; returns how many were written.

    Blob by blob rather than `git archive`: a mirror lacks its largest files (datasets, weights),
    and one absent blob must not lose the whole repository.
    """
    git = ["git", f"--git-dir={git_dir}"]
    listing = subprocess.run(
        [*git, "ls-tree", "-r", "-z", repo.commit], check=True, capture_output=True
    ).stdout.decode()
    wanted: list[tuple[str, str]] = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob" and mode != "120000" and kept(repo, path):
            wanted.append((sha, path))
    if not wanted:
        return 0
    batch = subprocess.run(
        [*git, "cat-file", "--batch"],
        input="".join(sha + "\n" for sha, _ in wanted).encode(),
        check=True,
        capture_output=True,
    ).stdout
    stream = io.BytesIO(batch)
    count = 0
    for _sha, path in wanted:
        header = stream.readline().decode().split()
        if len(header) < 3:  # "<sha> missing": absent from the mirror
            continue
        body = stream.read(int(header[2]))
        stream.read(1)  # the newline after each object
        target = dest / path
        if not target.resolve().is_relative_to(dest.resolve()):
            continue  # a path that climbs out of the folder is not ours to write
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        count += 1
    return count


def clone_into(repo: Repo, scratch: Path) -> Path:
    git_dir = scratch / "clone.git"
    url = f"https://github.com/{repo.name}.git"
    subprocess.run(["git", "init", "--bare", "-q", str(git_dir)], check=True)
    subprocess.run(
        ["git", f"--git-dir={git_dir}", "fetch", "-q", "--depth=1", url, repo.commit],
        check=True,
        timeout=600,
    )
    return git_dir


def materialise(repo: Repo, root: Path) -> str:
    dest = root / repo.folder
    stamp = dest / ".losslint-realcode-commit"
    if stamp.is_file() and stamp.read_text().strip() == repo.commit:
        return "up to date"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        git_dir = mirror_git_dir(repo)
        origin = "mirror"
        if git_dir is None:
            git_dir, origin = clone_into(repo, Path(scratch)), "github"
        count = archive_from(git_dir, repo, dest)
    stamp.write_text(repo.commit + "\n")
    return f"{count} files from the {origin}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=None, help="where to materialise them")
    parser.add_argument("--only", action="append", default=[], help="owner/name (repeatable)")
    args = parser.parse_args(argv)
    root: Path = args.into or default_root()
    root.mkdir(parents=True, exist_ok=True)
    failed = 0
    for repo in load_repos():
        if args.only and repo.name not in args.only:
            continue
        try:
            outcome = materialise(repo, root)
        except (subprocess.SubprocessError, OSError) as error:
            failed += 1
            outcome = f"FAILED: {error}"
        print(f"{repo.name}@{repo.commit[:10]}: {outcome}")
    print(f"materialised under {root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
