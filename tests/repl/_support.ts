/**
 * Test support for the REPL: an in-process session on the simulator whose
 * output is collected, and a helper that runs a line and insists on its
 * outcome.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseTarget } from "../../lib/engine/transport.ts";
import { openHypervisor } from "../../lib/xen/open.ts";
import type { HypervisorSession } from "../../lib/xen/open.ts";
import type { Reply } from "../../cli/repl/reply.ts";
import { ReplSession } from "../../cli/repl/session.ts";

/** The project root. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));
/** The `xenmig` command. */
export const XENMIG: string = `${ROOT}cli/main.ts`;

/** An in-process REPL on a simulated guest. */
export interface TestRepl extends AsyncDisposable {
  /** The session. */
  session: ReplSession;
  /** The backend (simulator). */
  backend: HypervisorSession;
  /** The simulated guest. */
  domid: number;
  /** Progress lines said so far. */
  said: string[];
  /** Runs `line`; asserts it succeeded; returns the reply. */
  ok(line: string): Promise<Reply>;
  /** Runs `line`; asserts it failed with one line; returns the message. */
  fails(line: string): Promise<string>;
}

/** Opens a REPL session on a new simulated guest of `spec`, attached. */
export async function testRepl(
  spec: string,
  options: {
    to?: string;
    keepSource?: boolean;
    /** Don't attach (the test attaches once its receiver listens). */
    noAttach?: boolean;
    /** Sees each progress line (e.g. to press Ctrl-C after a few). */
    onSay?: (line: string, session: ReplSession) => void;
  } = {},
): Promise<TestRepl> {
  const backend = await openHypervisor({ sim: spec });
  const said: string[] = [];
  const session = new ReplSession({
    backend,
    target: options.to ? parseTarget(options.to) : undefined,
    keepSource: options.keepSource,
    say: (line) => {
      said.push(line);
      options.onSay?.(line, session);
    },
  });
  const run = async (line: string) => {
    const o = await session.execute(line);
    assert.ok(o, `'${line}' gave no outcome`);
    return o;
  };
  const t: TestRepl = {
    session,
    backend,
    domid: backend.domid!,
    said,
    async ok(line) {
      const o = await run(line);
      assert.ok(o.ok, `'${line}' failed: ${o.ok ? "" : o.error}`);
      return o.reply;
    },
    async fails(line) {
      const o = await run(line);
      assert.ok(!o.ok, `'${line}' should have failed`);
      assert.ok(!o.error.includes("\n"), `one line, got: ${o.error}`);
      assert.doesNotMatch(o.error, /^\s+at /m, "no stack trace");
      return o.error;
    },
    async [Symbol.asyncDispose]() {
      await session.cleanup();
      backend.close();
    },
  };
  if (!options.noAttach) await t.ok(`attach ${t.domid}`);
  return t;
}
