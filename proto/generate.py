"""Regenerate the Python protobuf/gRPC code from ``creditx/v1/*.proto``.

    python proto/generate.py           # rewrite the generated files in place
    python proto/generate.py --check   # exit 1 if the committed files are stale

The generated modules live next to their sources in ``creditx/v1/`` and form the package
``creditx.v1``;
they are never edited by hand. The generator version is pinned in pyproject.toml
(``grpcio-tools``) so that the output is reproducible and the check is meaningful.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: protoc paths are creditx/v1/…
PACKAGE = ROOT / "creditx" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out_dir: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    sources = sorted(str(p.relative_to(ROOT)) for p in PACKAGE.glob("*.proto"))
    include = str(Path(grpc_tools.__file__).parent / "_proto")
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
    finally:
        os.chdir(cwd)


def generated_files(base: Path) -> dict[str, Path]:
    pkg = base / "creditx" / "v1"
    return {p.name: p for p in pkg.iterdir() if p.name.endswith(GENERATED_SUFFIXES)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if generated code is stale")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        generate(tmp_path)
        fresh = generated_files(tmp_path)
        current = generated_files(ROOT)
        stale = sorted(
            name
            for name in set(fresh) | set(current)
            if name not in fresh or name not in current or not filecmp.cmp(fresh[name], current[name], shallow=False)
        )
        if args.check:
            if stale:
                print("generated protobuf code is stale: " + ", ".join(stale), file=sys.stderr)
                print("run: python proto/generate.py", file=sys.stderr)
                return 1
            print(f"generated protobuf code is up to date ({len(fresh)} files)")
            return 0
        for name in current:
            if name not in fresh:
                current[name].unlink()
        for name, path in fresh.items():
            shutil.copyfile(path, PACKAGE / name)
        print(f"wrote {len(fresh)} files to {PACKAGE.relative_to(ROOT)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
