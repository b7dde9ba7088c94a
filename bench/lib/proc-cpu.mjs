// CPU time of processes and process trees from /proc (Linux; 100 ticks per second), for benches that
// split the cost of a request between the server and the databases it talks to.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10;

/** The fields of /proc/<pid>/stat from the 3rd (state) on, or null once the process is gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/**
 * CPU ms a process tree has used: the root's own time, the time of the children it has reaped
 * (cutime + cstime: a PostgreSQL backend that exits is counted there), and the time of each live
 * child. Sampled before and after a run, the difference is the tree's CPU over the run, whether its
 * children lived through it or not. NaN when the root is unreadable.
 */
export function treeCpuMs(rootPid) {
  const root = statFields(rootPid);
  if (!root) return Number.NaN;
  let ticks = Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields && Number(fields[1]) === rootPid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * TICK_MS;
}

/** CPU ms of one process (its own threads), NaN when unreadable. */
export function processCpuMs(pid) {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) * TICK_MS : Number.NaN;
}

/** Busy and total CPU ms of the whole machine since boot (/proc/stat: all but idle and iowait is busy). */
export function machineCpuMs() {
  const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3] + (ticks[4] ?? 0);
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}
