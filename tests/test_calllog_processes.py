"""The call log across processes: two writing one file at once (WAL), the flush at exit, what a
crash loses, forked children. Each scenario runs in a fresh interpreter on the mock provider."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from models._observe.calllog import BATCH, WAIT

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import os, sys, time
from prometheus_client import CollectorRegistry
from models import ModelsAPI
api = ModelsAPI(registry=CollectorRegistry())
api.register_model("mock/echo", price={"input": 1.0, "output": 2.0})
log = api.log_to(sys.argv[1])
bound = api.bind("mock/echo")
"""


def start(code: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + code, str(path)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(code: str, path: Path) -> str:
    done = start(code, path).communicate(timeout=60)
    assert done[1] == "", done[1]
    return done[0]


def counts(path: Path) -> dict[int, int]:
    """Rows per writing process id."""
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT pid, COUNT(*) FROM calls GROUP BY pid").fetchall())
    finally:
        conn.close()


def test_two_processes_writing_one_file_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    n = 2 * BATCH + 100  # several batches each, which the two processes' writers interleave
    code = f"sys.stdin.readline()\nfor i in range({n}):\n    bound(f'call {{i}}')\nprint(os.getpid())\n"
    procs = [start(code, path) for _ in range(2)]
    for proc in procs:  # both ready (imported): go together
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    pids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)  # exits normally without flush(): the exit flushes
        assert (proc.returncode, err) == (0, "")
        pids.append(int(out))
    assert counts(path) == {pids[0]: n, pids[1]: n}
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(DISTINCT answer) FROM calls").fetchone() == (n,)
    conn.close()


def test_a_crash_loses_only_what_was_queued_since_the_writers_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    n, m = 50, 40
    code = f"""
import sqlite3
for i in range({n}):
    bound(f"call {{i}}")
start = time.perf_counter()
while True:  # no flush: the writer commits on its own within WAIT seconds
    try:
        if sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM calls").fetchone()[0] == {n}:
            break
    except sqlite3.OperationalError:  # the writer has not made the table yet
        pass
    time.sleep(0.01)
print(time.perf_counter() - start)
for i in range({m}):
    bound(f"lost {{i}}")
os._exit(0)  # a crash: no atexit, no flush
"""
    took = float(run(code, path))
    assert took < WAIT + 2.0  # committed by the writer's own clock (WAIT), not by an exit
    [written] = counts(path).values()
    assert n <= written <= n + m  # the last m calls were queued a moment before the crash: mostly lost


def test_a_normal_exit_flushes_every_queued_call(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    run("for i in range(1234):\n    bound(f'call {i}')\n", path)  # no flush(), no close()
    assert list(counts(path).values()) == [1234]


def test_a_forked_child_writes_its_own_calls_and_never_its_parents(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    code = """
import multiprocessing
for i in range(300):
    bound(f"parent {i}")  # queued, most not yet written when the fork copies the queue
pid = os.fork()
if pid == 0:
    for i in range(20):
        bound(f"child {i}")
    log.flush()
    os._exit(0)
os.waitpid(pid, 0)

def worker():
    for i in range(30):
        bound(f"worker {i}")  # no flush: a multiprocessing child ends with os._exit

proc = multiprocessing.get_context("fork").Process(target=worker)
proc.start()
proc.join()
log.flush()
print(os.getpid(), pid, proc.pid)
"""
    parent, child, worker = map(int, run(code, path).split())
    assert counts(path) == {parent: 300, child: 20, worker: 30}
