#!/usr/bin/env python3
"""Generates the Python stubs of the Sunshine Ledger API from ../../proto with grpcio-tools.

    python generate.py            # writes ./generated/ledger/v1/*_pb2*.py
    python generate.py --out DIR  # somewhere else

The .proto files are the API contract; the stubs are generated, never edited or committed.
"""

import argparse
import pathlib
import sys

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto"
FILES = ["ledger/v1/transaction.proto", "ledger/v1/ledger.proto"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "generated"), help="output directory")
    parser.add_argument("--proto", default=str(PROTO_ROOT), help="the repository's proto/ directory")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{args.proto}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            *FILES,
        ]
    )
    if code != 0:
        print(f"error: protoc failed (exit {code}) on {args.proto}", file=sys.stderr)
        return 1
    print(f"wrote stubs for {', '.join(FILES)} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
