#!/usr/bin/env python3
"""Side-by-side benchmark of runr, runc and crun (standard library only).

Run it through bench/bench.sh, which installs what is missing and puts this
script in a private mount namespace where the host's hybrid cgroup2 mount is
hidden (crun 1.8.1 refuses hybrid mode). Every runtime gets the same bundles
and its own --root in one temp dir. The runtimes alternate on every iteration
(the order rotates), so a burst of load elsewhere hits all of them alike.

Timing: each command is started with posix_spawn (vfork-cheap, same cost for
every runtime) in its own session, so Ctrl-C reaches only this script, which
then finishes the command in flight, force-deletes every container it made
and removes its temp dir and any cgroup named after its id prefix.
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CGROUP_ROOT = "/sys/fs/cgroup"
PR_SET_CHILD_SUBREAPER = 36
DEVNULL = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)


class CommandFailed(Exception):
    pass


class Bench:
    def __init__(self, args):
        self.args = args
        self.prefix = args.prefix
        self.work = tempfile.mkdtemp(prefix="runr-bench.")
        self.rts = {}  # name -> argv prefix with --root
        for name, path in (("runr", args.runr), ("runc", args.runc), ("crun", args.crun)):
            root = os.path.join(self.work, "root-" + name)
            os.mkdir(root)
            self.rts[name] = [path, "--root", root]
        self.order = list(self.rts)
        self.inflight = None
        self.seq = 0

    # ---- running commands -------------------------------------------------

    def spawn(self, argv):
        """Runs argv to completion; returns (ns, status, stderr text)."""
        r, w = os.pipe2(os.O_CLOEXEC)
        actions = [
            (os.POSIX_SPAWN_DUP2, DEVNULL, 0),
            (os.POSIX_SPAWN_DUP2, DEVNULL, 1),
            (os.POSIX_SPAWN_DUP2, w, 2),
        ]
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
        self.inflight = pid
        _, status = os.waitpid(pid, 0)
        t1 = time.perf_counter_ns()
        self.inflight = None
        os.close(w)
        # A container started by the command may hold the write end: never block.
        os.set_blocking(r, False)
        try:
            err = os.read(r, 65536).decode(errors="replace")
        except BlockingIOError:
            err = ""
        os.close(r)
        return t1 - t0, status, err

    def run(self, argv, check=True):
        ns, status, err = self.spawn(argv)
        if check and status != 0:
            raise CommandFailed("%s: exit status %d: %s"
                                % (" ".join(argv), os.waitstatus_to_exitcode(status), err.strip()))
        return ns / 1e6

    def rt(self, name, *args, check=True):
        return self.run(self.rts[name] + list(args), check=check)

    def new_id(self, name, kind):
        self.seq += 1
        return "%s-%s-%s%d" % (self.prefix, name, kind, self.seq)

    def reap(self):
        """Reaps container inits that were reparented to us (we are a subreaper)."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return

    def wait_gone(self, pid):
        """Waits until the container's init has exited (untimed)."""
        try:
            os.waitpid(pid, 0)
            return
        except ChildProcessError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                        return
            except (FileNotFoundError, ProcessLookupError):
                return
            time.sleep(0.001)
        raise CommandFailed("container init %d did not exit after SIGKILL" % pid)

    def rotation(self, i, names=None):
        names = list(names or self.order)
        k = i % len(names)
        return names[k:] + names[:k]

    # ---- bundles ----------------------------------------------------------

    def make_bundle(self, name, args):
        d = os.path.join(self.work, name)
        subprocess.run(["sh", self.args.make_bundle, self.args.runr, d],
                       check=True, stdout=subprocess.DEVNULL)
        path = os.path.join(d, "config.json")
        with open(path) as f:
            cfg = json.load(f)
        cfg["process"]["args"] = args
        # runr spec says 1.3.0; crun 1.8.1 answers "unknown version specified".
        # runc's own template value is accepted by all three.
        cfg["ociVersion"] = "1.0.2-dev"
        with open(path, "w") as f:
            json.dump(cfg, f, indent="\t")
        return d

    # ---- the figures ------------------------------------------------------

    def probe(self):
        """Every runtime must run the bundle, and `run` must remove the container."""
        for name in self.order:
            cid = self.new_id(name, "probe")
            self.rt(name, "run", "-b", self.true_b, cid)
            self.reap()
            if os.listdir(self.rts[name][2]):
                raise CommandFailed("%s run left state behind in its --root" % name)

    def lifecycle(self, res):
        names = self.order + ["unshare"]
        unshare = ["/usr/bin/unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "/bin/true"]
        for i in range(self.args.warmup + self.args.runs):
            for name in self.rotation(i, names):
                if name == "unshare":
                    ms = self.run(unshare)
                else:
                    ms = self.rt(name, "run", "-b", self.true_b, self.new_id(name, "run"))
                self.reap()
                if i >= self.args.warmup:
                    res.setdefault(name, {}).setdefault("run", []).append(ms)

    def steps(self, res):
        """create | start | exec | kill KILL | (wait) | delete, then delete --force of a running one."""
        for i in range(self.args.warmup + self.args.steps):
            for name in self.rotation(i):
                t = {}
                cid = self.new_id(name, "step")
                pidfile = os.path.join(self.work, cid + ".pid")
                t["create"] = self.rt(name, "create", "-b", self.sleep_b, "--pid-file", pidfile, cid)
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                os.unlink(pidfile)
                t["start"] = self.rt(name, "start", cid)
                t["exec"] = self.rt(name, "exec", cid, "/bin/true")
                t["kill"] = self.rt(name, "kill", cid, "KILL")
                self.wait_gone(pid)
                t["delete"] = self.rt(name, "delete", cid)
                cid = self.new_id(name, "force")
                self.rt(name, "create", "-b", self.sleep_b, cid)
                self.rt(name, "start", cid)
                t["delete --force"] = self.rt(name, "delete", "--force", cid)
                self.reap()
                if i >= self.args.warmup:
                    for k, v in t.items():
                        res.setdefault(name, {}).setdefault(k, []).append(v)

    def sequential(self, res):
        """N containers created and started one after another, then all deleted (--force)."""
        n = self.args.n
        for rep in range(self.args.seq_reps):
            for name in self.rotation(rep):
                ids = [self.new_id(name, "seq") for _ in range(n)]
                t0 = time.perf_counter_ns()
                for cid in ids:
                    self.rt(name, "create", "-b", self.sleep_b, cid)
                    self.rt(name, "start", cid)
                t1 = time.perf_counter_ns()
                for cid in ids:
                    self.rt(name, "delete", "--force", cid)
                t2 = time.perf_counter_ns()
                self.reap()
                r = res.setdefault(name, {})
                r.setdefault("seq up", []).append((t1 - t0) / 1e6)
                r.setdefault("seq down", []).append((t2 - t1) / 1e6)
                r.setdefault("seq total", []).append((t2 - t0) / 1e6)

    def rss(self, res):
        """Peak RSS (GNU time %M, KiB) of each command, max over a few samples."""
        out = os.path.join(self.work, "time.out")
        timed = ["/usr/bin/time", "-f", "%M", "-o", out]

        def sample(name, key, argv):
            self.run(timed + argv)
            with open(out) as f:
                kb = int(f.read().split()[-1])
            r = res.setdefault(name, {}).setdefault(key, [])
            r.append(kb)

        unshare = ["/usr/bin/unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "/bin/true"]
        for i in range(self.args.rss_reps):
            sample("unshare", "run", unshare)
            for name in self.rotation(i):
                rt = self.rts[name]
                sample(name, "run", rt + ["run", "-b", self.true_b, self.new_id(name, "rss")])
                cid = self.new_id(name, "rss")
                pidfile = os.path.join(self.work, cid + ".pid")
                sample(name, "create", rt + ["create", "-b", self.sleep_b, "--pid-file", pidfile, cid])
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                os.unlink(pidfile)
                sample(name, "start", rt + ["start", cid])
                sample(name, "exec", rt + ["exec", cid, "/bin/true"])
                sample(name, "kill", rt + ["kill", cid, "KILL"])
                self.wait_gone(pid)
                sample(name, "delete", rt + ["delete", cid])
                cid = self.new_id(name, "rss")
                self.rt(name, "create", "-b", self.sleep_b, cid)
                self.rt(name, "start", cid)
                sample(name, "delete --force", rt + ["delete", "--force", cid])
                self.reap()

    # ---- cleanup ----------------------------------------------------------

    def cleanup(self):
        if self.inflight:
            try:
                os.waitpid(self.inflight, 0)
            except ChildProcessError:
                pass
            self.inflight = None
        problems = []
        for name, argv in self.rts.items():
            root = argv[2]
            for cid in sorted(os.listdir(root)) if os.path.isdir(root) else []:
                if not os.path.isdir(os.path.join(root, cid)):
                    continue
                ns, status, err = self.spawn(argv + ["delete", "--force", cid])
                if status != 0:
                    problems.append("%s delete --force %s: %s" % (name, cid, err.strip()))
        self.reap()
        # Cgroups named after our ids. The unified mount in this namespace is
        # a private tmpfs (see bench.sh): crun 1.8.1 leaves a directory with a
        # cgroup.procs file there for every container; it vanishes with the
        # namespace, but tidy it anyway.
        unified = os.path.join(CGROUP_ROOT, "unified")
        if fstype(unified) != "tmpfs":
            unified = None  # a real cgroup2 mount: its dirs are leftovers like any other
        crun_junk = 0
        left = []
        for top in sorted(os.listdir(CGROUP_ROOT)):
            base = os.path.join(CGROUP_ROOT, top)
            if not os.path.isdir(base):
                continue
            for dirpath, dirnames, _ in os.walk(base, topdown=False):
                for d in dirnames:
                    if not d.startswith(self.prefix):
                        continue
                    p = os.path.join(dirpath, d)
                    if base == unified:
                        shutil.rmtree(p, ignore_errors=True)
                        crun_junk += 1
                        continue
                    left.append(p)
                    try:
                        os.rmdir(p)
                    except OSError as e:
                        problems.append("cannot remove leftover cgroup %s: %s" % (p, e))
        shutil.rmtree(self.work, ignore_errors=True)
        return problems, left, crun_junk


def fstype(path):
    """The filesystem type mounted exactly at path, or None."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if left.split()[4] == path:
                found = right.split()[0]  # the last mount on top wins
    return found


# ---- report ---------------------------------------------------------------

def first_line(argv):
    """First line of `--version`, plus a commit line if there is one."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
        lines = out.splitlines()
        return "; ".join(lines[:1] + [l for l in lines[1:] if l.startswith("commit")]) or "?"
    except OSError:
        return "?"


def ratio(a, b):
    return a / b if b else float("nan")


def report(args, res, load_before, load_after):
    med = statistics.median
    rows = []  # (label, runr, runc, crun, unit, lower_is_better)

    def row(label, key, fn, unit):
        vals = [fn(res[n][key]) for n in ("runr", "runc", "crun")]
        rows.append((label, vals, unit))
        return vals

    lc_med = row("lifecycle `run` median", "run", med, "ms")
    row("lifecycle `run` min", "run", min, "ms")
    row("lifecycle `run` max", "run", max, "ms")
    step_keys = ["create", "start", "kill", "delete", "delete --force", "exec"]
    steps = {}
    for k in step_keys:
        label = "`%s`" % k if k != "delete --force" else "`delete --force` (running)"
        steps[k] = row(label + " median", k, med, "ms")
    n = args.n
    row("%d × create+start" % n, "seq up", med, "ms")
    row("%d × delete --force" % n, "seq down", med, "ms")
    seq = row("%d sequential containers, total" % n, "seq total", med, "ms")
    rss = {}
    for k in ["run", "create", "start", "exec", "kill", "delete", "delete --force"]:
        rss[k] = [max(res[x]["rss " + k]) / 1024 for x in ("runr", "runc", "crun")]
        rows.append(("peak RSS `%s`" % k, rss[k], "MiB"))
    sizes = [os.stat(p).st_size / 1e6 for p in (args.runr, args.runc, args.crun)]
    rows.append(("binary size", sizes, "MB"))

    uns = res["unshare"]["run"]
    uns_rss = max(res["unshare"]["rss run"]) / 1024

    print()
    print("| figure | runr | runc | crun | runr/runc | runr/crun |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, (a, b, c), unit in rows:
        fmt = "%.1f" if unit == "MiB" or unit == "MB" or a >= 100 else "%.2f"
        print("| %s | %s %s | %s %s | %s %s | %.2f | %.2f |"
              % (label, fmt % a, unit, fmt % b, unit, fmt % c, unit, ratio(a, b), ratio(a, c)))
    print()
    print("Kernel reference, `unshare --fork --pid --mount --uts --ipc --net /bin/true`: "
          "median %.2f ms (min %.2f, max %.2f), peak RSS %.1f MiB. "
          "Lifecycle median / unshare: runr %.2f×, runc %.2f×, crun %.2f×."
          % (med(uns), min(uns), max(uns), uns_rss,
             ratio(lc_med[0], med(uns)), ratio(lc_med[1], med(uns)), ratio(lc_med[2], med(uns))))
    print("Samples: lifecycle %d per runtime after %d warm-up; steps %d; %d containers × %d rounds; "
          "RSS max of %d. Load average before %s, after %s (this benchmark's own load included)."
          % (args.runs, args.warmup, args.steps, n, args.seq_reps, args.rss_reps,
             load_before, load_after))
    print("crun and runc binaries are dynamically linked (crun also loads libsystemd, libseccomp, "
          "libyajl, libcap); sizes are of the executable file alone.")

    def verdict(ok):
        return "met" if ok else "NOT met"

    print()
    print("Targets:")
    print("- lifecycle median <= 0.8 x crun: %s (%.2f x)" % (verdict(lc_med[0] <= 0.8 * lc_med[2]), ratio(lc_med[0], lc_med[2])))
    print("- lifecycle median <= 3 x unshare: %s (%.2f x)" % (verdict(lc_med[0] <= 3 * med(uns)), ratio(lc_med[0], med(uns))))
    slow = [k for k in step_keys if steps[k][0] > steps[k][2]]
    print("- every step <= crun: %s%s" % (verdict(not slow), "" if not slow else " (slower: %s)" % ", ".join(
        "%s %.2f x" % (k, ratio(steps[k][0], steps[k][2])) for k in slow)))
    fat = [k for k in rss if rss[k][0] > rss[k][2]]
    print("- peak RSS <= crun: %s%s" % (verdict(not fat), "" if not fat else " (larger: %s)" % ", ".join(
        "%s %.2f x" % (k, ratio(rss[k][0], rss[k][2])) for k in fat)))
    print("- %d sequential <= 0.8 x crun: %s (%.2f x)" % (n, verdict(seq[0] <= 0.8 * seq[2]), ratio(seq[0], seq[2])))
    print()
    print("lifecycle_ratio_vs_runc=%.2f" % ratio(lc_med[0], lc_med[1]))
    print("lifecycle_ratio_vs_crun=%.2f" % ratio(lc_med[0], lc_med[2]))


def busy_others():
    """Names of other processes using CPU right now (for the load note)."""
    names = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        if s.rsplit(")", 1)[1].split()[0] == "R" and int(p) != os.getpid():
            names[comm] = names.get(comm, 0) + 1
    return ", ".join("%s×%d" % kv for kv in sorted(names.items())) or "none"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runr", required=True)
    ap.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    ap.add_argument("--crun", default=shutil.which("crun") or "/usr/bin/crun")
    ap.add_argument("--make-bundle", required=True, help="integration/make-bundle.sh")
    ap.add_argument("--prefix", default="rbench%d" % os.getpid(), help="container id prefix")
    ap.add_argument("--runs", type=int, default=100, help="lifecycle runs per runtime")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=60, help="samples per step")
    ap.add_argument("-n", type=int, default=50, help="containers in the sequential figure")
    ap.add_argument("--seq-reps", type=int, default=5)
    ap.add_argument("--rss-reps", type=int, default=5)
    ap.add_argument("--raw", help="also write every sample (ms, KiB) to this JSON file")
    args = ap.parse_args()
    for k in ("runr", "runc", "crun"):
        setattr(args, k, os.path.abspath(getattr(args, k)))

    # Orphaned container inits come to us, not to PID 1 (which, on some
    # machines, never reaps them), so kill and delete see them exit.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("warning: cannot become a child subreaper", file=sys.stderr)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    b = Bench(args)
    res = {}
    rc = 0
    load_before = loadavg()
    print("runr: %s (%s)" % (args.runr, first_line([args.runr, "--version"])))
    print("runc: %s (%s)" % (args.runc, first_line([args.runc, "--version"])))
    print("crun: %s (%s)" % (args.crun, first_line([args.crun, "--version"])))
    print("machine: %d CPUs, kernel %s; load %s; running now: %s"
          % (os.cpu_count(), os.uname().release, load_before, busy_others()), flush=True)
    try:
        b.true_b = b.make_bundle("bundle-true", ["/bin/true"])
        b.sleep_b = b.make_bundle("bundle-sleep", ["/bin/sleep", "1000"])
        b.probe()
        phases = [("lifecycle", b.lifecycle), ("steps", b.steps),
                  ("sequential", b.sequential)]
        for label, fn in phases:
            t0 = time.monotonic()
            fn(res)
            print("%s done in %.0f s" % (label, time.monotonic() - t0), file=sys.stderr, flush=True)
        rss = {}
        b.rss(rss)
        for name, d in rss.items():
            for k, v in d.items():
                res[name]["rss " + k] = v
        print("peak RSS done", file=sys.stderr, flush=True)
        load_after = loadavg()
        report(args, res, load_before, load_after)
        if args.raw:
            with open(args.raw, "w") as f:
                json.dump(res, f)
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        rc = 130
    except CommandFailed as e:
        print("bench: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        problems, left, _ = b.cleanup()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for p in problems:
            print("cleanup: %s" % p, file=sys.stderr)
        if left:
            print("cleanup: removed %d leftover cgroup dir(s): %s"
                  % (len(left), " ".join(left[:5]) + (" ..." if len(left) > 5 else "")), file=sys.stderr)
        if problems:
            rc = rc or 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
