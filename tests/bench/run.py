#!/usr/bin/env python3
"""Restore benchmark of `worlds` against the stock client, on the same image and dumps.

Generates realistic dumps with worlds-gen (not committed), then for 1 world and for 3 worlds
at once measures, over several runs:
  - stock:  zcat dump | docker exec -i <container> mariadb   (one per world, all at once)
  - worlds: worlds up   (restore time from its records, and wall time of the whole command)
and reports medians, MB/s of SQL, the ratio, and the peak RSS of `worlds`. Also measures the
peak RSS restoring one large dump and failing on a small gzip that holds one unterminated
multi-GiB string, and a fan-out query against the slowest single world.
Writes the results to docs/benchmarks.md.

Settings (environment): BENCH_MB (SQL MB per world, default 250), BENCH_RUNS (default 3),
BENCH_MEM_MB (dump size of the memory check, default 500), BENCH_HUGE_GIB (size of the
unterminated string, default 2), BENCH_STREAM_ROWS (rows of the streamed query result,
default 1000000), BENCH_DIFF_ROWS (rows per world of the diff case, default 1000000),
BENCH_JOBS (worlds up --table-jobs, default automatic), BENCH_KEEP=1 keeps bench-data/,
BENCH_ONLY=diff, BENCH_ONLY=stream, BENCH_ONLY=snapshot or BENCH_ONLY=s3 runs only the diff,
the streaming, the snapshot and partial-restore, or the object storage case (printed,
docs/benchmarks.md untouched).

The restore cases run `worlds up --no-snapshot` (a restore from SQL every time). The snapshot
case measures, in one run, for 3 worlds: `up --no-snapshot` (cold, as without snapshots),
`up --fresh` (cold, restoring and taking a snapshot of each world), then `down` and `up` again
(warm: every world copied from its snapshot), and the copy throughput; and `up --tables
guild` (a partial restore of one small table) against the full restore of 1 world.

The object storage case restores the 1-world dump from s3s-fs on 127.0.0.1 (`make s3-server`)
and from a folder, same runs.
"""

import gzip
import io
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WORLDS = ROOT / "target" / "release" / "worlds"
GEN = ROOT / "target" / "release" / "worlds-gen"
DATA = ROOT / "bench-data"
MB = int(os.environ.get("BENCH_MB", "250"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
MEM_MB = int(os.environ.get("BENCH_MEM_MB", "500"))
HUGE_GIB = int(os.environ.get("BENCH_HUGE_GIB", "2"))
STREAM_ROWS = int(os.environ.get("BENCH_STREAM_ROWS", "1000000"))
DIFF_ROWS = int(os.environ.get("BENCH_DIFF_ROWS", "1000000"))
JOBS = os.environ.get("BENCH_JOBS")
PORT_BASE = 35100
S3S_FS = Path(os.environ.get("WORLDS_S3S_FS", ROOT / "target" / "s3s-fs" / "bin" / "s3s-fs"))
S3_PORT = 35395  # in port slot 69 of the tests (34000 + 20 x 69 ...), clear of PORT_BASE
S3_KEY, S3_SECRET = "bench-key", "bench-secret-0123456789"


def rss_of(time_output):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_output)
    return int(m.group(1)) / 1024 if m else None


def unterminated(folder, gib):
    """A small gzip holding one string that never ends: `gib` GiB of SQL."""
    path = folder / "huge_fulldump_20240101_000000.sql.gz"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    log(f"writing a gzip that holds one unterminated {gib} GiB string")
    block = b"x" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b"CREATE TABLE t (a longtext);\nINSERT INTO t VALUES ('")
        for _ in range(gib * 1024):
            f.write(block)
    return path


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


