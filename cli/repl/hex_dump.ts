/**
 * `inspect`'s hex dump, laid out like `hexdump -C`: offset, 16 bytes in two
 * groups of 8, the printable characters, and `*` for repeated lines.
 *
 * @module
 */

/**
 * Formats `bytes` (addresses start at `base`).
 *
 * @example
 * ```ts
 * import { hexDump } from "./hex_dump.ts";
 * const text = hexDump(new Uint8Array(64).fill(0x41));
 * console.assert(text.split("\n")[0] === "00000000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|");
 * console.assert(text.split("\n")[1] === "*");
 * console.assert(text.split("\n")[2] === "00000040");
 * ```
 */
export function hexDump(bytes: Uint8Array, base = 0): string {
  const lines: string[] = [];
  let previous: string | undefined;
  let starred = false;
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
    const key = hex.join(" ");
    if (key === previous && row.length === 16) {
      if (!starred) lines.push("*");
      starred = true;
      continue;
    }
    previous = key;
    starred = false;
    const left = hex.slice(0, 8).join(" ").padEnd(23);
    const right = hex.slice(8).join(" ").padEnd(23);
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "."))
      .join("");
    lines.push(`${(base + at).toString(16).padStart(8, "0")}  ${left}  ${right}  |${text}|`);
  }
  lines.push((base + bytes.length).toString(16).padStart(8, "0"));
  return lines.join("\n");
}
