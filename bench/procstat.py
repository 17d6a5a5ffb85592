"""What /proc says about a server and the machine: its process tree, CPU time
and memory. Linux only; Python standard library only.

A server is a tree of processes (nginx: a master and its workers; lighttpd
with server.max-worker: the same; wired and h2o: one process with threads).
Every figure here is summed over the whole tree. /proc/PID/stat of a process
already sums all of its threads, live and exited, so threads need no walk.
"""

import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name, or None if gone.

    The name is in parentheses and may itself hold spaces or parentheses,
    so split after the last ')'. Index 0 here is field 3 (state) of proc(5).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(b")") + 2 :].split()


def start_time(pid):
    """Field 22 (starttime, in clock ticks since boot): with the PID it names
    one process, so a PID reused by someone else is never mistaken for ours."""
    f = _stat_fields(pid)
    return None if f is None else int(f[19])


def tree(root):
    """The PID `root` and all of its descendants (via field 4, ppid)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        f = _stat_fields(int(name))
        if f is not None:
            children.setdefault(int(f[1]), []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if _stat_fields(pid) is None:
            continue
        out.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(out)


def cpu_seconds(pids):
    """utime + stime (fields 14 and 15) summed over `pids`, in seconds."""
    ticks = 0
    for pid in pids:
        f = _stat_fields(pid)
        if f is not None:
            ticks += int(f[11]) + int(f[12])
    return ticks / CLK_TCK


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def rss_kib(pids):
    """Resident set size now (VmRSS), summed, in KiB."""
    return sum(_status_kib(p, "VmRSS") for p in pids)


def peak_rss_kib(pids):
    """Peak resident set size (VmHWM) summed over `pids`, in KiB."""
    return sum(_status_kib(p, "VmHWM") for p in pids)


def reset_peak_rss(pids):
    """Set each process's VmHWM back to its current RSS (proc(5), clear_refs
    value 5), so the next peak_rss_kib() is the peak of one run alone.
    Returns False if the kernel refused for any of them."""
    ok = True
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            ok = False
    return ok


def machine_cpu_seconds():
    """CPU time the whole machine has spent, summed over all cores, from the
    first line of /proc/stat: (time in processes: user + nice + system,
    time in interrupts: irq + softirq). Loopback TCP work done in softirq is
    counted by the kernel there rather than in any process's stime."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system) / CLK_TCK, (irq + softirq) / CLK_TCK


def task_cpu_seconds(pids):
    """utime + stime of every thread of `pids`, keyed by (pid, tid): shows
    how evenly a server spread its work over its workers."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for tid in tids:
            f = _stat_fields(f"{pid}/task/{tid}")
            if f is not None:
                out[(pid, int(tid))] = (int(f[11]) + int(f[12])) / CLK_TCK
    return out


def busiest_share(before, after):
    """The busiest thread's part of all the CPU time spent between two
    task_cpu_seconds() readings (0.5 = even over two workers, 1.0 = one
    thread did everything); None when nothing was spent."""
    deltas = [after[k] - before.get(k, 0.0) for k in after]
    total = sum(deltas)
    return max(deltas) / total if total > 0 else None
