/**
 * Test helper (not product code): copies stdin to stdout with
 * `FdInput.transferTo` into an `FdOutput`, i.e. with `splice` when they are
 * pipes.
 *
 * @module
 */

import { FdInput } from "../../lib/legacy/fd_input.ts";
import { FdOutput } from "../../lib/legacy/fd_output.ts";
import { enlargePipe, libc } from "../../lib/legacy/libc.ts";

const c = libc()!;
enlargePipe(0);
const input = new FdInput(c, 0);
const output = new FdOutput(c, 1);
await input.peek(100); // Some octets come from the look-ahead.
for (;;) {
  const head = await input.peek(1);
  if (head.length === 0) break;
  try {
    await input.transferTo(1 << 20, output, "copy");
  } catch {
    break; // The last piece is shorter: truncation is the end here.
  }
}
await output.close();
