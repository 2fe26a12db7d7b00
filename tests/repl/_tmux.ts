/**
 * A real pseudo-terminal for tests: a program run in a detached tmux
 * session (on a private tmux server), keys sent with `send-keys`, the
 * screen read with `capture-pane`.  tmux is installed with apt when
 * missing and possible; otherwise {@linkcode tmuxAvailable} says why not,
 * so the tests that need it are skipped visibly.
 *
 * @module
 */

const decoder = new TextDecoder();

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return { ok: o.success, out: decoder.decode(o.stdout) + decoder.decode(o.stderr) };
  } catch (e) {
    return { ok: false, out: e instanceof Error ? e.message : String(e) };
  }
}

/** True when tmux runs (installing it with apt-get if missing), else why not. */
export async function tmuxAvailable(): Promise<true | string> {
  if ((await run("tmux", ["-V"])).ok) return true;
  if (Deno.uid() !== 0) return "tmux is not installed and this user cannot apt-get install it";
  let install = await run("apt-get", ["install", "-y", "-q", "tmux"]);
  if (!install.ok) {
    await run("apt-get", ["update", "-q"]);
    install = await run("apt-get", ["install", "-y", "-q", "tmux"]);
  }
  if (!install.ok || !(await run("tmux", ["-V"])).ok) {
    return `tmux missing and apt-get install failed: ${install.out.trim().split("\n").pop()}`;
  }
  return true;
}

let counter = 0;

/** A program on a tmux pseudo-terminal. */
export class TmuxPane implements AsyncDisposable {
  #socket: string;
  #name: string;

  private constructor(socket: string, name: string) {
    this.#socket = socket;
    this.#name = name;
  }

  /**
   * Runs `command` (a shell command line) in a new `width` x `height`
   * terminal; when it exits, the pane shows `[exit CODE]` and stays.
   */
  static async start(
    command: string,
    options: { env?: Record<string, string>; width?: number; height?: number; cwd?: string } = {},
  ): Promise<TmuxPane> {
    const socket = `xenmig-test-${Deno.pid}-${counter++}`;
    const name = "t";
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)}`).join(
      " ",
    );
    const script = `${env ? `export ${env}; ` : ""}${command}; echo "[exit $?]"; sleep 600`;
    const r = await run("tmux", [
      "-L",
      socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(options.width ?? 80),
      "-y",
      String(options.height ?? 24),
      ...(options.cwd ? ["-c", options.cwd] : []),
      "sh",
      "-c",
      script,
    ]);
    if (!r.ok) throw new Error(`tmux new-session failed: ${r.out}`);
    return new TmuxPane(socket, name);
  }

  async #tmux(...args: string[]): Promise<string> {
    const r = await run("tmux", ["-L", this.#socket, ...args]);
    if (!r.ok) throw new Error(`tmux ${args[0]} failed: ${r.out}`);
    return r.out;
  }

  /** Types `text` literally (no key names). */
  async type(text: string): Promise<void> {
    await this.#tmux("send-keys", "-t", this.#name, "-l", text);
  }

  /** Presses keys by tmux name: `Enter`, `Tab`, `C-c`, `C-d`, `Up`. */
  async press(...keys: string[]): Promise<void> {
    await this.#tmux("send-keys", "-t", this.#name, ...keys);
  }

  /**
   * Everything on the pane, scrollback included, each line without its
   * trailing blanks (so a prompt reads `xenmig 1>`), no trailing blank lines.
   */
  async screen(): Promise<string> {
    const text = await this.#tmux("capture-pane", "-p", "-J", "-t", this.#name, "-S", "-");
    return text.split("\n").map((l) => l.trimEnd()).join("\n").replace(/\n+$/, "");
  }

  /** Only the visible part of the pane. */
  async visible(): Promise<string[]> {
    return (await this.#tmux("capture-pane", "-p", "-t", this.#name)).split("\n");
  }

  /**
   * Waits until the screen satisfies `test` (a pattern, or a predicate);
   * returns the screen.  The bound is a hang guard, not a timing assertion.
   */
  async waitFor(
    test: RegExp | ((screen: string) => boolean),
    what: string,
    limitMs = 60_000,
  ): Promise<string> {
    const ok = typeof test === "function" ? test : (s: string) => test.test(s);
    const start = Date.now();
    for (;;) {
      const screen = await this.screen();
      if (ok(screen)) return screen;
      if (Date.now() - start > limitMs) {
        throw new Error(`gave up waiting for ${what}; the screen:\n${screen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Ends the tmux server and the program. */
  async [Symbol.asyncDispose](): Promise<void> {
    await run("tmux", ["-L", this.#socket, "kill-server"]);
  }
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
