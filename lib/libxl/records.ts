/**
 * Typed decode and encode of the libxl record bodies.  The emulator records
 * share a sub-header (`emulator_id`, `index`); EMULATOR_XENSTORE_DATA then
 * holds NUL-terminated key / value strings, relative to the emulator's
 * xenstore path.
 *
 * @module
 */

import { RecordError } from "../errors.ts";
import { encodeRecord } from "../record_header.ts";
import { EMULATOR_HEADER_SIZE, LIBXL_REC_TYPE, libxlRecTypeName } from "./constants.ts";

/** END, LIBXC_CONTEXT and CHECKPOINT_END have no body. */
export interface LibxlSignalRecord {
  /** Record type. */
  type:
    | typeof LIBXL_REC_TYPE.END
    | typeof LIBXL_REC_TYPE.LIBXC_CONTEXT
    | typeof LIBXL_REC_TYPE.CHECKPOINT_END;
}
/** One xenstore key / value pair. */
export interface XenstoreEntry {
  /** Key, relative to the emulator's path. */
  key: string;
  /** Value. */
  value: string;
}
/** EMULATOR_XENSTORE_DATA. */
export interface EmulatorXenstoreDataRecord {
  /** Record type. */
  type: typeof LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA;
  /** `EMULATOR_ID_*`. */
  emulatorId: number;
  /** Emulator index. */
  index: number;
  /** The pairs, in stream order. */
  entries: XenstoreEntry[];
}
/** EMULATOR_CONTEXT. */
export interface EmulatorContextRecord {
  /** Record type. */
  type: typeof LIBXL_REC_TYPE.EMULATOR_CONTEXT;
  /** `EMULATOR_ID_*`. */
  emulatorId: number;
  /** Emulator index. */
  index: number;
  /** The emulator's saved state, opaque. */
  data: Uint8Array;
}
/** CHECKPOINT_STATE (COLO). */
export interface CheckpointStateRecord {
  /** Record type. */
  type: typeof LIBXL_REC_TYPE.CHECKPOINT_STATE;
  /** `CHECKPOINT_STATE_CONTROL` value. */
  controlId: number;
}
/** A record type this library does not know. */
export interface UnknownLibxlRecord {
  /** Record type. */
  type: number;
  /** Raw body. */
  data: Uint8Array;
  /** Marks the record as not understood. */
  unknown: true;
}

/** Any libxl record. */
export type LibxlRecord =
  | LibxlSignalRecord
  | EmulatorXenstoreDataRecord
  | EmulatorContextRecord
  | CheckpointStateRecord;

/** Body size of CHECKPOINT_STATE (`control_id`; the record pads to 8). */
export const CHECKPOINT_STATE_SIZE = 4;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encode = new TextEncoder();

/**
 * Splits xenstore data (`key\0value\0...`) into pairs.  Throws
 * {@linkcode RecordError} when it is not NUL terminated, has an odd number of
 * strings, or is not UTF-8.
 *
 * @example
 * ```ts
 * import { decodeXenstoreEntries } from "./records.ts";
 * const e = decodeXenstoreEntries(new TextEncoder().encode("physmap/1/name\0vram\0"));
 * console.assert(e.length === 1 && e[0].key === "physmap/1/name" && e[0].value === "vram");
 * ```
 */
export function decodeXenstoreEntries(data: Uint8Array, offset = 0): XenstoreEntry[] {
  if (data.length === 0) return [];
  if (data[data.length - 1] !== 0) throw new RecordError("Data not NUL terminated", offset);
  let text: string;
  try {
    text = utf8.decode(data.subarray(0, data.length - 1));
  } catch {
    throw new RecordError("Xenstore data is not valid UTF-8", offset);
  }
  const parts = text.split("\0");
  if (parts.length % 2 !== 0) {
    throw new RecordError(`Expected an even number of strings, got ${parts.length}`, offset);
  }
  const out: XenstoreEntry[] = [];
  for (let i = 0; i < parts.length; i += 2) out.push({ key: parts[i], value: parts[i + 1] });
  return out;
}

function emulatorHeader(
  body: Uint8Array,
  offset: number,
  name: string,
): { emulatorId: number; index: number } {
  if (body.length < EMULATOR_HEADER_SIZE) {
    throw new RecordError(
      `${name}: length must be at least ${EMULATOR_HEADER_SIZE} bytes, got ${body.length}`,
      offset,
    );
  }
  const v = new DataView(body.buffer, body.byteOffset, EMULATOR_HEADER_SIZE);
  return { emulatorId: v.getUint32(0, true), index: v.getUint32(4, true) };
}

