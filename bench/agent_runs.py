#!/usr/bin/env python3
"""Unchanged backups run by the coffre-agent daemon, measured (bench/run.sh).

  agent_runs.py AGENT_BIN WORK REPO PASSWORD_FILE DATA [--drop-caches]

Starts coffre-agent with one job backing DATA up into REPO every 10 seconds,
lets its first run go unmeasured (it derives the key, as any first run
does), then measures two further runs: "cold" (page cache dropped just
before, when --drop-caches is given) and "warm". The daemon keeps the
job's unlocked keys between runs, so these runs skip the passphrase KDF
that every `coffre backup` process pays: what a nightly backup costs on a
server where the agent runs.

Per run it prints one line: "NAME WALL_S CPU_S PEAK_KIB", where WALL_S is the
run's duration as the daemon records it (status.json duration_ms: from the
job's start to its end, opening the repository included), CPU_S the
daemon's user+sys time over the run (it does nothing else), and PEAK_KIB
its peak resident memory during the run (VmHWM after resetting it through
/proc/PID/clear_refs before the run; the daemon's idle memory included).
Exits non-zero, with a one-line reason on stderr, if a run fails or the
daemon does not run the job.
"""

import json
import os
import signal
import subprocess
import sys
import time

PERIOD_S = 10
MARGIN_S = 3  # a measured run needs this long between preparing and starting


def fail(message):
    print(f"agent_runs.py: {message}", file=sys.stderr)
    sys.exit(1)


def job_status(state_dir):
    try:
        with open(os.path.join(state_dir, "status.json")) as f:
            return json.load(f)["jobs"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def wait_for_run(state_dir, agent, after_started, timeout_s=600):
    """The first finished run that started after `after_started`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            fail(f"coffre-agent exited with status {agent.returncode}")
        job = job_status(state_dir)
        last = job and job.get("last_run")
        if last and not job.get("running") and last["started"] != after_started:
            return last
        time.sleep(0.02)
    fail(f"no run of the job finished within {timeout_s} s")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def seconds_to_next_run(state_dir):
    # next_run is local time with its offset; time.strptime cannot read the
    # colon in "+01:00", datetime can.
    from datetime import datetime
    job = job_status(state_dir)
    if not job or not job.get("next_run"):
        return None
    return datetime.fromisoformat(job["next_run"]).timestamp() - time.time()


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def main():
    args = [a for a in sys.argv[1:] if a != "--drop-caches"]
    drop = "--drop-caches" in sys.argv[1:]
    if len(args) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    agent_bin, work, repo, password_file, data = args
    state_dir = os.path.join(work, "agent-state")
    os.makedirs(state_dir, exist_ok=True)
    conf = os.path.join(work, "agent.conf")
    with open(conf, "w") as f:
        f.write(f"""[agent]
state_dir = {json.dumps(state_dir)}
cache_dir = {json.dumps(os.path.join(work, "agent-cache"))}

[[job]]
name = "bench"
repo = {json.dumps(repo)}
password_file = {json.dumps(password_file)}
paths = [{json.dumps(data)}]
schedule = "*-*-* *:*:00/{PERIOD_S}"
""")
    log = open(os.path.join(work, "logs", "coffre-agent.log"), "w")
    agent = subprocess.Popen([agent_bin, "--config", conf], stdout=log, stderr=subprocess.STDOUT)
    try:
        last = wait_for_run(state_dir, agent, None)  # derives the key: not measured
        if last["outcome"] != "success":
            fail(f"the agent's first run failed: {last.get('error', '')}")
        for name, cold in (("backup2a", True), ("backup2aw", False)):
            # Prepare only when the next run is far enough off; else let it
            # pass unmeasured.
            while (seconds_to_next_run(state_dir) or 0) < MARGIN_S:
                last = wait_for_run(state_dir, agent, last["started"])
            if cold and drop:
                drop_caches()
            with open(f"/proc/{agent.pid}/clear_refs", "w") as f:
                f.write("5\n")  # resets VmHWM to the current RSS
            cpu0 = cpu_s(agent.pid)
            last = wait_for_run(state_dir, agent, last["started"])
            if last["outcome"] != "success":
                fail(f"the agent's run failed: {last.get('error', '')}")
            print(f"{name} {last['duration_ms'] / 1000:.3f} {cpu_s(agent.pid) - cpu0:.2f} "
                  f"{peak_kib(agent.pid)}")
    finally:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=60)
            except subprocess.TimeoutExpired:
                agent.kill()


if __name__ == "__main__":
    main()
