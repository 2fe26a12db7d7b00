/**
 * The wrappers around a libxc stream, as `xl save` writes them: the xl
 * save-file header (carrying the domain configuration), the libxl header
 * and its records around the libxc stream, and the libxc headers.
 *
 * @module
 */

import { DHDR_TYPE, REC_TYPE } from "../libxc/constants.ts";
import { encodeDomainHeader } from "../libxc/domain_header.ts";
import { encodeImageHeader } from "../libxc/image_header.ts";
import { encodeLibxcRecord } from "../libxc/records.ts";
import { EMULATOR_ID, LIBXL_REC_TYPE } from "../libxl/constants.ts";
import { encodeLibxlHeader } from "../libxl/header.ts";
import { encodeLibxlRecord, type XenstoreEntry } from "../libxl/records.ts";
import {
  encodeXlConfigData,
  encodeXlHeader,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMV2,
} from "../xl/header.ts";

/** The outermost layer a save writes. */
export type SaveFormat = "xl" | "libxl" | "libxc";

/** Emulator state to carry in the libxl layer (HVM guests with a device model). */
export interface EmulatorState {
  /** `EMULATOR_ID_*` (default qemu upstream). */
  emulatorId?: number;
  /** Xenstore keys of the emulator. */
  xenstore?: XenstoreEntry[];
  /** The device model's saved state. */
  context?: Uint8Array;
}

/** Bytes before the libxc image header: xl header, libxl header, LIBXC_CONTEXT. */
export function streamPrologue(format: SaveFormat, configJson: string): Uint8Array {
  const parts: Uint8Array[] = [];
  if (format === "xl") {
    parts.push(encodeXlHeader(
      { mandatoryFlags: XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2 },
      encodeXlConfigData(configJson + "\0"),
    ));
  }
  if (format !== "libxc") {
    parts.push(encodeLibxlHeader({}), encodeLibxlRecord({ type: LIBXL_REC_TYPE.LIBXC_CONTEXT }));
  }
  return concat(parts);
}

/** The libxc image and domain headers of an HVM stream from Xen 4.17. */
export function libxcHeaders(): Uint8Array {
  return concat([
    encodeImageHeader({ version: 3 }),
    encodeDomainHeader({ type: DHDR_TYPE.X86_HVM, xenMajor: 4, xenMinor: 17 }),
  ]);
}

/** Bytes after the libxc END: emulator records (if any) and the libxl END. */
export function streamEpilogue(format: SaveFormat, emulator?: EmulatorState): Uint8Array {
  if (format === "libxc") return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  const emulatorId = emulator?.emulatorId ?? EMULATOR_ID.QEMU_UPSTREAM;
  if (emulator?.xenstore) {
    parts.push(encodeLibxlRecord({
      type: LIBXL_REC_TYPE.EMULATOR_XENSTORE_DATA,
      emulatorId,
      index: 0,
      entries: emulator.xenstore,
    }));
  }
  if (emulator?.context) {
    parts.push(encodeLibxlRecord({
      type: LIBXL_REC_TYPE.EMULATOR_CONTEXT,
      emulatorId,
      index: 0,
      data: emulator.context,
    }));
  }
  parts.push(encodeLibxlRecord({ type: LIBXL_REC_TYPE.END }));
  return concat(parts);
}

/** The libxc END record. */
export function libxcEnd(): Uint8Array {
  return encodeLibxcRecord({ type: REC_TYPE.END });
}

/**
 * Concatenates byte arrays.
 *
 * @example
 * ```ts
 * import { concat } from "./stream_layers.ts";
 * console.assert(concat([new Uint8Array([1]), new Uint8Array([2, 3])]).length === 3);
 * ```
 */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
