#!/usr/bin/env -S deno run --allow-read --allow-write --allow-ffi --allow-run=logger
/**
 * Drop-in replacement for Xen's `convert-legacy-stream`: same flags
 * (`-i/--in`, `-o/--out`, `-w/--width`, `-g/--guest-type`, `-f/--format`,
 * `-v`, `-x/--xl`, `--skip-qemu`, `--syslog`, `--version`), same exit codes,
 * byte-identical output — with `-w` and `-g` optional.
 *
 * @module
 */

import { convertCommand } from "../cli/convert.ts";

if (import.meta.main) {
  Deno.exit(await convertCommand(Deno.args, "convert-legacy-stream"));
}
