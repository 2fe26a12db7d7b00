/**
 * The REPL's escape hatch into JavaScript/TypeScript: `eval EXPR` and
 * `policy EXPR` compile what the user typed into a function of named
 * bindings.  Plain JavaScript is compiled with the `Function` constructor;
 * text that is not JavaScript but TypeScript (type annotations, `as`, `!`)
 * is transpiled by Deno itself, by importing it as a `data:` module.  This
 * runs the user's own code with the REPL's permissions, as a debugger's
 * expression evaluator does; it is never used for `until` conditions.
 *
 * @module
 */

/** Compiled user code: call with the bindings' values, in order. */
export type UserFunction = (...args: unknown[]) => unknown;

/** Code that neither JavaScript nor TypeScript accepts. */
export class UserCodeError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UserCodeError";
  }
}

// deno-lint-ignore no-explicit-any
const AsyncFunction = (async () => {}).constructor as any;

/** Options of {@linkcode compileUserCode}. */
export interface CompileOptions {
  /** Allow `await` (the function returns a promise). Default false. */
  async?: boolean;
  /** Also accept statements (`let x = 1; return x`) when not an expression. Default false. */
  statements?: boolean;
}

function tryJs(params: readonly string[], body: string, async: boolean): UserFunction | Error {
  try {
    return async
      ? new AsyncFunction(...params, body)
      : new Function(...params, body) as UserFunction;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

async function tryTs(
  params: readonly string[],
  body: string,
  async: boolean,
): Promise<UserFunction | Error> {
  const src = `export default ${async ? "async " : ""}function (${
    params.join(", ")
  }) {\n${body}\n}\n`;
  const url = `data:application/typescript,${encodeURIComponent(src)}`;
  try {
    const mod = await import(url);
    return mod.default as UserFunction;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * Compiles `source` (an expression, or with `statements` a function body)
 * into a function of `params`.  Throws {@linkcode UserCodeError} with
 * JavaScript's message when it is neither valid JavaScript nor TypeScript.
 *
 * @example
 * ```ts
 * import { compileUserCode } from "./user_code.ts";
 * const js = await compileUserCode("s.dirtyCount < 50", ["s"]);
 * console.assert(js({ dirtyCount: 10 }) === true);
 * const ts = await compileUserCode("(s.dirtyCount as number) * 2", ["s"]);
 * console.assert(ts({ dirtyCount: 21 }) === 42);
 * ```
 */
export async function compileUserCode(
  source: string,
  params: readonly string[],
  options: CompileOptions = {},
): Promise<UserFunction> {
  const async = options.async ?? false;
  const text = source.trim();
  if (!text) throw new UserCodeError("nothing to evaluate");
  const bodies = [`return (${text}\n);`];
  if (options.statements) bodies.push(text);
  let first: Error | undefined;
  for (const body of bodies) {
    const js = tryJs(params, body, async);
    if (typeof js === "function") return js;
    first ??= js;
  }
  for (const body of bodies) {
    const ts = await tryTs(params, body, async);
    if (typeof ts === "function") return ts;
  }
  throw new UserCodeError(`not a JavaScript/TypeScript expression: ${first?.message}`);
}