class Env:
    """A scratch folder with its own worlds.yaml, so bench worlds never touch the user's."""

    def __init__(self, name, extra_config=""):
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"worlds-bench-{name}-"))
        (self.dir / "worlds.yaml").write_text(f"port_base: {PORT_BASE}\n{extra_config}")

    def worlds(self, *args, timed=False, fails=False, env=None):
        cmd = [str(WORLDS), *args, "--env", self.name]
        if timed:
            cmd = ["/usr/bin/time", "-v", *cmd]
        start = time.monotonic()
        p = subprocess.run(cmd, cwd=self.dir, text=True, capture_output=True,
                           env=dict(os.environ, **(env or {})))
        wall = time.monotonic() - start
        if (p.returncode != 0) != fails:
            raise SystemExit(f"worlds {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        if fails:
            return p.stderr, wall, rss_of(p.stderr)
        return p.stdout, wall, rss_of(p.stderr)

    def down(self):
        subprocess.run([str(WORLDS), "down", "--env", self.name], cwd=self.dir, capture_output=True)

    def records(self):
        """The restore record each world keeps in its data volume (see docs/guide.md)."""
        status = json.loads(self.worlds("status", "--format", "json")[0])
        out = []
        for w in status["worlds"]:
            path = f"{w['container']}:/var/lib/mysql/.worlds-record.json"
            p = subprocess.run(["docker", "cp", path, "-"], capture_output=True, check=True)
            with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
                member = tar.getmembers()[0]
                out.append(json.loads(tar.extractfile(member).read()))
        return out

    def cleanup(self):
        self.down()
        shutil.rmtree(self.dir, ignore_errors=True)


def generate(folder, hosts, mb):
    marker = folder / f".done-{hosts}-{mb}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    log(f"generating {hosts} dump(s) of about {mb} MB of SQL in {folder}")
    run([str(GEN), "--out", str(folder), "--hosts", str(hosts), "--dumps", "1",
         "--tables", "full", "--mb", str(mb), "--level", "1", "--seed", "7"])
    marker.write_text("")


def sql_bytes(folder):
    total = 0
    for f in sorted(folder.glob("*.sql.gz")):
        p = subprocess.run(f"zcat '{f}' | wc -c", shell=True, check=True, text=True, capture_output=True)
        total += int(p.stdout.strip())
    return total


def stock(folder):
    """Seconds for the stock client to restore every dump of `folder`, all at once."""
    env = Env("bench-stock")
    try:
        env.worlds("up", "--dumps", str(folder), "--no-restore")
        creds = json.loads(env.worlds("env", "--format", "json")[0])
        status = json.loads(env.worlds("status", "--format", "json")[0])
        containers = {w["world"]: w["container"] for w in status["worlds"]}
        procs = []
        start = time.monotonic()
        for w, f in zip(creds["worlds"], sorted(folder.glob("*.sql.gz"))):
            container = containers[w["world"]]
            # The password reaches the client through docker's environment, not a command line.
            cmd = f"zcat {shlex.quote(str(f))} | docker exec -i -e MYSQL_PWD {shlex.quote(container)} mariadb -uroot"
            procs.append(subprocess.Popen(cmd, shell=True, stderr=subprocess.PIPE, text=True,
                                          env=dict(os.environ, MYSQL_PWD=w["password"])))
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"stock restore failed: {err}")
        return time.monotonic() - start
    finally:
        env.cleanup()


def ours(folder, extra_config="", variables=None):
    """(restore seconds, wall seconds of `worlds up`, peak RSS MB). `folder` may be an
    s3:// URL (with the endpoint in `extra_config` and the keys in `variables`)."""
    env = Env("bench-worlds", extra_config)
    try:
        args = ["up", "--dumps", str(folder), "--no-snapshot"]
        if JOBS:
            args += ["--table-jobs", JOBS]
        _, wall, rss = env.worlds(*args, timed=True, env=variables)
        recs = env.records()
        if not recs or any(r["outcome"] != "ready" for r in recs):
            raise SystemExit(f"worlds up did not restore every world: {recs}")
        # All worlds restore at once: the restore took as long as the slowest one.
        restore = max(r["restore_seconds"] for r in recs)
        return restore, wall, rss
    finally:
        env.cleanup()


def fanout(folder):
    """Median seconds of one query on each single world and on all worlds."""
    env = Env("bench-query")
    try:
        env.worlds("up", "--dumps", str(folder), "--no-snapshot")
        worlds = [w["world"] for w in json.loads(env.worlds("status", "--format", "json")[0])["worlds"]]
        # A typical investigation query: the top scores of each world.
        q = "SELECT id, name, score FROM player ORDER BY score DESC, id LIMIT 10"
        single = {}
        for w in worlds:
            single[w] = statistics.median(
                env.worlds("query", q, "--worlds", w, "--format", "json")[1] for _ in range(5))
        every = statistics.median(env.worlds("query", q, "--format", "json")[1] for _ in range(5))
        return single, every, streaming(env)
    finally:
        env.cleanup()


