/**
 * Test support for the legacy converter: runs Xen's `convert-legacy-stream`
 * and `verify-stream-v2` (as shipped, and with the Python 3 fixes the
 * comparisons need) and ours, on files, and collects exit codes and output.
 *
 * The fixes applied to private copies of Xen's Python, never to the
 * reference itself:
 *
 * - converter `-x`: `skip_xl_header()` compares the magic (bytes) with a
 *   `str`, so it rejects every xl header; the fix compares bytes.
 * - converter physmap names: it decodes names as UTF-8 to print them (even
 *   without `-v`) and crashes on other octets; the fix decodes with
 *   `backslashreplace`.
 * - verifier EMULATOR_XENSTORE_DATA: it compares the last octet (an int)
 *   with `'\x00'` (a str), so it rejects every non-empty record as "Data not
 *   NUL terminated"; the fix compares bytes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bytesSource } from "../../lib/io/byte_source.ts";
import { type VerifyResult, verifyStream } from "../../lib/verify/verify_stream.ts";
import { type XenReference, xenReference } from "../support/xen_packages.ts";

/** Repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Our drop-in script. */
export const OUR_SCRIPT = join(ROOT, "scripts", "convert-legacy-stream.ts");

/** The reference, or why it is unavailable (tests then `ignore:` visibly). */
export const REF: XenReference | string = await xenReference();

/** A finished process. */
export interface Proc {
  /** Exit code. */
  code: number;
  /** Standard output, as text. */
  stdout: string;
  /** Standard error, as text. */
  stderr: string;
}

const text = new TextDecoder();

/** Runs a command to completion. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: Uint8Array } = {},
): Promise<Proc> {
  const child = new Deno.Command(cmd, {
    args,
    env: opts.env,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin).catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await child.output();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Runs our `convert-legacy-stream` with `args`. */
export function runOurs(args: string[], stdin?: Uint8Array): Promise<Proc> {
  return run(Deno.execPath(), ["run", "-A", OUR_SCRIPT, ...args], { stdin });
}

/** Private copies of Xen's tools with the Python 3 fixes. */
export interface PatchedXen {
  /** Converter with the `-x` fix. */
  convertXl: string;
  /** Converter with the physmap-name fix. */
  convertUtf8: string;
  /** `PYTHONPATH` whose `xen.migration.libxl` has the verifier fix. */
  pythonPath: string;
}

function patch(source: string, from: string, to: string): string {
  if (!source.includes(from)) throw new Error(`patch target not found: ${from}`);
  return source.replace(from, to);
}

let patched: Promise<PatchedXen> | undefined;

/** Makes (once per process) the patched copies of Xen's tools. */
export function patchedXen(ref: XenReference): Promise<PatchedXen> {
  patched ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "xenmig-patched-xen-" });
    const convert = await Deno.readTextFile(ref.convertLegacyStream);
    const convertXl = join(dir, "convert-legacy-stream-xl");
    await Deno.writeTextFile(
      convertXl,
      patch(convert, "if hdr != xl.MAGIC:", 'if hdr != xl.MAGIC.encode("latin-1"):'),
    );
    const convertUtf8 = join(dir, "convert-legacy-stream-utf8");
    await Deno.writeTextFile(
      convertUtf8,
      patch(
        convert,
        "(key.decode(), val.decode())",
        '(key.decode(errors="backslashreplace"), val.decode(errors="backslashreplace"))',
      ),
    );
    const pythonPath = join(dir, "python");
    await new Deno.Command("cp", { args: ["-r", ref.pythonPath, pythonPath] }).output();
    const libxlPy = join(pythonPath, "xen", "migration", "libxl.py");
    let libxl = await Deno.readTextFile(libxlPy);
    libxl = patch(libxl, "if content[-1] != '\\x00':", "if content[-1:] != b'\\x00':");
    libxl = patch(
      libxl,
      'parts = content[:-1].split("\\x00")',
      'parts = content[:-1].split(b"\\x00")',
    );
    await Deno.writeTextFile(libxlPy, libxl);
    return { convertXl, convertUtf8, pythonPath };
  })();
  return patched;
}

