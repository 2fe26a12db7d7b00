/**
 * Byte-level helpers for building test streams without the library's own
 * encoders, so the corpus is an independent oracle: `pack` mirrors Python's
 * `struct.pack` (the reference verifier's `unpack` formats read back what it
 * writes), `concat` joins pieces.
 *
 * @module
 */

/** A value for {@linkcode pack}: numbers, or bigints for 64-bit fields. */
export type PackValue = number | bigint;

const SIZES: Readonly<Record<string, number>> = { B: 1, H: 2, I: 4, Q: 8, x: 1 };

/**
 * Packs `values` per a `struct`-style format: a byte order (`<` little,
 * `>` / `!` big; default little), then `B` (u8), `H` (u16), `I` (u32),
 * `Q` (u64), `x` (a zero pad byte, takes no value), each optionally preceded
 * by a repeat count.
 *
 * @example
 * ```ts
 * import { pack } from "./bytes.ts";
 * console.assert(pack("<IH", 1, 2).join() === "1,0,0,0,2,0");
 * console.assert(pack("!Q", 1n)[7] === 1);
 * ```
 */
export function pack(format: string, ...values: PackValue[]): Uint8Array {
  let little = true;
  let fmt = format;
  if (/^[<>!=]/.test(fmt)) {
    little = fmt[0] === "<" || fmt[0] === "=";
    fmt = fmt.slice(1);
  }
  const codes: string[] = [];
  for (const m of fmt.matchAll(/(\d*)([BHIQx])/g)) {
    for (let i = 0; i < (m[1] ? Number(m[1]) : 1); i++) codes.push(m[2]);
  }
  const size = codes.reduce((n, c) => n + SIZES[c], 0);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let at = 0, vi = 0;
  for (const c of codes) {
    if (c !== "x" && vi >= values.length) throw new Error(`pack("${format}"): too few values`);
    const value = c === "x" ? 0 : values[vi++];
    switch (c) {
      case "B":
        v.setUint8(at, Number(value));
        break;
      case "H":
        v.setUint16(at, Number(value), little);
        break;
      case "I":
        v.setUint32(at, Number(value), little);
        break;
      case "Q":
        v.setBigUint64(at, BigInt(value), little);
        break;
    }
    at += SIZES[c];
  }
  if (vi !== values.length) throw new Error(`pack("${format}"): too many values`);
  return out;
}

/** Joins byte arrays into one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** ASCII/UTF-8 text as bytes. */
export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** `n` bytes of a recognisable pattern seeded by `seed` (never all zero). */
export function patterned(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 131 + i * 7 + 1) & 0xff;
  return out;
}

/** Rounds up to a multiple of 8, as record padding does. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}
