/**
 * `xl list` output, parsed; and how the same columns follow from what
 * libxenctrl reports, so xenmig's domain list can be compared with xl's.
 *
 * @module
 */

/** One row of `xl list`. */
export interface XlListRow {
  /** Domain name. */
  name: string;
  /** Domain id. */
  domid: number;
  /** Memory, MiB (current allocation). */
  memMiB: number;
  /** Online vcpus. */
  vcpus: number;
  /**
   * Six state letters, `-` where unset: running, blocked, paused,
   * shutdown, the shutdown reason (`r`eboot, `s`uspend, `c`rash,
   * `w`atchdog, `S`oft reset; `-` for poweroff) and dying.
   */
  state: string;
  /** CPU time, seconds (one decimal). */
  cpuSeconds: number;
}

/**
 * Parses `xl list` output (header line first).
 *
 * @example
 * ```ts
 * import { parseXlList } from "./xl_list.ts";
 * const rows = parseXlList(
 *   "Name    ID   Mem VCPUs\tState\tTime(s)\n" +
 *   "Domain-0 0  2048     2     r-----      12.3\n" +
 *   "pvh1     3   128     1     -b----       2.0\n",
 * );
 * console.log(rows[1].domid, rows[1].state); // 3 "-b----"
 * ```
 */
export function parseXlList(text: string): XlListRow[] {
  const rows: XlListRow[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[0] === "Name") continue;
    const [domid, mem, vcpus, state, time] = f.slice(-5);
    if (!/^\d+$/.test(domid) || !/^[-rbpscdwS?]{6}$/.test(state)) continue;
    rows.push({
      name: f.slice(0, -5).join(" "),
      domid: Number(domid),
      memMiB: Number(mem),
      vcpus: Number(vcpus),
      state,
      cpuSeconds: Number(time),
    });
  }
  return rows;
}

/** The libxenctrl facts `xl list` is made of (as the dom0 agent reports them). */
export interface LibraryDomainRow {
  /** Domain id. */
  domid: number;
  /** Pages allocated (`tot_pages`). */
  totPages: number;
  /** Online vcpus. */
  onlineVcpus: number;
  /** Flags. */
  running: boolean;
  /** Flags. */
  blocked: boolean;
  /** Flags. */
  paused: boolean;
  /** Flags. */
  shutdown: boolean;
  /** Shutdown code (valid when `shutdown`). */
  shutdownCode: number;
  /** Flags. */
  dying: boolean;
  /** CPU time, seconds. */
  cpuSeconds: number;
}

/** xl's letters for SHUTDOWN_poweroff .. SHUTDOWN_soft_reset (`xl_info.c`). */
const SHUTDOWN_REASON_LETTERS = "-rscwS";

/**
 * The `xl list` columns libxl derives from one domain's info
 * (`list_domains()` in `tools/xl/xl_info.c`): Mem = tot_pages × 4 KiB in
 * MiB, rounded down (outstanding claims, never made here, would add to
 * it); State from the flags and the shutdown reason.
 *
 * @example
 * ```ts
 * import { xlColumns } from "./xl_list.ts";
 * const row = xlColumns({
 *   domid: 1, totPages: 32768, onlineVcpus: 1, running: false, blocked: true,
 *   paused: false, shutdown: false, shutdownCode: 0, dying: false, cpuSeconds: 2,
 * });
 * console.log(row.memMiB, row.state); // 128 "-b----"
 * ```
 */
export function xlColumns(d: LibraryDomainRow): Omit<XlListRow, "name"> {
  const flag = (on: boolean, c: string) => (on ? c : "-");
  const reason = d.shutdown ? (SHUTDOWN_REASON_LETTERS[d.shutdownCode] ?? "?") : "-";
  return {
    domid: d.domid,
    memMiB: Math.floor((d.totPages * 4) / 1024),
    vcpus: d.onlineVcpus,
    state: flag(d.running, "r") + flag(d.blocked, "b") + flag(d.paused, "p") +
      flag(d.shutdown, "s") + reason + flag(d.dying, "d"),
    cpuSeconds: d.cpuSeconds,
  };
}
