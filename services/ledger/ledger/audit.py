"""The audit: recompute the log from what is stored and name the first record that does not match.

It re-hashes every leaf, rebuilds the tiles from the leaf hashes (its own copy of the tree's right edge),
and for every block checks the header's link to the previous block, its leaf range, its Merkle root
against the rebuilt tree, its proof of work, its signature and its checkpoint note. Records are checked in
log order and the first bad one stops the audit.

Incremental by default: the audit keeps its rebuilt right edge and the last block it checked (in
`audit_state`), so a later audit reads only what is new. `full` starts again from the empty tree (what
finds a record changed after it was audited). A failure is kept until a full audit finds the log clean;
a new failure publishes `ledger.integrity.failed`, and the ledger reports itself degraded meanwhile.
"""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import logging
import time

import sqlalchemy as sa
from servicekit.errors import Conflict
from servicekit.events import publish
from sqlalchemy.orm import Session

from ledger import blocks, merkle, notes, tiles, tree
from ledger.models import AuditState, Block, Entry, LogState

log = logging.getLogger(__name__)

LEAVES_PER_READ = 20_000

TileKey = tuple[int, int]


@dataclasses.dataclass(frozen=True)
class Finding:
    what: str                  # leaf | tile | block
    leaf_index: int | None
    block_height: int | None
    detail: str


@dataclasses.dataclass(frozen=True)
class AuditReport:
    mode: str                  # incremental | full
    status: str                # ok | failed (a failure stays until a full audit is clean)
    finding: Finding | None    # what this audit found, or the standing failure
    complete: bool             # false: stopped for time before the last block; the next audit continues
    tree_size: int             # leaves sealed in checked blocks
    block_height: int | None   # the last block checked
    leaves_checked: int
    blocks_checked: int
    seconds: float
    checked_at: dt.datetime


