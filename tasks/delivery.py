"""The outbox drain as the ledger runs it: small claims, short leases, back-off, refusals.

Plain Python (no Prefect), like tasks.steps, so the flows, the CLI and the simulator run it.

- Claims are small (DRAIN_BATCH rows) and leased for LEASE: a sender killed with SIGKILL holds
  back at most its current small batch, and only until the next drain on this machine sees that
  its process is gone (or, from another machine, until the lease runs out).
- A relay that cannot be reached pauses every drain (ledger_meta) for the policy's first wait,
  so a tick of twenty flows costs one attempt, not twenty timeouts.
- Transient failures go back to 'pending' with a later next attempt; a letter is given up only
  after the policy's give-up time, and then it is listed in the report (an alert follows).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from engine.ledger import addresses as ledger_addresses
from engine.ledger import meta as ledger_meta
from engine.ledger import outbox as ledger_outbox
from notifications.drain import DrainReport, drain
from notifications.sender import OutgoingMessage, Sender, SendResult

log = logging.getLogger("kehoach.delivery")

# As many as notifications.mime builds ahead (AHEAD_MIN_BATCH): a crash holds back at most these.
DRAIN_BATCH = 20
LEASE = dt.timedelta(minutes=2)


def worker_id() -> str:
    """'host:pid:nonce': unique per drain, and telling which process holds a claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(claimer: str) -> bool:
    """Whether a claimer ran on this machine in a process that no longer exists."""
    host, _, rest = claimer.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def drain_outbox(
    sessions: sessionmaker[Session],
    sender: Sender,
    *,
    batch_size: int = DRAIN_BATCH,
    stale_after: dt.timedelta = LEASE,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    policy: ledger_outbox.RetryPolicy | None = None,
) -> DrainReport:
    """Claim → send → mark, each message marked as soon as the server answered."""
    policy = policy or ledger_outbox.RetryPolicy()
    me = worker_id()
    items: dict[str, ledger_outbox.OutboxItem] = {}
    # One session on one connection for the whole drain: every claim and mark is still its own
    # committed transaction (so a crash resends at most the message in flight), but a session
    # and a pool checkout per message cost as much as the UPDATE itself.
    connection = sessions.kw["bind"].connect()
    session = sessions(bind=connection)
    with connection, session:
        dead = [c for c in ledger_outbox.claimers(session) if c and _dead_here(c)]
        if dead:
            released = ledger_outbox.release(session, dead)
            log.info("released %d letters claimed by dead senders %s", released, dead)
        pause = ledger_meta.relay_paused_until(session)
        if pause is not None and clock() < pause[0]:
            return DrainReport(
                stopped_because=f"relay paused until {pause[0].isoformat()}", relay_down=pause[1]
            )
        failing = {(f.body_id, f.address) for f in ledger_addresses.failing_addresses(session)}
        report: DrainReport
        leased_at = [clock()]
        outstanding: set[int] = set()

        def renew_lease() -> None:
            now = clock()
            if now - leased_at[0] > stale_after / 2:
                ledger_outbox.renew(session, me, now)
                leased_at[0] = now

        def claim(limit: int) -> Sequence[OutgoingMessage]:
            claimed = ledger_outbox.claim(session, me, limit, clock(), stale_after)
            leased_at[0] = clock()
            items.update({i.message_id: i for i in claimed})
            outstanding.update(i.id for i in claimed)
            return [
                OutgoingMessage(
                    message_id=i.message_id,
                    to=list(i.to_addrs),
                    cc=list(i.cc_addrs),
                    subject=i.subject,
                    text=i.text_body,
                    html=i.html_body or "",
                    reply_to=(i.headers or {}).get("Reply-To"),
                    headers={k: v for k, v in (i.headers or {}).items() if k != "Reply-To"},
                )
                for i in claimed
            ]

        def mark_sent(result: SendResult) -> None:
            item = items[result.message_id]
            # On the drain's connection, not through the session: the session holds no
            # transaction between the drain's steps (each of them commits).
            ledger_outbox.mark_one_sent(connection, item.id, clock(), result.outcomes or None)
            outstanding.discard(item.id)
            healed = [a for a in result.accepted_by if (item.body_id, a.lower()) in failing]
            if healed:
                ledger_addresses.clear_address_failures(session, item.body_id, healed)
            renew_lease()

        def mark_failed(result: SendResult) -> None:
            item = items[result.message_id]
            now = clock()
            state = ledger_outbox.mark_failed(
                session,
                item.id,
                result.error or "refused",
                retry=result.retryable,
                now=now,
                policy=policy,
                outcomes=result.outcomes or None,
            )
            outstanding.discard(item.id)
            for address, reason in result.refused.items():
                if reason[:1] == "5":
                    ledger_addresses.mark_address_failing(
                        session, item.body_id, address, reason, "smtp", now=now
                    )
            if state == "failed":
                report.gave_up.append(
                    {
                        "id": item.id,
                        "key": item.key,
                        "body_id": item.body_id,
                        "kind": item.kind,
                        "subject": item.subject,
                        "error": result.error or "",
                    }
                )
            renew_lease()

        # A placeholder the callbacks can fill before drain() returns its own report.
        report = DrainReport()
        try:
            # Letters of big batches are built in a helper process while earlier ones are sent;
            # one SMTP connection serves every claim of the drain.
            with sender.prepare_ahead(), sender.keep_connected():
                done = drain(claim, sender.send_each, mark_sent, mark_failed, batch_size=batch_size)
        finally:
            # Whatever happened, rows claimed and not answered go back to the queue at once.
            if outstanding:
                ledger_outbox.release(session, [me])
        done.gave_up = report.gave_up
        if done.relay_down:
            until = clock() + policy.delay(1)
            ledger_meta.pause_relay(session, until, done.relay_down)
            log.warning("relay unreachable (%s): drains wait until %s", done.relay_down, until)
        elif pause is not None:
            ledger_meta.clear_relay_pause(session)
        return done
