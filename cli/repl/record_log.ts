/**
 * The `records` command's view of the engine's record log
 * (`SaveSession.recentRecords`).  The engine logs header and tail records
 * with their start offset and size, but each PAGE_DATA batch with the
 * stream offset after it and the bytes its iteration has sent so far.
 * Because the stream is written contiguously, each PAGE_DATA batch starts
 * where the entry before it ended; that gives every entry a start and a
 * size.  A PAGE_DATA batch whose predecessor has left the log's window has
 * no known start and is left out.
 *
 * @module
 */

/** An entry as the engine logs it. */
export interface EngineRecordEntry {
  /** Record type name. */
  type: string;
  /** Start offset (PAGE_DATA: end offset). */
  offset: number;
  /** Size (PAGE_DATA: bytes of the iteration so far). */
  bytes: number;
}

/** A record written: where it starts and how big it is. */
export interface WrittenRecord {
  /** Record type name. */
  type: string;
  /** Offset of its first byte in the stream. */
  offset: number;
  /** Its size, bytes. */
  bytes: number;
}

/**
 * Normalises the engine's log to start offsets and sizes, oldest first.
 *
 * @example
 * ```ts
 * import { writtenRecords } from "./record_log.ts";
 * const log = [
 *   { type: "STATIC_DATA_END", offset: 100, bytes: 8 },
 *   { type: "PAGE_DATA", offset: 4224, bytes: 4116 },
 *   { type: "PAGE_DATA", offset: 8340, bytes: 8232 },
 *   { type: "END", offset: 8340, bytes: 8 },
 * ];
 * const r = writtenRecords(log);
 * console.assert(r[1].offset === 108 && r[1].bytes === 4116);
 * console.assert(r[2].offset === 4224 && r[2].bytes === 4116);
 * console.assert(r[3].offset === 8340 && r[3].bytes === 8);
 * ```
 */
export function writtenRecords(log: readonly EngineRecordEntry[]): WrittenRecord[] {
  const out: WrittenRecord[] = [];
  let end: number | undefined;
  for (const e of log) {
    if (e.type === "PAGE_DATA") {
      if (end !== undefined) out.push({ type: e.type, offset: end, bytes: e.offset - end });
      end = e.offset;
    } else {
      out.push({ type: e.type, offset: e.offset, bytes: e.bytes });
      end = e.offset + e.bytes;
    }
  }
  return out;
}
