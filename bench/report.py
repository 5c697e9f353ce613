#!/usr/bin/env python3
"""Turns the measurements of bench/run.sh into a Markdown report.

  report.py RESULTS_TSV META_FILE

RESULTS_TSV lines: tool <TAB> step <TAB> metric <TAB> value, where metric is
wall (s), cpu (user+sys s), rss (KiB), repo (bytes), or a free-form info
metric. META_FILE lines: key <TAB> value, printed in order as the header.
The project's targets are evaluated and printed, never turned into an exit
code: the benchmark reports, it does not judge.
"""

import sys

TOOLS = ["coffre", "restic", "borg"]
STEPS = [
    ("backup1", "first backup"),
    ("backup2", "second backup, nothing changed"),
    ("backup2w", "the same, page cache warm"),
    ("backup2a", "unchanged, run by coffre-agent (keys kept), cold"),
    ("backup2aw", "the same by coffre-agent, page cache warm"),
    ("backup3", "backup after a small change"),
    ("restore", "full restore"),
]
METRICS = [
    ("wall", "wall time (s)", lambda v: f"{v:.2f}"),
    ("cpu", "CPU user+sys (s)", lambda v: f"{v:.2f}"),
    ("cpupct", "CPU / wall (%)", lambda v: f"{v:.0f}"),
    ("rss", "peak RSS (MiB)", lambda v: f"{v / 1024:.1f}"),
    ("repo", "repository size (MiB)", lambda v: f"{v / 2**20:.1f}"),
    ("added", "repository growth (MiB)", lambda v: f"{v / 2**20:.1f}"),
]


def load(path):
    data = {}
    with open(path) as f:
        for line in f:
            tool, step, metric, value = line.rstrip("\n").split("\t")
            data[(tool, step, metric)] = value
    return data


def num(data, tool, step, metric):
    try:
        return float(data[(tool, step, metric)])
    except (KeyError, ValueError):
        return None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def derive(data):
    for tool in TOOLS:
        prev = 0.0
        for step, _ in STEPS:
            wall, cpu = num(data, tool, step, "wall"), num(data, tool, step, "cpu")
            if wall and cpu is not None:
                data[(tool, step, "cpupct")] = str(100 * cpu / wall)
            repo = num(data, tool, step, "repo")
            if repo is not None:
                data[(tool, step, "added")] = str(repo - prev)
                prev = repo


def table(data, tools):
    out = []
    head = ["step", "metric"] + tools
    head += [f"coffre/{t}" for t in tools if t != "coffre" and "coffre" in tools]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for step, step_name in STEPS:
        for metric, metric_name, fmt in METRICS:
            vals = [num(data, t, step, metric) for t in tools]
            if all(v is None for v in vals):
                continue
            row = [step_name, metric_name]
            row += ["FAILED" if (t, "-", "failed") in data and v is None else
                    ("-" if v is None else fmt(v)) for t, v in zip(tools, vals)]
            if "coffre" in tools:
                c = num(data, "coffre", step, metric)
                if metric == "cpupct":
                    row += ["" for t in tools if t != "coffre"]
                elif metric == "added":  # a ratio of two near-zero growths means nothing
                    row += [ratio(c, o) if c is not None and o is not None and min(c, o) >= 2**20
                            else "-" for o in (num(data, t, step, metric) for t in tools if t != "coffre")]
                else:
                    row += [ratio(c, num(data, t, step, metric)) for t in tools if t != "coffre"]
            out.append("| " + " | ".join(row) + " |")
    return out


def targets(data):
    def verdict(ok):
        # Targets are for the record: a missed one never fails a run.
        return "n/a" if ok is None else ("met" if ok else "target missed")

    rows = []
    # Issue 10's targets. The agent rows compare coffre-agent's run with
    # restic's own unchanged backup (restic has no daemon).
    for step, other, label, want in (
            ("backup1", "backup1", "first backup >= 2x as fast as restic (wall)", 2.0),
            ("backup2", "backup2", "unchanged backup >= 10x as fast as restic's, cold page cache", 10.0),
            ("backup2w", "backup2w", "unchanged backup >= 10x as fast as restic's, warm page cache", 10.0),
            ("backup2a", "backup2", "the same run by coffre-agent, cold page cache", 10.0),
            ("backup2aw", "backup2w", "the same run by coffre-agent, warm page cache", 10.0),
            ("restore", "restore", "restore >= 1.5x as fast as restic", 1.5)):
        c, r = num(data, "coffre", step, "wall"), num(data, "restic", other, "wall")
        s = None if not c or r is None else r / c
        rows.append((label, "-" if s is None else f"restic/coffre = {s:.2f}x",
                     verdict(None if s is None else s >= want)))
    c, r = num(data, "coffre", "backup3", "repo"), num(data, "restic", "backup3", "repo")
    rows.append(("repository size <= restic's (after the 3 backups)",
                 "-" if c is None or r is None else f"{c / 2**20:.1f} vs {r / 2**20:.1f} MiB",
                 verdict(None if c is None or r is None else c <= r)))
    peaks = {}
    for tool in ("coffre", "restic"):
        vals = [num(data, tool, s, "rss") for s, _ in STEPS]
        vals = [v for v in vals if v is not None]
        peaks[tool] = max(vals) if vals else None
    c, r = peaks["coffre"], peaks["restic"]
    rows.append(("peak memory <= 0.5x restic's (max over the steps)",
                 "-" if c is None or r is None else f"{c / 1024:.1f} vs {r / 1024:.1f} MiB",
                 verdict(None if c is None or r is None else c <= 0.5 * r)))
    out = ["| target | measured | verdict |", "|---|---|---|"]
    out += [f"| {a} | {b} | {v} |" for a, b, v in rows]
    return out


def main():
    data = load(sys.argv[1])
    derive(data)
    lines = ["# Coffre benchmark: coffre vs restic vs BorgBackup", ""]
    with open(sys.argv[2]) as f:
        for line in f:
            key, value = line.rstrip("\n").split("\t", 1)
            lines.append(f"- **{key}**: {value}")
    tools = [t for t in TOOLS if any(k[0] == t for k in data)]
    lines += ["", "## Measurements", "",
              "Ratios are coffre divided by the other tool: below 1 means coffre "
              "takes less time, CPU, memory or space.", ""]
    lines += table(data, tools)
    info = sorted((k, v) for k, v in data.items() if k[2].startswith("info:"))
    if info:
        lines += ["", "## Other observations", ""]
        lines += [f"- {t} {s}: {m[5:]} = {v}" for (t, s, m), v in info]
    failed = sorted({k[0] for k in data if k[2] == "failed"})
    lines += ["", "## Project targets (reported, not enforced)", ""]
    lines += targets(data)
    lines += ["", "## Outcome", ""]
    if failed:
        lines += [f"- **{t}: FAILED** — {data[(t, '-', 'failed')]}" for t in failed]
    else:
        lines.append("- every tool succeeded and every restore matched the data set")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