def streaming(env):
    """A result of about 1,000,000 rows across the worlds: `worlds query` in tsv and json, and
    sorted with `--order-by` (all rows, and the top 10) (wall seconds, peak RSS MB), against
    the stock client `--batch` on each world in turn."""
    creds = json.loads(env.worlds("env", "--format", "json")[0])["worlds"]
    status = {w["world"]: w["container"] for w in
              json.loads(env.worlds("status", "--format", "json")[0])["worlds"]}
    per_world = -(-STREAM_ROWS // len(creds))
    q = (f"SELECT seq AS id, CONCAT('player-', seq) AS name, seq * 7 AS score "
         f"FROM seq_1_to_{per_world}")
    out = {}
    for fmt in ("tsv", "json"):
        runs = [env.worlds("query", q, "--format", fmt, timed=True) for _ in range(RUNS)]
        out[fmt] = (statistics.median(r[1] for r in runs), max(r[2] or 0 for r in runs))
    # The same rows sorted: merged from the worlds' sorted streams, and the top 10 of them.
    for name, extra in (("ordered", []), ("top", ["--limit", "10"])):
        args = ["query", q, "--format", "tsv", "--order-by", "score", "--desc", *extra]
        runs = [env.worlds(*args, timed=True) for _ in range(RUNS)]
        out[name] = (statistics.median(r[1] for r in runs), max(r[2] or 0 for r in runs))
    stock_runs = []
    for _ in range(RUNS):
        start = time.monotonic()
        for w in creds:
            subprocess.run(["docker", "exec", "-e", "MYSQL_PWD", status[w["world"]], "mariadb", "-D", "game",
                            "-uroot", "--batch", "-e", q], check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, MYSQL_PWD=w["password"]))
        stock_runs.append(time.monotonic() - start)
    out["stock"] = statistics.median(stock_runs)
    out["rows"] = per_world * len(creds)
    return out


def fill(env, sql):
    """Run SQL on every world of `env` with the stock client inside its container, all at once."""
    creds = {w["world"]: w["password"] for w in json.loads(env.worlds("env", "--format", "json")[0])["worlds"]}
    status = json.loads(env.worlds("status", "--format", "json")[0])["worlds"]
    procs = [subprocess.Popen(["docker", "exec", "-e", "MYSQL_PWD", w["container"], "mariadb", "-uroot",
                               "-D", "game", "-e", sql], env=dict(os.environ, MYSQL_PWD=creds[w["world"]]),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for w in status]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"filling the diff worlds failed: {err}")
    return {w["world"]: (w["container"], creds[w["world"]]) for w in status}