class _Mismatch(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding


class AuditRunning(Conflict):
    code, title = "audit-running", "An audit is running"


def run_audit(session: Session, verifier: notes.NoteVerifier, origin: str, *, full: bool = False,
              now: dt.datetime | None = None, seconds: float | None = None, wait: bool = True) -> AuditReport:
    """Audit in the caller's transaction (the caller commits: the audit's progress and verdict are stored).

    With `seconds`, it stops after the block it is checking once that long has passed (`complete` false): a
    request need not outlast its timeout, and the next audit continues where this one stopped. One audit runs
    at a time: another waits for it, or, with `wait` false, is refused at once (`AuditRunning`, a 409).
    """
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    state = session.get(AuditState, 1, with_for_update={"skip_locked": True} if not wait else True)
    if state is None:
        raise AuditRunning("another audit is running; ask again when it is done")
    if full:
        state.audited_size, state.audited_height, state.last_block_hash, state.edge = 0, 0, None, {}
    checker = _Checker(session, verifier, origin, state,
                       deadline=None if seconds is None else started + seconds)
    upto_height = session.get(LogState, 1).height
    finding = None
    try:
        checker.check_blocks(upto_height)
    except _Mismatch as mismatch:
        finding = mismatch.finding
    _record_verdict(session, state, finding, full, now)
    report = AuditReport(
        mode="full" if full else "incremental", status=state.status,
        complete=finding is not None or state.audited_height >= upto_height,
        finding=finding or (Finding(**state.failure) if state.failure else None), tree_size=state.audited_size,
        block_height=state.audited_height - 1 if state.audited_height else None,
        leaves_checked=checker.leaves_checked, blocks_checked=checker.blocks_checked,
        seconds=round(time.perf_counter() - started, 3), checked_at=now)
    log.info("audit done", extra={"mode": report.mode, "status": report.status, "leaves": report.leaves_checked,
                                  "blocks": report.blocks_checked, "seconds": report.seconds})
    return report


def audit_log(session: Session, verifier: notes.NoteVerifier, origin: str, *, full: bool = False,
              seconds: float | None = None) -> AuditReport:
    """Audit (for at most about `seconds`) and keep the progress and verdict (commits); `AuditRunning` at once
    while another audit runs (a request must not queue behind the worker's scheduled audit of a large log)."""
    report = run_audit(session, verifier, origin, full=full, seconds=seconds, wait=False)
    session.commit()
    return report


def integrity(session: Session) -> dict:
    """The audit's standing verdict: {"status": ok | failed, "failure": ... | None, "checked_at": ...}."""
    state = session.get(AuditState, 1)
    return {"status": state.status, "failure": state.failure, "checked_at": state.checked_at}


def _record_verdict(session: Session, state: AuditState, finding: Finding | None, full: bool,
                    now: dt.datetime) -> None:
    state.checked_at = now
    if finding is None:
        if full:
            state.status, state.failure = "ok", None
        return
    new = dataclasses.asdict(finding)
    if state.failure != new:
        publish(session, "ledger.integrity.failed", {**new, "detected_at": now})
        log.error("ledger integrity failed", extra=new)
    state.status, state.failure = "failed", new


class _Checker:
    """Walks blocks from the audit's state onward, rebuilding the tree as it goes."""

    def __init__(self, session: Session, verifier: notes.NoteVerifier, origin: str, state: AuditState, *,
                 deadline: float | None = None) -> None:
        self.session = session
        self.deadline = deadline
        self.verifier = verifier
        self.origin = origin
        self.state = state
        self.edge: dict[TileKey, bytes] = {_key(name): base64.b64decode(content)
                                           for name, content in state.edge.items()}
        self.leaves_checked = 0
        self.blocks_checked = 0

    def check_blocks(self, upto_height: int) -> None:
        height = self.state.audited_height
        while height < upto_height:
            batch = self.session.scalars(sa.select(Block).where(Block.height >= height).order_by(Block.height)
                                         .limit(200)).all()
            if not batch:
                raise _Mismatch(Finding("block", None, height, f"block {height} is missing"))
            for block in batch:
                if block.height >= upto_height:
                    return
                self._check_block(block, height)
                height += 1
                if self._out_of_time():   # after a block: every audit makes progress
                    return

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    def _check_block(self, block: Block, expected_height: int) -> None:
        size = self.state.audited_size
        def bad(detail: str) -> _Mismatch:
            return _Mismatch(Finding("block", None, expected_height, f"block {expected_height}: {detail}"))
        if block.height != expected_height:
            raise bad(f"block {expected_height} is missing (the next stored is {block.height})")
        if block.previous_hash != (self.state.last_block_hash or blocks.GENESIS_PREVIOUS):
            raise bad("its previous-block hash does not name the block before it")
        if block.first_leaf_index != size or block.tree_size != size + block.leaf_count or block.leaf_count < 1:
            raise bad(f"its leaf range does not follow the previous block's tree size {size}")
        self._append_leaves(size, block.tree_size)
        root = merkle.root_hash(block.tree_size, tiles.TileHashReader(
            lambda keys: {key: self.edge[key] for key in keys if key in self.edge}))
        if block.root != root:
            raise bad("its Merkle root is not the root of the log's leaves at its tree size")
        try:
            header = blocks.BlockHeader(
                height=block.height, previous_hash=block.previous_hash, first_leaf_index=block.first_leaf_index,
                leaf_count=block.leaf_count, tree_size=block.tree_size, root=block.root, timestamp=block.timestamp,
                difficulty=block.difficulty, nonce=block.nonce)
        except ValueError as exc:  # a stored field out of its range: no header could have it
            raise bad(f"its header is malformed: {exc}") from None
        if header.hash() != block.hash:
            raise bad("its stored hash is not the hash of its header")
        if not blocks.meets_difficulty(header.hash(), block.difficulty):
            raise bad(f"its hash does not meet its proof-of-work difficulty ({block.difficulty} bits)")
        if not self.verifier.verify_bytes(header.encode(), block.signature):
            raise bad("its signature does not verify with the ledger's key")
        self._check_checkpoint(block, bad)
        self.state.audited_size, self.state.audited_height = block.tree_size, block.height + 1
        self.state.last_block_hash = block.hash
        self.state.edge = {f"{level}/{index}": base64.b64encode(content).decode()
                           for (level, index), content in self.edge.items()}
        self.blocks_checked += 1

    def _check_checkpoint(self, block: Block, bad) -> None:
        try:
            checkpoint = notes.parse_checkpoint(self.verifier.open(block.checkpoint))
        except ValueError as exc:
            raise bad(f"its checkpoint note does not verify: {exc}") from None
        if (checkpoint.origin, checkpoint.size, checkpoint.root) != (self.origin, block.tree_size, block.root):
            raise bad("its checkpoint names another origin, size or root than the block")

    def _append_leaves(self, start: int, end: int) -> None:
        """Check leaves [start, end) and the stored tiles they make; grow the rebuilt edge."""
        position = start
        while position < end:
            rows = self.session.execute(
                sa.select(Entry.leaf_index, Entry.leaf, Entry.leaf_hash)
                .where(Entry.leaf_index >= position, Entry.leaf_index < min(end, position + LEAVES_PER_READ))
                .order_by(Entry.leaf_index)).all()
            hashes = []
            for offset, row in enumerate(rows):
                index = position + offset
                if row.leaf_index != index:
                    raise _Mismatch(Finding("leaf", index, None, f"leaf {index} is missing"))
                computed = merkle.leaf_hash(row.leaf)
                if row.leaf_hash != computed:
                    raise _Mismatch(Finding("leaf", index, None,
                                            f"leaf {index}: the stored leaf hash is not SHA-256(0x00 ‖ leaf)"))
                hashes.append(computed)
            if not rows:
                raise _Mismatch(Finding("leaf", position, None, f"leaf {position} is missing"))
            changed = tiles.append(position, self._edge_of(position), hashes)
            self._compare_stored(changed)
            self.edge = {**self._edge_of(position), **changed}
            self.edge = {key: self.edge[key] for key in tiles.edge_tiles(position + len(hashes)) if key in self.edge}
            position += len(hashes)
            self.leaves_checked += len(hashes)

    def _edge_of(self, size: int) -> dict[TileKey, bytes]:
        return {key: self.edge[key] for key in tiles.edge_tiles(size) if key in self.edge}

    def _compare_stored(self, rebuilt: dict[TileKey, bytes]) -> None:
        stored = tree.fetch_tiles(self.session, rebuilt)
        for key in sorted(rebuilt, key=lambda k: (k[0], k[1])):
            level, index = key
            expected, actual = rebuilt[key], stored.get(key, b"")
            if actual[:len(expected)] == expected:
                continue
            first = next((i for i in range(0, len(expected), 32) if actual[i:i + 32] != expected[i:i + 32]), 0)
            leaf = (index * tiles.TILE_WIDTH + first // 32) << (tiles.TILE_HEIGHT * level)
            raise _Mismatch(Finding("tile", leaf, None,
                                    f"tile {level}/{index}: the stored hash {first // 32} differs from the one "
                                    f"rebuilt from the leaves (first leaf affected: {leaf})"))


def _key(name: str) -> TileKey:
    level, index = name.split("/")
    return int(level), int(index)



def readiness(session: Session) -> dict[str, str]:
    """/readyz's report: the ledger is degraded (still serving, for auditors) while its integrity failed."""
    return {"integrity": session.get(AuditState, 1).status}
