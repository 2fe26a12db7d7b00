/**
 * Verification of the libxl layer, one verifier per record type, with the
 * checks, order and messages of Xen 4.17's `xen.migration.libxl` — except
 * where that is wrong under Python 3: it compares a byte with a str, so it
 * rejects every non-empty EMULATOR_XENSTORE_DATA record; here the record is
 * checked as the spec says (NUL-terminated key / value pairs).
 *
 * @module
 */

import { RecordError, StreamError } from "../errors.ts";
import {
  EMULATOR_HEADER_SIZE,
  EMULATOR_ID_TITLES,
  HDR_IDENT,
  HDR_OPT_RESZ_MASK,
  HDR_VERSION,
  LIBXL_REC_TYPE,
} from "../libxl/constants.ts";
import { type LibxlHeader, libxlIsBigEndian, libxlIsLegacy } from "../libxl/header.ts";
import { hex } from "./format.ts";
import type { Info } from "./libxc_verifier.ts";

/** Checks the libxl header; prints Xen's summary line. */
export function verifyLibxlHeader(h: LibxlHeader, info: Info, offset: number): void {
  const where = "libxl header";
  if (h.ident !== HDR_IDENT) {
    throw new StreamError(
      `Bad image id: Expected 0x${hex(HDR_IDENT)}, got 0x${hex(h.ident)}`,
      offset,
      where,
    );
  }
  if (h.version !== HDR_VERSION) {
    throw new StreamError(
      `Unknown image version: Expected ${HDR_VERSION}, got ${h.version}`,
      offset,
      where,
    );
  }
  if (h.options & HDR_OPT_RESZ_MASK) {
    throw new StreamError(
      `Reserved bits set in image options field: 0x${hex(h.options & HDR_OPT_RESZ_MASK)}`,
      offset,
      where,
    );
  }
  if (libxlIsBigEndian(h)) {
    throw new StreamError("Stream is not native endianess - unable to validate", offset, where);
  }
  info(
    libxlIsLegacy(h)
      ? "Libxl Header: little endian, legacy converted"
      : "Libxl Header: little endian",
  );
}

/** What a libxl record verifier gets. */
export interface LibxlVerifyState {
  /** Verbose output. */
  info: Info;
  /** Offset of the record (for errors). */
  offset: number;
  /** Name of the record (for errors). */
  where: string;
}

type Verifier = (s: LibxlVerifyState, body: Uint8Array) => void;

function recErr(s: LibxlVerifyState, msg: string): RecordError {
  return new RecordError(msg, s.offset, s.where);
}

function zeroLength(what: string): Verifier {
  return (s, body) => {
    if (body.length !== 0) throw recErr(s, `${what} record with non-zero length`);
  };
}

function emulatorHeader(s: LibxlVerifyState, body: Uint8Array): { id: string; idx: number } {
  if (body.length < EMULATOR_HEADER_SIZE) {
    throw recErr(s, `Length must be at least ${EMULATOR_HEADER_SIZE} bytes, got ${body.length}`);
  }
  const v = new DataView(body.buffer, body.byteOffset, EMULATOR_HEADER_SIZE);
  const emuId = v.getUint32(0, true);
  const id = EMULATOR_ID_TITLES[emuId];
  if (id === undefined) throw recErr(s, `Unrecognised emulator id 0x${hex(emuId)}`);
  return { id, idx: v.getUint32(4, true) };
}

function verifyEmulatorXenstoreData(s: LibxlVerifyState, body: Uint8Array): void {
  const { id, idx } = emulatorHeader(s, body);
  s.info(`Emulator Xenstore Data (${id}, idx ${idx})`);
  const data = body.subarray(EMULATOR_HEADER_SIZE);
  if (data.length === 0) return;
  if (data[data.length - 1] !== 0) throw recErr(s, "Data not NUL terminated");
  // Keys and values are printed as Python 2 would have: raw text.
  const parts = new TextDecoder().decode(data.subarray(0, data.length - 1)).split("\0");
  if (parts.length % 2 !== 0) {
    throw recErr(s, `Expected an even number of strings, got ${parts.length}`);
  }
  for (let i = 0; i < parts.length; i += 2) s.info(`  '${parts[i]}' = '${parts[i + 1]}'`);
}

function verifyEmulatorContext(s: LibxlVerifyState, body: Uint8Array): void {
  const { id, idx } = emulatorHeader(s, body);
  s.info(`  Index ${idx}, type ${id}`);
}

function verifyCheckpointState(s: LibxlVerifyState, body: Uint8Array): void {
  if (body.length === 0) throw recErr(s, "Checkpoint state record with zero length");
}

/** One verifier per libxl record type; LIBXC_CONTEXT's libxc stream is verified by the caller. */
export const LIBXL_RECORD_VERIFIERS: Readonly<Record<number, Verifier>> = {
  [LIBXL_REC_TYPE.END]: zeroLength("End"),
  [LIBXL_REC_TYPE.LIBXC_CONTEXT]: zeroLength("Libxc context"),
  [LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA]: verifyEmulatorXenstoreData,
  [LIBXL_REC_TYPE.EMULATOR_CONTEXT]: verifyEmulatorContext,
  [LIBXL_REC_TYPE.CHECKPOINT_END]: zeroLength("Checkpoint end"),
  [LIBXL_REC_TYPE.CHECKPOINT_STATE]: verifyCheckpointState,
};
