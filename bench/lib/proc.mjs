// CPU time of a process from /proc (Linux): the Worker's own cost per request, a signal much less
// sensitive than throughput to other work on a shared machine.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Direct children of this process whose command is `name` (e.g. every workerd Miniflare spawned). */
export function childPids(name) {
  const pids = new Set();
  try {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      const text = readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").trim();
      for (const pid of text.split(/\s+/).filter(Boolean)) {
        try {
          if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === name) pids.add(Number(pid));
        } catch {}
      }
    }
  } catch {}
  return pids;
}

/** User + system CPU milliseconds used so far by `pid`, or null when unreadable. */
export function cpuMs(pid) {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the `(comm)` field: state is fields[0], utime is fields[11], stime fields[12].
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return null;
  }
}

/** Resident memory of `pid` in MiB (VmRSS), or null when unreadable. */
export function rssMb(pid) {
  if (!pid) return null;
  try {
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
    return Number.isFinite(kb) ? Math.round(kb / 1024) : null;
  } catch {
    return null;
  }
}
