/**
 * `xenmig verify` of a stream dom0 exported to the share, run on the host:
 * plain (the verify-stream-v2 drop-in) and `--strict --json`.
 *
 * @module
 */

import { join } from "node:path";
import type { VerifyFacts } from "../common/observations.ts";
import type { CommandRecord } from "../common/protocol.ts";
import { runCommand } from "./command.ts";
import { PROJECT_ROOT } from "./paths.ts";

async function xenmigVerify(args: string[]): Promise<CommandRecord & { out: string }> {
  const t0 = performance.now();
  const r = await runCommand(
    Deno.execPath(),
    ["run", "-A", join(PROJECT_ROOT, "cli", "main.ts"), "verify", ...args],
    { allowFailure: true, cwd: PROJECT_ROOT },
  );
  const tail = (s: string) => s.trimEnd().split("\n").slice(-30).join("\n");
  return {
    cmd: `xenmig verify ${args.join(" ")}`,
    rc: r.code,
    seconds: (performance.now() - t0) / 1000,
    stdout: tail(r.stdout),
    stderr: tail(r.stderr),
    out: r.stdout,
  };
}

/** Verifies `file` (an xl save file or migration capture) both ways. */
export async function verifyOnHost(file: string): Promise<VerifyFacts> {
  const plain = await xenmigVerify(["-f", "xl", "-i", file]);
  const { out, ...strict } = await xenmigVerify(["-f", "xl", "--strict", "--json", "-i", file]);
  let summary: VerifyFacts["summary"];
  try {
    summary = JSON.parse(out);
  } catch {
    summary = undefined;
  }
  const { out: _, ...plainRecord } = plain;
  return { plain: plainRecord, strict, summary };
}
