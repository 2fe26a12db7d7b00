/**
 * What a REPL command is: its name, how it is used, its help, how its
 * arguments complete, and what it does to the session.
 *
 * @module
 */

import type { Reply } from "./reply.ts";
import type { ReplSession } from "./session.ts";

/** One command. */
export interface ReplCommand {
  /** Name typed. */
  name: string;
  /** Other names (e.g. `exit` for `quit`). */
  aliases?: readonly string[];
  /** Usage line, e.g. `until <condition>`. */
  usage: string;
  /** One line for `help`. */
  summary: string;
  /** More, for `help NAME` (may be empty). */
  details: string;
  /**
   * Candidates for the argument being typed: `before` are the complete
   * arguments so far, `partial` the one under the cursor.
   */
  complete?(session: ReplSession, before: readonly string[], partial: string): string[];
  /**
   * Runs it: `args` split on white space, `rest` the raw text after the
   * name.  Throws a `ReplError` for the user's mistakes.
   */
  run(session: ReplSession, args: readonly string[], rest: string): Promise<Reply>;
}