def diff_case():
    """`worlds diff` of a table of DIFF_ROWS rows per world, 3 worlds, about 1% of rows
    changed, against the manual way: export both sides with the stock client `--batch`
    (every export at once) and compare each world's two exports with `diff`."""
    folder = Path(tempfile.mkdtemp(prefix="worlds-bench-diff-"))
    for h in (1, 2, 3):
        (folder / f"host{h}_fulldump_20240101_000000.sql").write_text(
            "CREATE DATABASE game; USE game;\n"
            "CREATE TABLE player (player_id INT NOT NULL PRIMARY KEY, player_name VARCHAR(64) NOT NULL,"
            " player_score INT NOT NULL, updated_at DATETIME NOT NULL, KEY (player_score));\n"
            "INSERT INTO player VALUES (1,'p1',7,'2024-06-01 00:00:00');\n")
    before, after = Env("bench-diff-before"), Env("bench-diff-after")
    try:
        for env in (before, after):
            env.worlds("up", "--dumps", str(folder), "--no-snapshot")
        rows = (f"INSERT INTO player SELECT seq, CONCAT('player-', seq), seq % 5000,"
                f" '2024-06-01 00:00:00' + INTERVAL seq SECOND FROM seq_2_to_{DIFF_ROWS}")
        log(f"diff: filling 2 x 3 worlds with {DIFF_ROWS:,} players each")
        fill(before, rows)
        # About 1% of rows differ: 0.8% changed scores, 0.1% removed, 0.1% added.
        sides = {"before": fill(before, "SELECT 1"), "after": fill(after, rows + "; "
                 "UPDATE player SET player_score = player_score + 10 WHERE player_id % 125 = 0; "
                 f"DELETE FROM player WHERE player_id % 1000 = 1; INSERT INTO player SELECT "
                 f"{DIFF_ROWS} + seq, CONCAT('new-', seq), seq, '2024-06-02 00:00:00' FROM "
                 f"seq_1_to_{DIFF_ROWS // 1000}")}
        ours_runs = []
        for _ in range(RUNS):
            text, wall, rss = after.worlds("diff", "player", "--from", before.name, "--format", "json",
                                           timed=True)
            ours_runs.append((wall, rss))
        report = json.loads(text)
        differ = sum(w["added"] + w["removed"] + w["changed"] for w in report["worlds"])
        manual_runs = []
        q = "SELECT * FROM player ORDER BY player_id"
        for _ in range(RUNS):
            out = Path(tempfile.mkdtemp(prefix="worlds-bench-diff-out-"))
            start = time.monotonic()
            procs = []
            for side, worlds in sides.items():
                for world, (container, password) in worlds.items():
                    f = open(out / f"{side}-{world}.tsv", "w")
                    procs.append((subprocess.Popen(
                        ["docker", "exec", "-e", "MYSQL_PWD", container, "mariadb", "-uroot", "-D", "game",
                         "--batch", "-e", q], stdout=f, env=dict(os.environ, MYSQL_PWD=password)), f))
            for p, f in procs:
                if p.wait() != 0:
                    raise SystemExit("the stock client export failed")
                f.close()
            diffs = [subprocess.Popen(["diff", str(out / f"before-{w}.tsv"), str(out / f"after-{w}.tsv")],
                                      stdout=subprocess.DEVNULL) for w in sides["before"]]
            for p in diffs:
                if p.wait() not in (0, 1):
                    raise SystemExit("diff failed")
            manual_runs.append(time.monotonic() - start)
            shutil.rmtree(out, ignore_errors=True)
        return {"rows": DIFF_ROWS, "differ": differ,
                "ours": statistics.median(r[0] for r in ours_runs),
                "rss": max(r[1] or 0 for r in ours_runs),
                "manual": statistics.median(manual_runs)}
    finally:
        before.cleanup()
        after.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def stream_only():
    """The streaming case on three small worlds (its query reads no table)."""
    folder = Path(tempfile.mkdtemp(prefix="worlds-bench-stream-"))
    for h in (1, 2, 3):
        (folder / f"host{h}_fulldump_20240101_000000.sql").write_text(
            "CREATE DATABASE game; USE game; CREATE TABLE t (a INT PRIMARY KEY);\n")
    env = Env("bench-stream")
    try:
        env.worlds("up", "--dumps", str(folder), "--no-snapshot")
        return streaming(env)
    finally:
        env.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def s3_case(folder):
    """The dump of `folder` restored from a local S3-compatible server and from the folder,
    alternately, RUNS times each: medians of restore and wall seconds, peak RSS."""
    if not S3S_FS.exists():
        raise SystemExit(f"{S3S_FS} is missing: make s3-server")
    root = Path(tempfile.mkdtemp(prefix="worlds-bench-s3-"))
    (root / "bench").mkdir()
    log_file = open(root.with_suffix(".log"), "w")
    server = subprocess.Popen([str(S3S_FS), "--host", "127.0.0.1", "--port", str(S3_PORT),
                               "--access-key", S3_KEY, "--secret-key", S3_SECRET, str(root)],
                              stdout=log_file, stderr=subprocess.STDOUT)
    variables = {"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET,
                 "AWS_REGION": "us-east-1"}
    endpoint = f"http://127.0.0.1:{S3_PORT}"
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["curl", "-s", "-o", "/dev/null", endpoint]).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"s3s-fs did not start on {endpoint}")
            time.sleep(0.1)
        dump = sorted(folder.glob("*.sql.gz"))[0]
        # Uploaded with a signed PUT, so the server keeps the object's ETag as S3 does.
        run(["curl", "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3",
             "--user", f"{S3_KEY}:{S3_SECRET}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
             "-T", str(dump), f"{endpoint}/bench/one/{dump.name}"])
        extra = f"s3_endpoint: {endpoint}\n"
        runs = {"folder": [], "s3": []}
        for i in range(RUNS):
            log(f"object storage: run {i + 1} of {RUNS}: from the folder, then from s3://bench/one/")
            runs["folder"].append(ours(folder))
            runs["s3"].append(ours("s3://bench/one/", extra, variables))
            log(f"  folder {runs['folder'][-1][0]:.1f} s, s3 {runs['s3'][-1][0]:.1f} s")
        med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v),
                   max(r[2] or 0 for r in v)) for k, v in runs.items()}
        return {"mb": dump.stat().st_size / 1e6, "sql": sql_bytes(folder) / 1e6, **med}
    finally:
        server.terminate()
        server.wait()
        log_file.close()
        shutil.rmtree(root, ignore_errors=True)


