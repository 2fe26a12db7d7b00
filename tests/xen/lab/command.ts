/**
 * Running host commands for the lab builder, with their output captured
 * and a failure message that names the command and quotes its stderr.
 *
 * @module
 */

/** Output of a finished command. */
export interface CommandOutput {
  /** Exit code. */
  code: number;
  /** Decoded stdout. */
  stdout: string;
  /** Decoded stderr. */
  stderr: string;
}

/** Options of {@linkcode runCommand}. */
export interface RunCommandOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Resolve with a non-zero code instead of throwing. */
  allowFailure?: boolean;
}

/**
 * Runs `cmd args...` to completion.  Throws (unless `allowFailure`) when it
 * cannot be started or exits non-zero, quoting the end of its stderr.
 */
export async function runCommand(
  cmd: string,
  args: string[],
  options: RunCommandOptions = {},
): Promise<CommandOutput> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (options.allowFailure) {
      return { code: 127, stdout: "", stderr: e instanceof Error ? e.message : String(e) };
    }
    throw new Error(`cannot run ${cmd}: ${e instanceof Error ? e.message : e}`);
  }
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (!out.success && !options.allowFailure) {
    const tail = result.stderr.trim().split("\n").slice(-8).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} exited with ${out.code}:\n${tail}`);
  }
  return result;
}

/** Whether an executable called `name` is on `PATH`. */
export async function haveCommand(name: string): Promise<boolean> {
  const r = await runCommand("sh", ["-c", `command -v ${name}`], { allowFailure: true });
  return r.code === 0;
}
