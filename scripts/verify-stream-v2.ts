#!/usr/bin/env -S deno run --allow-read --allow-run=logger
/**
 * Drop-in replacement for Xen's `verify-stream-v2`: same flags
 * (`-i/--in`, `-v`, `-q`, `-f libxc|libxl|xl`, `--syslog`), same verbose
 * output and exit codes, plus `--strict` and `--json`.
 *
 * @module
 */

import { verifyCommand } from "../cli/verify.ts";

if (import.meta.main) {
  Deno.exit(await verifyCommand(Deno.args, "verify-stream-v2"));
}
