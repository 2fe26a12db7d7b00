/**
 * The command-line parser: parseArgs' strict rules, optparse's messages.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type OptionSpec, parseOptions } from "../../cli/options.ts";

const SPECS: Record<string, OptionSpec> = {
  verbose: { type: "boolean", short: "v", help: "" },
  quiet: { type: "boolean", short: "q", help: "" },
  format: { type: "string", short: "f", choices: ["libxc", "xl"], default: "xl", help: "" },
  out: { type: "string", short: "o", help: "" },
  tag: { type: "string", multiple: true, help: "" },
};

Deno.test("options: long, short, attached and separate values, clusters, defaults", () => {
  const { values, positionals } = parseOptions(
    ["-vq", "--out=a", "-flibxc", "--tag", "x", "--tag=y", "dom", "file"],
    SPECS,
    true,
  );
  assert.deepEqual({ ...values }, {
    verbose: true,
    quiet: true,
    out: "a",
    format: "libxc",
    tag: ["x", "y"],
  });
  assert.deepEqual(positionals, ["dom", "file"]);
  const d = parseOptions(["-o", "-", "-v"], SPECS);
  assert.equal(d.values.format, "xl", "default");
  assert.equal(d.values.out, "-", "a lone dash is a value");
  assert.equal(d.values.quiet, undefined, "an absent flag without default");
  assert.deepEqual(parseOptions(["--", "-v", "--x"], SPECS, true).positionals, ["-v", "--x"]);
  assert.deepEqual(parseOptions(["-vo", "f"], SPECS).values.out, "f", "value after a cluster");
  assert.equal(parseOptions(["--out="], SPECS).values.out, "", "an empty value");
});

Deno.test("options: usage errors in optparse's words", () => {
  for (
    const [args, message, positionals] of [
      [["--bogus"], "no such option: --bogus"],
      [["-x"], "no such option: -x"],
      [["-vx"], "no such option: -x"],
      [["-f"], "-f option requires an argument"],
      [["--out"], "--out option requires an argument"],
      [["--verbose=1"], "--verbose option does not take a value"],
      [["-f", "json"], "option -f/--format: invalid choice: 'json' (choose from 'libxc', 'xl')"],
      [["stray"], "unexpected argument 'stray'"],
      [["--", "stray"], "unexpected argument 'stray'"],
      [["--constructor"], "no such option: --constructor"],
      [["-f", "xl", "x"], "unexpected argument 'x'", false],
    ] as const
  ) {
    assert.throws(
      () => parseOptions([...args], SPECS, positionals ?? false),
      (e: Error) => e.name === "UsageError" && e.message === message,
      args.join(" "),
    );
  }
});
