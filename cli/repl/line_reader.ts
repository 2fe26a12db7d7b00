/**
 * Lines from a byte stream, as they arrive (so commands piped into the
 * REPL run one by one, not after the pipe closes).
 *
 * @module
 */

/**
 * Splits `stream` into lines (without their `\n` / `\r\n`); a last line
 * without a newline is still a line.
 *
 * @example
 * ```ts
 * import { readLines } from "./line_reader.ts";
 * const stream = ReadableStream.from([new TextEncoder().encode("start\r\nst"), new TextEncoder().encode("ep\nquit")]);
 * const lines: string[] = [];
 * for await (const l of readLines(stream)) lines.push(l);
 * console.assert(lines.join("|") === "start|step|quit");
 * ```
 */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, nl).replace(/\r$/, "");
      pending = pending.slice(nl + 1);
    }
  }
  if (pending) yield pending.replace(/\r$/, "");
}
