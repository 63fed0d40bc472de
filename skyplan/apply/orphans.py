"""Stopping what a skyplan that died left running (see children.py for how commands are
started, recorded and tagged): the next skyplan, once it holds the stack's lock, asks a left
terraform to stop (SIGINT, never a kill) and waits for it, and stops jobs and copies (SIGTERM,
then SIGKILL)."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, replace

from skyplan.apply import children as ch
from skyplan.apply.state import StackState, boot_id, pid_alive
from skyplan.errors import ApplyError


def orphan_wait_seconds() -> float:
    """How long a terraform left running gets to stop (SKYPLAN_ORPHAN_WAIT_SECONDS)."""
    try:
        return max(0.0, float(os.environ.get("SKYPLAN_ORPHAN_WAIT_SECONDS", ch.TERRAFORM_GRACE_S)))
    except ValueError:
        return ch.TERRAFORM_GRACE_S


def reap_orphans(
    state: StackState,
    note: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[ch.Child]:
    """Stop the commands a skyplan that died left running, bounded in time; returns those that
    were running. Records of another host are kept, with a warning; records of an earlier boot
    of this machine are dropped (nothing of them runs). A terraform is never killed: when one is
    still running after the wait, this refuses (ApplyError) and keeps its record."""
    host, me, boot = socket.gethostname(), os.getpid(), boot_id()
    recorded = ch.load(state)
    elsewhere = [c for c in recorded if c.host != host]
    for c in elsewhere:
        note(f"{c.what} (pid {c.pid} on {c.host}) may still be running: check that host")
    here = [c for c in recorded if c.host == host]
    rebooted = [c for c in here if c.boot is not None and boot is not None and c.boot != boot]
    ours = [c for c in here if c not in rebooted and c.owner != me]
    living = [c for c in ours if pid_alive(c.owner, c.owner_started)]  # not ours to stop
    dead = [c for c in ours if c not in living]
    found = {id(c): c.members() for c in dead}
    for c in dead:
        if found[id(c)].unknown:
            pids = ", ".join(str(p) for p in found[id(c)].unknown)
            note(
                f"{c.what} (pid {c.pid}): cannot tell whether pid(s) {pids} of its process "
                f"group belong to it (their environment cannot be read): not signalling them"
            )
    orphans = [c for c in dead if found[id(c)].tagged]
    if orphans:
        state.event("orphans", found=[asdict(c) for c in orphans])
    terraform = [c for c in orphans if c.kind == "terraform"]
    others = [c for c in orphans if c.kind != "terraform"]
    grace = orphan_wait_seconds()
    for i, c in enumerate(terraform):
        if c.interrupted:
            note(
                f"{c.what} (pid {c.pid}), left running by skyplan pid {c.owner}, is already "
                f"stopping: waiting up to {grace:.0f} s for it to save its state"
            )
            continue
        note(
            f"{c.what} (pid {c.pid}) was left running by skyplan pid {c.owner}, which died: "
            f"asking it to stop (SIGINT) and waiting up to {grace:.0f} s for it to save its state"
        )
        c.signal(signal.SIGINT)
        terraform[i] = replace(c, interrupted=True)
    if terraform:  # so that no later skyplan sends a second SIGINT (an immediate stop)
        ch.save(state, [*elsewhere, *living, *terraform, *others])
    for c in others:
        note(
            f"{c.what} (pid {c.pid}) was left running by skyplan pid {c.owner}, which died: "
            "stopping it; it runs again from the start"
        )
        c.signal(signal.SIGTERM)
    _wait_terraform(terraform, grace, note, sleep)
    ch.wait_gone(others, ch.OTHER_GRACE_S, sleep)
    stubborn = [c for c in others if c.group_alive()]
    for c in stubborn:
        note(f"{c.what} (pid {c.pid}) did not stop: killing it (SIGKILL)")
        c.signal(signal.SIGKILL)
    ch.wait_gone(stubborn, ch.KILL_WAIT_S, sleep)
    still = [c for c in terraform if c.group_alive()]
    left = [c for c in others if c.group_alive()]
    running = {c.pid for c in (*still, *left)}
    gone = [c for c in dead if c.pid not in running]
    _append_outputs(gone, note)
    if still:
        ch.save(state, [*elsewhere, *living, *still, *left])
        state.event("orphans.running", pids=[c.pid for c in still])
        raise _still_running(state, still, grace)
    if left:
        ch.save(state, [*elsewhere, *living, *left])
        raise ApplyError(
            "could not stop what a skyplan that died left running: "
            + ", ".join(f"{c.what} (pid {c.pid})" for c in left),
            hint="stop those processes, then run skyplan again",
        )
    if orphans:
        state.event("orphans.stopped", pids=[c.pid for c in orphans])
    ch.save(state, [*elsewhere, *living])
    return orphans


def _still_running(state: StackState, still: list[ch.Child], grace: float) -> ApplyError:
    first = still[0]
    where = first.cwd or str(state.root)
    pids = " ".join(str(c.pid) for c in still)
    names = ", ".join(f"{c.what} (pid {c.pid})" for c in still)
    log = f" (its output: {first.raw or first.log})" if first.raw or first.log else ""
    return ApplyError(
        f"{names}, left running by a skyplan that died, is still running {grace:.0f} s after "
        "it was asked to stop: skyplan does not kill a terraform (it would lose track of what "
        f"it is creating){log}",
        hint=f"wait for it to finish (`ps -p {still[0].pid}`) and run skyplan again; if it "
        f"hangs, stop it yourself (`kill {pids}`) and, with a remote state backend, release its "
        f"state lock: `terraform -chdir={where} force-unlock LOCK_ID` (the lock ID is in the "
        "error of the next terraform run)",
    )


def _wait_terraform(
    children: list[ch.Child],
    seconds: float,
    note: Callable[[str], None],
    sleep: Callable[[float], None],
) -> None:
    """Wait for terraforms to stop, saying every ch.PROGRESS_S that it still waits."""
    start = time.monotonic()
    said = start
    while children and any(c.group_alive() for c in children):
        now = time.monotonic()
        if now - start >= seconds:
            return
        if now - said >= ch.PROGRESS_S:
            said = now
            running = ", ".join(f"pid {c.pid}" for c in children if c.group_alive())
            note(f"still waiting for terraform ({running}) to stop: {now - start:.0f} s")
        sleep(ch.POLL_S)


def _append_outputs(gone: list[ch.Child], note: Callable[[str], None]) -> None:
    """A terraform that outlived its skyplan wrote on to its own output file: scrub it into the
    log skyplan keeps (the whole run, marked as such), then remove it."""
    from skyplan.apply.scrub import Scrubber

    for c in gone:
        if not c.raw or not c.log or not os.path.exists(c.raw):
            continue
        scrub = Scrubber()
        with (
            open(c.raw, encoding="utf-8", errors="replace") as src,
            open(c.log, "a", encoding="utf-8") as dst,
        ):
            dst.write(
                f"--- the whole output of pid {c.pid} ({c.what}), which went on after "
                f"skyplan pid {c.owner} died ---\n"
            )
            for line in src:
                dst.write(scrub(line.rstrip("\n")) + "\n")
            dst.write("--- end ---\n")
        os.unlink(c.raw)
        note(f"what {c.what} (pid {c.pid}) printed after skyplan died is now in {c.log}")
