/**
 * The interactive console on a terminal, on `node:readline` (Deno's port of
 * Node's line editor: cursor keys, Emacs bindings, history, completion —
 * no second line editor to maintain).  Ctrl-C stops a running `run` /
 * `until` after its current iteration and otherwise clears the line; Ctrl-D
 * leaves, asking first while a migration is active or the guest is held
 * paused.  History persists through {@linkcode History}.
 *
 * @module
 */

import process from "node:process";
import * as readline from "node:readline";
import { completeLine } from "./completion.ts";
import type { History } from "./history.ts";
import { type OutputStreams, printOutcome } from "./printer.ts";
import type { ReplSession } from "./session.ts";

/** Options of {@linkcode TerminalConsole}. */
export interface TerminalOptions {
  /** Persisted history, if any. */
  history?: History;
  /** One JSON object per command. */
  json: boolean;
  /** Where output goes. */
  streams: OutputStreams;
}

/** The prompt: `xenmig 7:precopy> `. */
export function promptFor(session: ReplSession): string {
  if (session.domid === undefined) return "xenmig> ";
  const phase = session.migration?.engine.phase;
  return `xenmig ${session.domid}${phase && phase !== "new" ? `:${phase}` : ""}> `;
}

/** One readline interface's worth of input: lines, Ctrl-C, questions. */
class LineEditor {
  readonly rl: readline.Interface;
  #lines: string[] = [];
  #wake?: () => void;
  #closed = false;
  #question?: (answer: string | undefined) => void;
  busy = false;

  constructor(session: ReplSession, history: string[], streams: OutputStreams) {
    this.rl = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: true,
      history,
      historySize: 1000,
      removeHistoryDuplicates: true,
      completer: (line: string) => completeLine(line, session),
    });
    this.rl.on("line", (line: string) => {
      if (this.#question) {
        const answer = this.#question;
        this.#question = undefined;
        answer(line);
        return;
      }
      this.#lines.push(line);
      this.#wake?.();
    });
    this.rl.on("close", () => {
      this.#closed = true;
      this.#question?.(undefined);
      this.#question = undefined;
      this.#wake?.();
    });
    this.rl.on("SIGINT", () => {
      if (this.#question) {
        streams.out("^C\n");
        const answer = this.#question;
        this.#question = undefined;
        answer(undefined);
      } else if (this.busy) {
        session.interrupt();
        streams.out("^C (stopping after this iteration)\n");
      } else {
        // Drop what was typed, as a shell does.
        this.rl.write(null, { ctrl: true, name: "e" });
        this.rl.write(null, { ctrl: true, name: "u" });
        streams.out("^C ('quit' or Ctrl-D leaves)\n");
        this.rl.setPrompt(promptFor(session));
        this.rl.prompt();
      }
    });
  }

  /** The next line, or undefined after Ctrl-D. */
  async next(): Promise<string | undefined> {
    while (!this.#lines.length && !this.#closed) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    return this.#lines.shift();
  }

  /** Asks `question`; true for y/yes; false for anything else, Ctrl-C or Ctrl-D. */
  ask(question: string): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#question = (answer) => resolve(answer !== undefined && /^\s*y(es)?\s*$/i.test(answer));
      this.rl.setPrompt(question);
      this.rl.prompt();
    });
  }

  close(): void {
    if (!this.#closed) this.rl.close();
  }
}

/**
 * Runs the console until `quit` or Ctrl-D; resolves to the exit code.
 */
export async function runTerminal(session: ReplSession, options: TerminalOptions): Promise<number> {
  const { streams } = options;
  let editor: LineEditor | undefined;
  const confirm = (q: string) => editor ? editor.ask(q) : Promise.resolve(false);
  session.setConfirm(confirm);
  try {
    for (;;) {
      editor = new LineEditor(session, options.history?.newestFirst() ?? [], streams);
      for (;;) {
        editor.rl.setPrompt(promptFor(session));
        editor.rl.prompt();
        const line = await editor.next();
        if (line === undefined) break;
        const saveError = await options.history?.add(line);
        if (saveError) streams.err(`warning: ${saveError}\n`);
        editor.busy = true;
        const outcome = await session.execute(line).finally(() => (editor!.busy = false));
        if (!outcome) continue;
        printOutcome(outcome, options.json, streams);
        if (outcome.ok && outcome.reply.exit) {
          editor.close();
          return 0;
        }
      }
      // Ctrl-D.
      streams.out("\n");
      const problems = session.quitProblems();
      if (problems.length) {
        editor = new LineEditor(session, [], streams);
        const yes = await editor.ask(
          `${problems.join("; ")}. Abort/resume and quit? [y/N] `,
        );
        editor.close();
        if (!yes) {
          streams.out("not quitting\n");
          continue;
        }
      }
      for (const line of await session.cleanup()) streams.out(line + "\n");
      return 0;
    }
  } finally {
    editor?.close();
    session.setConfirm(undefined);
  }
}