def s3_line(c):
    return (f"Object storage: the 1-world dump ({c['mb']:.0f} MB gzip, {c['sql']:.0f} MB of SQL) "
            f"restored from s3s-fs on 127.0.0.1 (`--dumps s3://bench/one/`, streamed, no local "
            f"copy) and from a folder, alternately, median of {RUNS}: restore {c['s3'][0]:.2f} s "
            f"from S3 against {c['folder'][0]:.2f} s from the folder ({c['s3'][0] / c['folder'][0]:.2f}x); "
            f"`worlds up` wall {c['s3'][1]:.1f} s against {c['folder'][1]:.1f} s; peak RSS of "
            f"`worlds` {c['s3'][2]:.0f} MB against {c['folder'][2]:.0f} MB.")


def stream_line(stream):
    return (f"Streaming: a result of {stream['rows']:,} rows across 3 worlds, "
            f"median of {RUNS}: `worlds query --format tsv` {stream['tsv'][0]:.2f} s "
            f"(peak RSS {stream['tsv'][1]:.0f} MB), `--format json` {stream['json'][0]:.2f} s "
            f"(peak RSS {stream['json'][1]:.0f} MB); the stock client `mariadb --batch` on "
            f"each world one after another {stream['stock']:.2f} s. Sorted with `--order-by "
            f"score --desc` (each world sorts, the streams are merged): {stream['ordered'][0]:.2f} s "
            f"(peak RSS {stream['ordered'][1]:.0f} MB); with `--limit 10` {stream['top'][0]:.2f} s "
            f"(peak RSS {stream['top'][1]:.0f} MB).")


def seconds(text):
    """`601 ms`, `2.3 s` or `1m 05s` (how worlds prints durations) in seconds."""
    text = text.strip()
    if text.endswith(" ms"):
        return float(text[:-3]) / 1000
    m = re.match(r"(\d+)m (\d+)s", text)
    if m:
        return int(m.group(1)) * 60 + int(m.group(2))
    return float(text.rstrip(" s"))


def snapshot_case(three, one):
    """Cold and warm `up` of 3 worlds, the copy throughput, and a partial restore."""
    env = Env("bench-snap")
    ids = set()
    plain, cold, warm, copy_rate, snap_bytes = [], [], [], [], 0
    try:
        for i in range(RUNS):
            log(f"snapshots: run {i + 1} of {RUNS}: cold without snapshots, cold taking them, warm")
            plain.append(env.worlds("up", "--dumps", str(three), "--no-snapshot")[1])
            env.down()
            cold.append(env.worlds("up", "--dumps", str(three), "--fresh")[1])
            status = json.loads(env.worlds("status", "--format", "json")[0])
            ids.update(w["snapshot"] for w in status["worlds"] if w["snapshot"])
            env.down()
            p = subprocess.run([str(WORLDS), "-v", "up", "--dumps", str(three), "--env", env.name],
                               cwd=env.dir, text=True, capture_output=True)
            if p.returncode != 0 or p.stdout.count("ready (from snapshot)") != 3:
                raise SystemExit(f"the warm up did not start every world from its snapshot:\n"
                                 f"{p.stdout}\n{p.stderr}")
            # The wall time is measured again without -v, as the other cases are.
            env.down()
            warm.append(env.worlds("up", "--dumps", str(three))[1])
            env.down()
            copied = re.findall(r"copied snapshot \w+ \(([^)]*)\) in ([^\n]+)", p.stderr)
            listed = json.loads(env.worlds("snapshots", "--format", "json")[0])
            snap_bytes = sum(s["size_bytes"] for s in listed if s["id"] in ids)
            # The copies run at once: the bytes of all over the time of the slowest.
            copy_rate.append(snap_bytes / max(seconds(t) for _, t in copied) / 1e9)
            log(f"  plain {plain[-1]:.1f} s, cold {cold[-1]:.1f} s, warm {warm[-1]:.1f} s, "
                f"copy {copy_rate[-1]:.2f} GB/s")
        log("partial restore: 1 world, only the guild table's data, against the full restore")
        full, partial = [], []
        for _ in range(RUNS):
            full.append(env.worlds("up", "--dumps", str(one), "--no-snapshot")[1])
            env.down()
            partial.append(env.worlds("up", "--dumps", str(one), "--no-snapshot",
                                      "--tables", "guild")[1])
            env.down()
    finally:
        for i in ids:
            subprocess.run([str(WORLDS), "snapshots", "rm", i], cwd=env.dir, capture_output=True)
        env.cleanup()
    m = statistics.median
    return {"plain": m(plain), "cold": m(cold), "warm": m(warm), "rate": m(copy_rate),
            "bytes": snap_bytes, "full": m(full), "partial": m(partial)}


