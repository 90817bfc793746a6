"""Fixes for kafka-python 3.0.12 that every module creating kafka-python clients imports.

**Sockets of failed connects.** kafka-python's connect path
(``kafka.net.inet.KafkaNetSocket.sock_connect``) leaves the socket open when a connection attempt
fails (refused, reset, timed out). While a broker is down every retry leaks one socket until the
garbage collector finds it, which is a file-descriptor leak in long-running services and a
``ResourceWarning`` in tests. The wrapper closes the socket when the
attempt fails; a successful connection is returned untouched. Remove it once kafka-python closes
failed sockets itself.

**A join left half done.** ``BaseCoordinator.join_group_async`` keeps a JoinGroup/SyncGroup
round that outlives a ``poll(timeout_ms=...)`` as a task, for the next poll to await. But the next
poll awaits it only while ``need_rejoin()`` is true, and when the rejoin was asked for by the
leader's metadata check (a topic's partitions changed after it assigned them), performing the new
assignment clears that reason: the finished round is never collected, so the member stays in the
group without an assignment and without heartbeats, is expelled when its session runs out, and
never rejoins. Under load this happened to a producer joining its group (CI: the failover test's
instance "never rejoined"); it happens every time to a member that polls with short timeouts while
partitions are added to its topic. And a round that finished between two polls was thrown away
and a new one started (another rebalance for the whole group). The replacement below is the
library's loop with the second condition mended, and ``need_rejoin`` true while a round is
under way or finished and not yet collected: such a round is always awaited and collected.
Remove it once kafka-python does so.
"""

from __future__ import annotations

import functools
import socket
from typing import Any

import kafka
from kafka import errors as Errors
from kafka.coordinator.base import BaseCoordinator
from kafka.net.inet import KafkaNetSocket
from kafka.structs import MemberState
from kafka.util import Timer

_original = KafkaNetSocket.sock_connect


@functools.wraps(_original)
async def _sock_connect(
    self: KafkaNetSocket, net: Any, sock: socket.socket, sockaddr: Any, timeout_at: Any = None
) -> socket.socket:
    try:
        connected: socket.socket = await _original(self, net, sock, sockaddr, timeout_at=timeout_at)
    except BaseException:
        sock.close()
        raise
    return connected


async def _join_group_async(self: Any, timeout_ms: float | None = None) -> bool:
    """kafka-python 3.0.12's ``BaseCoordinator.join_group_async``, with a finished round
    collected rather than replaced (the line marked ``mended``)."""
    if not self._use_group_apis:
        raise Errors.UnsupportedVersionError("Group Coordinator APIs require 0.9+ broker")
    timer = Timer(timeout_ms)
    while self.need_rejoin():  # true while a round is under way (_need_rejoin below)
        if not await self.ensure_coordinator_ready_async(timeout_ms=timer.timeout_ms):
            return False
        if self._join_task is None:  # mended: a finished round is collected, not replaced
            if not self.rejoining:
                await self._on_join_prepare_async(
                    self._generation.generation_id,
                    self._generation.member_id,
                    timeout_ms=timer.timeout_ms,
                )
                self.rejoining = True
                self._disable_heartbeat()
            self._join_task = self._manager.call_soon(self._do_join_and_sync_async)
        try:
            assignment_bytes = await self._manager.wait_for(self._join_task, timer.timeout_ms)
        except Errors.KafkaTimeoutError:
            return False  # the round stays under way; the next poll awaits it
        except (
            Errors.UnknownMemberIdError,
            Errors.RebalanceInProgressError,
            Errors.IllegalGenerationError,
            Errors.MemberIdRequiredError,
        ):
            self._join_task = None
            continue
        except Errors.RetriableError:
            self._join_task = None
            if timer.expired:
                return False
            backoff_ms = self.config["retry_backoff_ms"]
            if timer.timeout_ms is not None:
                backoff_ms = min(backoff_ms, timer.timeout_ms)
            if backoff_ms > 0:
                await self._manager._net.sleep(backoff_ms / 1000)
            continue
        except Errors.KafkaError:
            self._join_task = None
            raise
        self._join_task = None
        with self._lock:
            self.rejoining = False
            self.rejoin_needed = False
            self.state = MemberState.STABLE
            self._enable_heartbeat()
        await self._on_join_complete_async(
            self._generation.generation_id,
            self._generation.member_id,
            self._generation.protocol,
            assignment_bytes,
        )
        return True
    return True


def _need_rejoin(self: Any) -> bool:
    """kafka-python 3.0.12's ``BaseCoordinator.need_rejoin``, also true while a round is under
    way or finished and not yet collected (the consumer's poll joins only while this is true)."""
    return bool(self.rejoin_needed or self._join_task is not None)


PATCHED_VERSION = "3.0.12"
"""The kafka-python release the join fix was written against: another release keeps its own
join loop until this fix is checked against it (a unit test fails on a version change)."""


def installed() -> bool:
    return KafkaNetSocket.sock_connect is _sock_connect


def join_fix_installed() -> bool:
    return (
        BaseCoordinator.join_group_async is _join_group_async
        and BaseCoordinator.need_rejoin is _need_rejoin
    )


KafkaNetSocket.sock_connect = _sock_connect
if kafka.__version__ == PATCHED_VERSION:
    BaseCoordinator.join_group_async = _join_group_async
    BaseCoordinator.need_rejoin = _need_rejoin