/** Runs Xen's converter (or a patched copy) with `args`. */
export async function runXen(
  ref: XenReference,
  args: string[],
  fix?: "xl" | "utf8",
  stdin?: Uint8Array,
): Promise<Proc> {
  const script = fix === undefined
    ? ref.convertLegacyStream
    : fix === "xl"
    ? (await patchedXen(ref)).convertXl
    : (await patchedXen(ref)).convertUtf8;
  return run("python3", [script, ...args], { env: { PYTHONPATH: ref.pythonPath }, stdin });
}

/** Runs Xen's `verify-stream-v2` on a file; `fixed` uses the verifier fix. */
export async function xenVerify(
  ref: XenReference,
  file: string,
  format: "libxc" | "libxl" | "xl",
  fixed = false,
): Promise<Proc> {
  const pythonPath = fixed ? (await patchedXen(ref)).pythonPath : ref.pythonPath;
  return run("python3", [ref.verifyStreamV2, "-f", format, "-i", file], {
    env: { PYTHONPATH: pythonPath },
  });
}

/** Runs our verifier on bytes. */
export function ourVerify(
  bytes: Uint8Array,
  format: "libxc" | "libxl" | "xl",
): Promise<VerifyResult> {
  return verifyStream(bytesSource(bytes), { format });
}

/** Writes bytes to a new temporary file. */
export async function tempFile(bytes: Uint8Array, dir?: string): Promise<string> {
  const path = await Deno.makeTempFile({ dir, prefix: "legacy-", suffix: ".img" });
  await Deno.writeFile(path, bytes);
  return path;
}

/** Reads a file, or `undefined` when it does not exist. */
export async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Whether `a` and `b` hold the same octets; on a difference, where. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? undefined : n;
}

/** Whether a libxl stream (or xl file) holds a non-empty EMULATOR_XENSTORE_DATA record. */
export async function hasXenstoreData(bytes: Uint8Array, format: "libxl" | "xl"): Promise<boolean> {
  const { StreamParser } = await import("../../lib/stream_parser.ts");
  for await (const ev of new StreamParser(bytesSource(bytes), { format }).events()) {
    if (ev.kind === "record" && ev.layer === "libxl" && ev.type === 2 && ev.length > 8) return true;
  }
  return false;
}

/** Asserts both verifiers accept `file` (with Xen's xenstore bug accounted for). */
export async function assertVerifies(
  ref: XenReference,
  file: string,
  bytes: Uint8Array,
  format: "libxc" | "libxl" | "xl",
  what: string,
): Promise<void> {
  const ours = await ourVerify(bytes, format);
  assert.equal(ours.exitCode, 0, `${what}: our verifier: ${ours.error?.message}`);
  const xen = await xenVerify(ref, file, format);
  if (format !== "libxc" && await hasXenstoreData(bytes, format)) {
    // Known Python 3 bug in Xen's verifier: any non-empty xenstore data fails.
    assert.equal(xen.code, 1, `${what}: Xen's verifier was expected to hit its xenstore bug`);
    assert.ok(xen.stderr.includes("Data not NUL terminated"), `${what}: ${xen.stderr}`);
    const fixed = await xenVerify(ref, file, format, true);
    assert.equal(fixed.code, 0, `${what}: Xen's verifier (xenstore fix): ${fixed.stderr}`);
  } else {
    assert.equal(xen.code, 0, `${what}: Xen's verifier: ${xen.stderr}`);
  }
}

/** The skip reason, or `false` when the reference is there. */
export const IGNORE_WITHOUT_XEN: boolean = typeof REF === "string";

if (IGNORE_WITHOUT_XEN) {
  console.warn(`Xen reference unavailable (${REF}): differential tests ignored`);
}