def snapshot_line(d, sql):
    return (f"Snapshots, 3 worlds of {sql / 3:.0f} MB of SQL each (wall time of `worlds up`, "
            f"median of {RUNS}): cold without snapshots {d['plain']:.1f} s; cold taking a snapshot "
            f"of each world {d['cold']:.1f} s (+{(d['cold'] / d['plain'] - 1) * 100:.0f}%); warm, "
            f"after `down`, every world copied from its snapshot {d['warm']:.1f} s "
            f"({d['warm'] / d['cold'] * 100:.0f}% of the cold `up`); the snapshots hold "
            f"{d['bytes'] / 1e9:.2f} GB, copied at {d['rate']:.2f} GB/s. Partial restore, 1 world: "
            f"`up --tables guild` {d['partial']:.1f} s against {d['full']:.1f} s for every table.")


def diff_line(d):
    return (f"Diff: `worlds diff player --format json` of {d['rows']:,} rows per world, 3 worlds, "
            f"{d['differ']:,} rows differing in all, median of {RUNS}: {d['ours']:.2f} s with a "
            f"peak RSS of {d['rss']:.0f} MB; the manual way (the stock client `--batch` exporting "
            f"both sides of every world at once, then `diff` of each world's two exports, which "
            f"only lists differing lines) {d['manual']:.2f} s: {d['manual'] / d['ours']:.2f}x.")


