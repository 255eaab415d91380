#!/usr/bin/env python3
"""Prints the benchmark table from the JSON results tools/bench/run.sh left in a directory.

One line per workload: shiplog's figure, its reference measured in the same run (the machine's
limit or the peer's figure), the ratio between them, and the target with whether it is met.
A figure whose workload did not run, or a peer that was skipped, says so on its line.

usage: table.py RESULTS_DIR [--markdown]
"""
import json
import os
import sys


def load(results, name):
    path = os.path.join(results, name + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def get(doc, *path):
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def rate(v):
    return "-" if v is None else f"{v:,.0f}/s"


def micros(v):
    return "-" if v is None else (f"{v:,.1f} µs" if v < 1000 else f"{v / 1000:,.2f} ms")


def millis(v):
    return "-" if v is None else f"{v:,.3f} ms"


def mib(v):
    return "-" if v is None else f"{v / 2**20:,.0f} MiB"


class Table:
    def __init__(self):
        self.rows = []

    def row(self, workload, figure, reference="", ratio=None, target="", met=None):
        ratio_text = "" if ratio is None else f"{ratio:,.2f}×"
        verdict = "" if met is None else ("met" if met else "MISSED")
        self.rows.append((workload, figure, reference, ratio_text, target, verdict))

    def note(self, workload, text):
        self.rows.append((workload, text, "", "", "", ""))

    def render(self, markdown):
        head = ("workload", "shiplog", "reference (same run)", "ratio", "target", "")
        if markdown:
            lines = ["| " + " | ".join(head[:-1]) + " | |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(r) + " |" for r in self.rows]
            return "\n".join(lines)
        widths = [max(len(r[i]) for r in self.rows + [head]) for i in range(len(head))]
        fmt = "  ".join("{:<%d}" % w for w in widths)
        return "\n".join(fmt.format(*r).rstrip() for r in [head] + self.rows)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def build(results):
    t = Table()
    limits = load(results, "limits")
    one_core = get(limits, "verify_per_s_one_core")
    ceiling = get(limits, "verify_per_s_all_cores")
    fsync_p50 = get(limits, "fdatasync_4k_us", "p50")
    cores = get(limits, "cores")
    if limits is None:
        t.note("1. limits", "not measured (limits.json missing)")
    else:
        t.row("1. Ed25519 verify, one core", rate(one_core))
        t.row(f"1. Ed25519 verify, all {cores} cores (the verify ceiling)", rate(ceiling))
        t.row("1. 4 KiB write + fdatasync p50 / p99", micros(fsync_p50) + " / " +
              micros(get(limits, "fdatasync_4k_us", "p99")))
        t.row(f"1. SHA-256 of a record ({get(limits, 'record_bytes')} B)",
              f"{get(limits, 'sha256_record_ns'):,.0f} ns")
        t.row("1. Cap'n Proto encode / decode of a record",
              f"{get(limits, 'capnp_encode_record_ns'):,.0f} / "
              f"{get(limits, 'capnp_decode_record_ns'):,.0f} ns")

    for transport, target_share in (("pipeline", 0.8), ("http", 0.5)):
        label = "in process" if transport == "pipeline" else "over HTTP"
        for clients in (1, 8, 64):
            r = load(results, f"{transport}-{clients}")
            name = f"2. append {label}, {clients} client{'s' if clients > 1 else ''}"
            if r is None:
                t.note(name, "not measured")
                continue
            eps = get(r, "events_per_s")
            lat = get(r, "latency_us")
            target, met = "", None
            if clients == 64:
                target = f"≥ {target_share:.0%} of the verify ceiling"
                met = ratio(eps, ceiling) is not None and ratio(eps, ceiling) >= target_share
            t.row(name + ": events/s", rate(eps), "verify ceiling " + rate(ceiling),
                  ratio(eps, ceiling), target, met)
            lat_target, lat_met = "", None
            if transport == "http" and clients == 1 and fsync_p50 is not None:
                lat_target = f"p50 ≤ fsync + 150 µs, p99 < 1 ms"
                lat_met = lat["p50"] <= fsync_p50 + 150 and lat["p99"] < 1000
            t.row(name + ": latency p50 / p99 / p999",
                  " / ".join(micros(lat[p]) for p in ("p50", "p99", "p999")),
                  "fsync p50 " + micros(fsync_p50), ratio(lat["p50"], fsync_p50),
                  lat_target, lat_met)
            t.row(name + ": fsyncs per event", f"{get(r, 'fsyncs_per_event'):.3f}")

    decide = load(results, "decide")
    cedar = load(results, "cedar")
    cedar_us = get(cedar, "median_us")
    if decide is None:
        t.note("3. decide", "not measured")
    else:
        for events in (10, 1000, 100000):
            d = get(decide, f"decide_us_{events}")
            target, met, ref, rat = "", None, "", None
            if events == 1000:
                target, met = "median < 5 µs", d["p50"] < 5
            t.row(f"3. one decision, {events:,} events: median / p99",
                  micros(d["p50"]) + " / " + micros(d["p99"]), ref, rat, target, met)
        t.row("3. fold cost per event", micros(get(decide, "fold_us_per_event_100000")))

    reads = load(results, "reads")
    if reads is None:
        t.note("4. replay and verify", "not measured")
    else:
        records = get(reads, "records")
        t.row(f"4. replay from genesis (first {get(reads, 'replay_genesis_records'):,} records)",
              rate(get(reads, "replay_genesis_per_s")), "", None, "≥ 1,000,000/s",
              get(reads, "replay_genesis_per_s") >= 1e6)
        t.row(f"4. replay from the nearest snapshot to the end ({records:,} records)",
              f"{get(reads, 'replay_snapshot_to_end_s'):,.2f} s")
        verify = get(reads, "verify_per_s")
        t.row(f"4. full verify of {records:,} records", rate(verify),
              "verify ceiling " + rate(ceiling), ratio(verify, ceiling),
              "≥ 85% of the verify ceiling",
              ratio(verify, ceiling) is not None and ratio(verify, ceiling) >= 0.85)
        batched = load(results, "pipeline-64")
        batched_verify = get(batched, "verify_per_s")
        if batched_verify is not None:
            per = get(batched, "events") / max(1, get(batched, "verify_checkpoints"))
            t.row(f"4. full verify of a ledger 64 clients wrote (one checkpoint per {per:,.0f} "
                  "records)", rate(batched_verify), "verify ceiling " + rate(ceiling),
                  ratio(batched_verify, ceiling))
        without = get(reads, "disk_bytes_per_record_without_snapshots")
        if without is not None:
            t.row("4. disk per record, without replay's snapshots", f"{without:,.0f} B", "", None,
                  "≤ 800 B", without <= 800)
        t.row("4. disk per record, with them", f"{get(reads, 'disk_bytes_per_record'):,.0f} B")
        for key, name, target in (("query_deployment_history_ms", "a deployment's history", 2),
                                  ("query_image_path_ms", "an image digest's path", None),
                                  ("query_waivers_month_ms", "all waivers in a month", None)):
            q = get(reads, key)
            t.row(f"5. query {name}: p50 / p99", millis(q["p50"]) + " / " + millis(q["p99"]),
                  "", None, "" if target is None else f"p99 < {target} ms",
                  None if target is None else q["p99"] < target)
        for key, name in (("list_deployments_first_page_ms", "the newest 50"),
                          ("list_deployments_app_completed_ms", "one app's completed")):
            q = get(reads, key)
            if q is not None:
                t.row(f"5. deployment list, {name}: p50 / p99",
                      millis(q["p50"]) + " / " + millis(q["p99"]))

    git = load(results, "git")
    pg = load(results, "postgres")
    http1 = get(load(results, "http-1"), "events_per_s")
    http64 = get(load(results, "http-64"), "events_per_s")
    if git is None or "skipped" in git:
        t.note("6. peer: git, SSH-signed commits", "skipped: " + str(get(git, "skipped")))
    else:
        # git takes one commit at a time; shiplog's rate is its rate with many writers.
        t.row("6. append (HTTP, 64 clients) vs git signed commits", rate(http64),
              "git " + rate(get(git, "append_per_s")), ratio(http64, get(git, "append_per_s")),
              "≥ 300×", (ratio(http64, get(git, "append_per_s")) or 0) >= 300)
        t.row("6. verify every event vs every git commit", rate(get(reads, "verify_per_s")),
              "git " + rate(get(git, "verify_per_s")),
              ratio(get(reads, "verify_per_s"), get(git, "verify_per_s")))
    if pg is None or "skipped" in pg:
        t.note("6. peer: PostgreSQL hash-chain table", "skipped: " + str(get(pg, "skipped")))
    else:
        for clients, mine in ((1, http1), (64, http64)):
            theirs = get(pg, "append_per_s_by_clients", str(clients))
            t.row(f"6. append vs PostgreSQL, {clients} client{'s' if clients > 1 else ''}",
                  rate(mine), "PostgreSQL " + rate(theirs), ratio(mine, theirs),
                  "≥ 8×" if clients == 64 else "",
                  (ratio(mine, theirs) or 0) >= 8 if clients == 64 else None)
        # shiplog's own ledger in that same PostgreSQL server, beside its embedded RocksDB.
        theirs = get(pg, "append_per_s_by_clients", "64")
        for store, name in (("RocksDB", "pipeline-64"),
                            ("PostgreSQL, one server", "pipeline-postgres-1"),
                            ("PostgreSQL, two servers", "pipeline-postgres-2")):
            r = load(results, name)
            line = f"6. append in process, 64 clients, ledger on {store}"
            if r is None:
                t.note(line, "not measured")
                continue
            eps, p50 = get(r, "events_per_s"), get(r, "latency_us", "p50")
            t.row(line + ": events/s (p50)", f"{rate(eps)} ({micros(p50)})",
                  "PostgreSQL hash chain " + rate(theirs), ratio(eps, theirs))
        mine_q = get(reads, "query_deployment_history_ms", "p50")
        theirs_q = get(pg, "history_p50_ms")
        t.row("6. a deployment's history vs PostgreSQL, p50", millis(mine_q),
              "PostgreSQL " + millis(theirs_q), ratio(theirs_q, mine_q))
        t.row("6. a deployment's history vs PostgreSQL, p99",
              millis(get(reads, "query_deployment_history_ms", "p99")),
              "PostgreSQL " + millis(get(pg, "history_p99_ms")),
              ratio(get(pg, "history_p99_ms"), get(reads, "query_deployment_history_ms", "p99")))
    if cedar is None or "skipped" in cedar:
        t.note("6. peer: Cedar decision", "skipped: " + str(get(cedar, "skipped")))
    elif decide is not None:
        mine = get(decide, "decide_us_1000", "p50")
        t.row("6. a decision (1,000 events, folded) vs Cedar", micros(mine),
              "Cedar " + micros(cedar_us), ratio(cedar_us, mine), "≥ 15× faster",
              (ratio(cedar_us, mine) or 0) >= 15)

    memory = load(results, "memory")
    if memory is None:
        t.note("7. server memory", "not measured")
    else:
        rss = get(memory, "server_peak_rss_bytes")
        t.row(f"7. server peak RSS, 64 clients append {get(memory, 'events'):,} events", mib(rss),
              "", None, "< 300 MiB", rss < 300 * 2**20)
    replay_rss = load(results, "replay-rss")
    if replay_rss is not None:
        t.row("7. replay peak RSS, one deployment at the end", mib(get(replay_rss, "deployment")))
        whole = get(replay_rss, "whole_ledger")
        t.row("7. replay peak RSS, whole ledger from genesis", mib(whole), "", None, "≤ 500 MB",
              None if whole is None else whole <= 500e6)
    admission = load(results, "admission")
    if admission is None:
        t.note("8. Kubernetes admission decision", "not measured")
    else:
        for key, name in (("admitted_us", "an admitted digest"),
                          ("unknown_digest_us", "an unknown digest (denied)"),
                          ("tag_only_us", "a tag-only image (denied)")):
            a = get(admission, key)
            t.row(f"8. admission at {get(admission, 'records'):,} records, {name}: p50 / p99",
                  micros(a["p50"]) + " / " + micros(a["p99"]), "", None, "p99 < 2 ms",
                  a["p99"] < 2000)
    return t


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__.strip().splitlines()[-1])
    print(build(sys.argv[1]).render("--markdown" in sys.argv[2:]))


if __name__ == "__main__":
    main()