/**
 * Decodes the body of a libxl record.  Throws {@linkcode RecordError}
 * (located at `offset`) when the body cannot hold its layout.
 *
 * @example
 * ```ts
 * import { decodeLibxlRecord, encodeLibxlRecord } from "./records.ts";
 * import { LIBXL_REC_TYPE } from "./constants.ts";
 * const rec = { type: LIBXL_REC_TYPE.EMULATOR_CONTEXT, emulatorId: 2, index: 0, data: new Uint8Array(5) } as const;
 * const bytes = encodeLibxlRecord(rec);
 * const back = decodeLibxlRecord(3, bytes.subarray(8, 8 + 13));
 * console.assert(back.type === 3 && "data" in back && back.data.length === 5);
 * ```
 */
export function decodeLibxlRecord(
  type: number,
  body: Uint8Array,
  offset = 0,
): LibxlRecord | UnknownLibxlRecord {
  const name = libxlRecTypeName(type);
  switch (type) {
    case LIBXL_REC_TYPE.END:
    case LIBXL_REC_TYPE.LIBXC_CONTEXT:
    case LIBXL_REC_TYPE.CHECKPOINT_END:
      if (body.length !== 0) throw new RecordError(`${name} record with non-zero length`, offset);
      return { type };
    case LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA: {
      const h = emulatorHeader(body, offset, name);
      return {
        type,
        ...h,
        entries: decodeXenstoreEntries(body.subarray(EMULATOR_HEADER_SIZE), offset),
      };
    }
    case LIBXL_REC_TYPE.EMULATOR_CONTEXT:
      return {
        type,
        ...emulatorHeader(body, offset, name),
        data: body.subarray(EMULATOR_HEADER_SIZE),
      };
    case LIBXL_REC_TYPE.CHECKPOINT_STATE:
      if (body.length !== CHECKPOINT_STATE_SIZE) {
        throw new RecordError(
          `${name}: expected ${CHECKPOINT_STATE_SIZE} bytes, got ${body.length}`,
          offset,
        );
      }
      return { type, controlId: new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true) };
    default:
      return { type, data: body, unknown: true };
  }
}

function withEmulatorHeader(emulatorId: number, index: number, rest: Uint8Array): Uint8Array {
  const body = new Uint8Array(EMULATOR_HEADER_SIZE + rest.length);
  const v = new DataView(body.buffer);
  v.setUint32(0, emulatorId, true);
  v.setUint32(4, index, true);
  body.set(rest, EMULATOR_HEADER_SIZE);
  return body;
}

/**
 * Encodes xenstore pairs as `key\0value\0...`.
 *
 * @example
 * ```ts
 * import { encodeXenstoreEntries } from "./records.ts";
 * console.assert(encodeXenstoreEntries([{ key: "a", value: "b" }]).length === 4);
 * ```
 */
export function encodeXenstoreEntries(entries: readonly XenstoreEntry[]): Uint8Array {
  if (entries.length === 0) return new Uint8Array(0);
  return utf8Encode.encode(entries.map((e) => `${e.key}\0${e.value}\0`).join(""));
}

/** Encodes the body (no header, no padding) of a libxl record. */
export function encodeLibxlBody(rec: LibxlRecord | UnknownLibxlRecord): Uint8Array {
  if ("unknown" in rec) return rec.data;
  switch (rec.type) {
    case LIBXL_REC_TYPE.END:
    case LIBXL_REC_TYPE.LIBXC_CONTEXT:
    case LIBXL_REC_TYPE.CHECKPOINT_END:
      return new Uint8Array(0);
    case LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA:
      return withEmulatorHeader(rec.emulatorId, rec.index, encodeXenstoreEntries(rec.entries));
    case LIBXL_REC_TYPE.EMULATOR_CONTEXT:
      return withEmulatorHeader(rec.emulatorId, rec.index, rec.data);
    case LIBXL_REC_TYPE.CHECKPOINT_STATE: {
      const body = new Uint8Array(CHECKPOINT_STATE_SIZE);
      new DataView(body.buffer).setUint32(0, rec.controlId, true);
      return body;
    }
  }
}

/**
 * Encodes a whole libxl record, padded to 8 octets.
 *
 * @example
 * ```ts
 * import { encodeLibxlRecord } from "./records.ts";
 * import { LIBXL_REC_TYPE } from "./constants.ts";
 * const rec = encodeLibxlRecord({ type: LIBXL_REC_TYPE.CHECKPOINT_STATE, controlId: 2 });
 * console.assert(rec.length === 16 && rec[8] === 2);
 * ```
 */
export function encodeLibxlRecord(rec: LibxlRecord | UnknownLibxlRecord): Uint8Array {
  return encodeRecord(rec.type, encodeLibxlBody(rec));
}
