"""Web latency: p50 / p95 of the case list and of search over 100,000 cases, 20 concurrent clients.

Seeds a SQLite case store with 100,000 cases in bulk (rows built with the case store's own column
encoding and encryption, inserted in one transaction), starts ``darkfigure serve`` (uvicorn, pinned to
2 cores), logs 20 httpx clients in as a caseworker and has them request, concurrently:
- the case list: a random page of the first 20; then with a random status / gender / exploitation filter;
- search: a given and family name through the blind index (about 360 cases match); then a case-code
  prefix of 6 characters (100 cases match).
Prints p50 and p95 of each beside the anchor, the issue's goal: p95 under 100 ms.

Run: .venv/bin/python benchmarks/bench_web.py [--cases 100000] [--clients 20] [--requests 1500] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import insert

from darkfigure.casestore import FAST_TEST_HASHER, KeyRing, name_tokens, open_store
from darkfigure.casestore import records as case_records
from darkfigure.casestore.fields import encode_multi
from darkfigure.casestore.listing import exploitation_rows, index_tokens
from darkfigure.casestore.models import case_exploitation, cases
from darkfigure.casestore.models import name_tokens as name_token_table

PASSWORD = "benchmark password 2026"
GOAL_MS = 100.0
FAMILY = ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Shin", "Seo", "Kwon"]
GIVEN = ["Minji", "Seoyeon", "Jiwoo", "Hayoon", "Eunji", "Soyeon", "Yuna", "Jisoo", "Hyejin", "Sumin", "Nari",
         "Bora", "Ara", "Dahye", "Yerin", "Haeun", "Chaewon", "Jimin", "Subin", "Yeji"]
STATUS = ["Active", "FollowUp", "Closed", "ClosedReferred"]
GENDER = ["Feminine", "Masculine", "NonSpecifiedUnknown"]
EXPLOITATION = ["SexualExploitation", "ForcedLabour", "ForcedMarriage", "Servitude"]
KINDS = {"list": "case list, a page of 50 (pages 1-20)", "filtered": "case list with a status/gender/exploitation "
         "filter", "name": "search by name (blind index)", "code": "search by case-code prefix"}


def seed(store, organisation_id: int, n: int, rng: random.Random) -> float:
    """Insert ``n`` cases in one transaction; return the seconds it took."""
    started = time.perf_counter()
    with store.engine.begin() as conn:
        for first in range(0, n, 5000):
            rows, tokens, chosen = [], [], []
            for i in range(first, min(n, first + 5000)):
                rows.append(_case_row(store.ring, organisation_id, i, rng))
            ids = _insert(conn, rows)
            for case_id, row in zip(ids, rows, strict=True):
                tokens += [{"case_id": case_id, "token": t} for t in row.pop("_tokens")]
                chosen += exploitation_rows(organisation_id, case_id, row.pop("_exploitation"))
            conn.execute(insert(name_token_table), tokens)
            conn.execute(insert(case_exploitation), chosen)
    return time.perf_counter() - started


def _insert(conn, rows: list[dict]) -> list[int]:
    extra = [(row.pop("_tokens"), row.pop("_exploitation")) for row in rows]
    conn.execute(insert(cases), rows)
    last = conn.exec_driver_sql("SELECT max(id) FROM cases").scalar_one()
    for row, (row_tokens, row_exploitation) in zip(rows, extra, strict=True):
        row["_tokens"], row["_exploitation"] = row_tokens, row_exploitation
    return list(range(last - len(rows) + 1, last + 1))


def _case_row(ring: KeyRing, organisation_id: int, i: int, rng: random.Random) -> dict:
    first, family = rng.choice(GIVEN), rng.choice(FAMILY)
    registered = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3650))
    birth = registered - dt.timedelta(days=rng.randrange(14 * 365, 50 * 365))
    uid, now = case_records.new_uid(), dt.datetime.now(dt.UTC)
    exploitation = tuple(rng.sample(EXPLOITATION, rng.randint(1, 2)))
    checked = {"prs_FirstName": first, "prs_SecondName": family, "prs_Birthdate": birth}
    row = case_records.case_columns(ring, uid, checked)
    row.update(
        uid=uid, code=f"{i:08d}"[:4] + "-" + f"{i:08d}"[4:], organisation_id=organisation_id, created_at=now,
        updated_at=now, created_by="bench", registration_year=registered.year,
        age_broad=case_records.age_broad(birth, registered), consent_statistics=rng.random() < 0.8,
        cas_registrationdate=registered, cas_status=rng.choice(STATUS), prs_gender=rng.choice(GENDER),
        vic_typeofexploitation=encode_multi(exploitation),
        prs_citizenship=encode_multi(("KP",)),
    )
    row["_tokens"] = index_tokens(ring, organisation_id, name_tokens(first) + name_tokens(family))
    row["_exploitation"] = exploitation
    return row


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _logged_in_client(base: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/login")).text).group(1)
    await client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    return client


def _url(kind: str, rng: random.Random) -> str:
    if kind == "list":
        return f"/cases?page={rng.randint(1, 20)}"
    if kind == "filtered":
        return f"/cases?page={rng.randint(1, 3)}" + rng.choice(
            [f"&status={rng.choice(STATUS)}", f"&gender={rng.choice(GENDER)}",
             f"&type_of_exploitation={rng.choice(EXPLOITATION)}"])
    if kind == "name":
        return f"/cases?q={rng.choice(GIVEN)}+{rng.choice(FAMILY)}"
    code = f"{rng.randrange(100_000):08d}"  # the first 6 of a seeded code: 100 cases match
    return f"/cases?q={code[:4]}-{code[4:6]}"


class KeepAliveClient:
    """A minimal HTTP/1.1 client on one kept-alive connection, as a load generator (wrk, hey) is: it
    shares the 2 cores with the server, and httpx's own work per request (about 1-2 ms of Python)
    would be counted as the server's latency. Sends the session cookie httpx got at login."""

    def __init__(self, base: str, cookie: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.cookie = host, int(port), cookie
        self.reader = self.writer = None

    async def get(self, url: str) -> tuple[int, bytes]:
        try:
            return await self._get(url)
        except (asyncio.IncompleteReadError, ConnectionError):  # the server closed an idle connection
            await self.aclose()
            self.writer = None
            return await self._get(url)

    async def _get(self, url: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {url} HTTP/1.1\r\nHost: {self.host}\r\nCookie: {self.cookie}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
        body = await self.reader.readexactly(length)
        return status, body

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _load_client(base: str) -> KeepAliveClient:
    client = await _logged_in_client(base)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    await client.aclose()
    return KeepAliveClient(base, cookie)


async def _client_loop(client, kind: str, count: int, seed: int, times: dict) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        url = _url(kind, rng)
        started = time.perf_counter()
        status, _body = await client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        times[kind].append(elapsed if status == 200 else float("nan"))


async def measure(base: str, clients: int, requests: int, server: int, kinds: list[str]) -> tuple[dict, dict]:
    """Latencies (ms) of each kind, and the CPU seconds per request of the server and of the clients."""
    pool = [await _load_client(base) for _ in range(clients)]
    warm: dict[str, list[float]] = {kind: [] for kind in KINDS}
    await asyncio.gather(*(_client_loop(c, "list", 3, i, warm) for i, c in enumerate(pool)))
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    cpu: dict[str, tuple[float, float]] = {}
    each = max(1, requests // clients)
    for kind in kinds:  # one kind at a time, all clients at once
        server_before, client_before = _cpu_seconds(server), time.process_time()
        await asyncio.gather(*(_client_loop(c, kind, each, 1000 + i, times) for i, c in enumerate(pool)))
        count = each * clients
        cpu[kind] = ((_cpu_seconds(server) - server_before) / count, (time.process_time() - client_before) / count)
    for client in pool:
        await client.aclose()
    return times, cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the uvicorn workers), from /proc."""
    tick, total, todo = os.sysconf("SC_CLK_TCK"), 0.0, [pid]
    while todo:
        process = todo.pop()
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            todo += [int(c) for c in Path(f"/proc/{process}/task/{process}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _serve(database: Path, key_file: Path, port: int, workers: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "darkfigure.cli", "serve", "--database", str(database), "--key-file",
               str(key_file), "--port", str(port), "--workers", str(workers)]
    cores = sorted(os.sched_getaffinity(0))[:2]
    log = open(database.parent / "server.log", "w")  # noqa: SIM115 - open while the server runs
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=lambda: os.sched_setaffinity(0, cores))


def _wait(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("darkfigure serve exited")
        try:
            if httpx.get(base + "/login").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise SystemExit("darkfigure serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1500, help="requests of each kind, all clients together")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"which requests, of {', '.join(KINDS)}")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-web-"))
    database, key_file = folder / "cases.db", folder / "case.key"
    KeyRing.generate().write(key_file)
    store = open_store(str(database), key_file, password_hasher=FAST_TEST_HASHER)
    org = store.create_organisation("Benchmark shelter")
    store.create_user(org, "bench", PASSWORD, "caseworker")
    seconds = seed(store, org.id, args.cases, random.Random(7))
    store.close()
    print(f"seeded {args.cases:,} cases in {seconds:.1f} s ({database.stat().st_size / 2**20:.0f} MiB)")
    port = _free_port()
    server = _serve(database, key_file, port, args.workers)
    try:
        _wait(f"http://127.0.0.1:{port}", server)
        times, cpu = asyncio.run(measure(f"http://127.0.0.1:{port}", args.clients, args.requests, server.pid,
                                       args.kinds.split(",")))
    finally:
        server.terminate()
        server.wait(30)
        print(f"server log: {folder / 'server.log'}")
    print(f"{args.clients} concurrent clients, uvicorn with {args.workers} worker(s) pinned to 2 cores, "
          f"{args.cases:,} cases")
    for kind in args.kinds.split(","):
        label = KINDS[kind]
        measured = np.array(times[kind])
        failed = int(np.isnan(measured).sum())
        p50, p95 = np.percentile(np.nan_to_num(measured, nan=np.inf), [50, 95], method="higher")  # failed = slow
        print(f"figure {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(measured)} requests"
              f"{f' ({failed} failed)' if failed else ''} | anchor: goal p95 < {GOAL_MS:.0f} ms -> "
              f"{'met' if p95 < GOAL_MS else 'NOT met'}; CPU per request: server {cpu[kind][0] * 1000:.2f} ms, "
              f"client {cpu[kind][1] * 1000:.2f} ms")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} (the server and the clients alone make ~2)")


if __name__ == "__main__":
    main()
