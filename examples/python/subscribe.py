#!/usr/bin/env python3
"""Follows a Sunshine Ledger node live and prints every entry as it is committed.

A starting point for dashboards: copy it, keep the Subscribe loop, replace `show`.

    python generate.py                                   # once: the stubs, from ../../proto
    python subscribe.py --node 127.0.0.1:50051           # new entries only, as they come
    python subscribe.py --from 0 --limit 20              # the first 20 entries, then stop
    python subscribe.py --kinds funds_received --json    # receipts only, one JSON object per line

Amounts are integer fen (uint64); they are formatted as yuan with integer arithmetic only.
Exit codes: 0 done, 1 the node refused the request, 2 bad arguments, 3 the node cannot be
reached.
"""

import argparse
import datetime
import json
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
# Where generate.py wrote the stubs (LEDGER_PY_STUBS overrides, as the repository's test does).
sys.path.insert(0, os.environ.get("LEDGER_PY_STUBS", str(HERE / "generated")))

try:
    import grpc
    from ledger.v1 import ledger_pb2, ledger_pb2_grpc, transaction_pb2
except ImportError as e:  # the stubs are generated, not committed
    sys.exit(f"error: {e}. Run `pip install -r requirements.txt` and `python generate.py` first.")

SOURCES = {
    transaction_pb2.FUND_SOURCE_FISCAL: "财政 fiscal",
    transaction_pb2.FUND_SOURCE_SOCIAL_CAPITAL: "社会资本 social capital",
    transaction_pb2.FUND_SOURCE_RESIDENT: "居民自筹 residents",
    transaction_pb2.FUND_SOURCE_CROWDFUNDING: "众筹 crowdfunding",
    transaction_pb2.FUND_SOURCE_DONATION: "慈善捐赠 donation",
    transaction_pb2.FUND_SOURCE_LOAN: "银行贷款 loan",
    transaction_pb2.FUND_SOURCE_OTHER: "其他 other",
}


def yuan(fen: int) -> str:
    """¥1,234.56 from 123456 fen, without floating point."""
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def fingerprint(key_id: bytes) -> str:
    """The key fingerprint `ledger` and `verifier` print: 5 groups of 4 hex digits."""
    h = key_id[:10].hex().upper()
    return "-".join(h[i : i + 4] for i in range(0, 20, 4))


def channel_for(node: str):
    """A gRPC channel for a node address in any form the other tools take: host:port,
    http://host:port (plain) or https://host:port (TLS with the system's roots), with or
    without a trailing slash."""
    text = node.strip().rstrip("/")
    secure = False
    for scheme, is_tls in (("https://", True), ("http://", False)):
        if text.lower().startswith(scheme):
            text, secure = text[len(scheme):], is_tls
            break
    if not text or "/" in text:
        raise ValueError(f"{node!r} is not a node address: give host:port, http://host:port or https://host:port")
    if ":" not in text.rsplit("]", 1)[-1]:
        text += ":443" if secure else ":50051"
    if secure:
        return grpc.secure_channel(text, grpc.ssl_channel_credentials())
    return grpc.insecure_channel(text)


def describe(entry: ledger_pb2.Entry) -> dict:
    envelope = transaction_pb2.SignedEnvelope.FromString(entry.envelope)
    body = transaction_pb2.TransactionBody.FromString(envelope.body)
    kind = body.WhichOneof("kind")
    detail = getattr(body, kind)
    out = {
        "sequence": entry.sequence,
        "time": datetime.datetime.fromtimestamp(entry.timestamp_ms / 1000, datetime.timezone.utc).isoformat(),
        "kind": kind,
        "tx_id": body.tx_id.hex(),
        "entry_hash": entry.entry_hash.hex(),
        "signers": [fingerprint(s.key_id) for s in envelope.signatures],
    }
    if kind == "funds_received":
        out.update(source=SOURCES.get(detail.source, str(detail.source)), amount_fen=detail.amount_fen, to=detail.to_account, memo=detail.memo)
    elif kind in ("funds_allocated", "disbursement_proposed"):
        out.update(amount_fen=sum(a.amount_fen for a in detail.amounts), project=detail.project_id, memo=detail.memo)
    elif kind in ("entry_reversed", "entry_annotated"):
        out.update(target_tx_id=detail.target_tx_id.hex())
    elif kind.startswith("disbursement_"):
        out.update(proposal_tx_id=detail.proposal_tx_id.hex())
    return out


def show(entry: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(entry, ensure_ascii=False), flush=True)
        return
    amount = f" {yuan(entry['amount_fen'])}" if "amount_fen" in entry else ""
    memo = f" {entry['memo']}" if entry.get("memo") else ""
    print(f"#{entry['sequence']} {entry['time']} {entry['kind']}{amount}{memo}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description="Follow a Sunshine Ledger node live.")
    parser.add_argument(
        "--node",
        default=os.environ.get("LEDGER_NODE", "127.0.0.1:50051"),
        help="the node's gRPC address: host:port, http://host:port or https://host:port (env LEDGER_NODE)",
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--from", dest="from_sequence", type=int, help="start at this sequence number")
    start.add_argument("--from-beginning", action="store_true", help="start at the genesis entry")
    parser.add_argument("--kinds", nargs="*", default=[], help="only these kinds, e.g. funds_received")
    parser.add_argument("--limit", type=int, default=0, help="stop after this many entries (0: never)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    if args.from_sequence is not None and args.from_sequence < 0:
        parser.error("--from must be 0 or more")

    request = ledger_pb2.SubscribeRequest(kinds=args.kinds)
    if args.from_beginning:
        request.start = ledger_pb2.SubscribeRequest.START_FROM_BEGINNING
    elif args.from_sequence is not None:
        request.start = ledger_pb2.SubscribeRequest.START_FROM_SEQUENCE
        request.from_sequence = args.from_sequence
    else:
        request.start = ledger_pb2.SubscribeRequest.START_ONLY_NEW

    seen = 0
    try:
        channel = channel_for(args.node)
    except ValueError as e:
        parser.error(str(e))
    with channel:
        stub = ledger_pb2_grpc.LedgerStub(channel)
        try:
            for event in stub.Subscribe(request):
                which = event.WhichOneof("event")
                if which == "entry":
                    show(describe(event.entry), args.json)
                    seen += 1
                    if args.limit and seen >= args.limit:
                        return 0
                elif which == "caught_up":
                    # On stderr, so stdout stays a clean list of entries.
                    print(f"caught up at {event.caught_up.tree_size} entries; following live", file=sys.stderr, flush=True)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                print(f"error: cannot reach the node at {args.node}: {e.details()}", file=sys.stderr)
                return 3
            print(f"error: the node refused the subscription ({e.code().name}): {e.details()}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
