// CPU time of a process split between its main thread and the rest, from /proc (Linux). For Node
// the rest is V8's background threads: concurrent compilation (TurboFan) and GC helpers, so the
// split shows how much of a push's CPU is the JIT still compiling the push path rather than the
// push itself. For Go the split means nothing (goroutines run on any thread).
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadCpu {
  mainMs: number;
  otherMs: number;
}

/** Clock ticks per second for /proc's utime and stime (USER_HZ: 100 on every Linux Node supports). */
const USER_HZ = 100;

/** undefined where /proc is unavailable or the process has gone. */
export function threadCpu(pid: number): ThreadCpu | undefined {
  try {
    let mainMs = 0;
    let otherMs = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // the thread exited since the listing
      }
      // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of stat.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
      if (tid === String(pid)) mainMs += ms;
      else otherMs += ms;
    }
    return { mainMs, otherMs };
  } catch {
    return undefined;
  }
}