def main():
    if os.environ.get("BENCH_ONLY") == "diff":
        print(diff_line(diff_case()))
        return
    if os.environ.get("BENCH_ONLY") == "stream":
        print(stream_line(stream_only()))
        return
    if os.environ.get("BENCH_ONLY") == "snapshot":
        one, three = DATA / "one", DATA / "three"
        generate(one, 1, MB)
        generate(three, 3, MB)
        print(snapshot_line(snapshot_case(three, one), sql_bytes(three) / 1e6))
        return
    if os.environ.get("BENCH_ONLY") == "s3":
        one = DATA / "one"
        generate(one, 1, MB)
        print(s3_line(s3_case(one)))
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(DATA, ignore_errors=True)
        return
    if not WORLDS.exists() or not GEN.exists():
        raise SystemExit("build first: make build")
    cores = os.cpu_count()
    one, three, big = DATA / "one", DATA / "three", DATA / "memory"
    generate(one, 1, MB)
    generate(three, 3, MB)
    rows = []
    for label, folder in (("1 world", one), ("3 worlds at once", three)):
        sql = sql_bytes(folder) / 1e6
        s_times, w_times, walls, rsss = [], [], [], []
        for i in range(RUNS):
            log(f"{label}: run {i + 1} of {RUNS}: stock client")
            s_times.append(stock(folder))
            log(f"{label}: run {i + 1} of {RUNS}: worlds up")
            r, wall, rss = ours(folder)
            w_times.append(r)
            walls.append(wall)
            rsss.append(rss or 0)
            log(f"  stock {s_times[-1]:.1f} s, worlds {r:.1f} s (wall {wall:.1f} s), peak RSS {rss:.0f} MB")
        s, w, wall = statistics.median(s_times), statistics.median(w_times), statistics.median(walls)
        rows.append((label, sql, s, w, wall, max(rsss)))
        if folder == one:
            log("1 world: worlds up with secondary indexes built during the load")
            inline = statistics.median(ours(one, "defer_indexes: false\n")[0] for _ in range(RUNS))
            log("1 world: worlds up with the dump's INSERTs instead of LOAD DATA")
            inserts = statistics.median(ours(one, "load_data: false\n")[0] for _ in range(RUNS))
            log("1 world: worlds up with one loading connection")
            single_job = statistics.median(ours(one, "table_jobs: 1\n")[0] for _ in range(RUNS))

    generate(big, 1, MEM_MB)
    log(f"memory check: restoring one dump of about {MEM_MB} MB of SQL")
    big_sql = sql_bytes(big) / 1e6
    r, wall, big_rss = ours(big)

    huge = DATA / "unterminated"
    path = unterminated(huge, HUGE_GIB)
    log(f"memory check: a {path.stat().st_size / 1e6:.1f} MB gzip holding one unterminated "
        f"{HUGE_GIB} GiB string")
    env = Env("bench-huge")
    try:
        err, huge_wall, huge_rss = env.worlds("up", "--dumps", str(huge), "--no-snapshot",
                                              timed=True, fails=True)
    finally:
        env.cleanup()
    if "max_allowed_packet" not in err:
        raise SystemExit(f"the unterminated string failed for another reason:\n{err}")

    log("fan-out query: each world alone, then all at once; then a streamed large result")
    single, every, stream = fanout(three)

    log("diff: worlds diff against the stock client's exports and diff")
    diffed = diff_case()

    log("snapshots: cold and warm up of 3 worlds; a partial restore")
    snapped = snapshot_case(three, one)

    log("object storage: the 1-world dump from s3s-fs and from the folder")
    s3 = s3_case(one)
    slowest = max(single.values())

    out = []
    out.append(f"Machine: {cores} cores; server image worlds/mariadb:10.11 for both; "
               f"{RUNS} runs each, medians; worlds up --table-jobs {JOBS or 'automatic'}.")
    out.append("")
    out.append("| case | MB of SQL | stock client s | worlds s | worlds MB/s | stock MB/s | speed-up | `worlds up` wall s | peak RSS of worlds |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for label, sql, s, w, wall, rss in rows:
        out.append(f"| {label} | {sql:.0f} | {s:.1f} | {w:.1f} | {sql / w:.1f} | {sql / s:.1f} | "
                   f"{s / w:.2f}x | {wall:.1f} | {rss:.0f} MB |")
    out.append("")
    out.append("What each part gives (1 world, restore seconds, medians): "
               f"default {rows[0][3]:.1f} s; with `defer_indexes: false` {inline:.1f} s; "
               f"with `load_data: false` {inserts:.1f} s; with `table_jobs: 1` {single_job:.1f} s.")
    out.append("")
    out.append(f"Memory: restoring one dump of {big_sql:.0f} MB of SQL took {r:.1f} s with a peak RSS "
               f"of {big_rss:.0f} MB for `worlds`. A {path.stat().st_size / 1e6:.1f} MB gzip holding one "
               f"unterminated {HUGE_GIB} GiB string failed its world (statement larger than "
               f"max_allowed_packet) after {huge_wall:.1f} s with a peak RSS of {huge_rss:.0f} MB.")
    out.append("")
    out.append("Fan-out query (wall time of `worlds query`, median of 5): "
               + ", ".join(f"{w} alone {t * 1000:.0f} ms" for w, t in single.items())
               + f"; all {len(single)} worlds {every * 1000:.0f} ms "
               f"(limit 1.5 x slowest + 50 ms = {(1.5 * slowest + 0.05) * 1000:.0f} ms).")
    out.append("")
    out.append(stream_line(stream))
    out.append("")
    out.append(diff_line(diffed))
    out.append("")
    out.append(snapshot_line(snapped, rows[1][1]))
    out.append("")
    out.append(s3_line(s3))
    table = "\n".join(out)
    print(table)
    doc = ROOT / "docs" / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n"
        "`make bench` restores generated dumps (realistic shape: four tables, secondary indexes, "
        "long extended INSERTs, unicode, NULLs, binary columns) with `worlds up` and with the stock "
        "client (`zcat dump | docker exec -i <container> mariadb`) on the same image, server "
        "settings and dump. Times are restore times after the server is up; the wall time of "
        "the whole `worlds up` (server start included) is shown too.\n\n"
        "Latest results:\n\n" + table + "\n")
    if os.environ.get("BENCH_KEEP") != "1":
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
