/**
 * One QEMU (TCG) virtual machine booting Xen by multiboot, with its serial
 * console captured line by line (timestamped, to a file and a ring of
 * recent lines) and a lifetime that is bounded however the test ends:
 *
 * - QEMU runs under `timeout`, so it dies after `timeLimitSeconds` even if
 *   nobody stops it;
 * - `setpriv --pdeathsig TERM` makes that `timeout` (which passes the
 *   signal on to QEMU) go when the test process goes, even by SIGKILL;
 * - {@linkcode QemuVm.stop} waits a bounded time for a clean exit, then
 *   sends SIGTERM, then SIGKILL; {@linkcode QemuVm.killNow} is the
 *   synchronous last resort for signal handlers.
 *
 * @module
 */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { haveCommand, runCommand } from "./command.ts";

/** A host directory the guest mounts with 9p (virtio). */
export interface NinePShare {
  /** The mount tag dom0 uses. */
  tag: string;
  /** Host directory. */
  path: string;
  /** Export read-only. */
  readonly?: boolean;
}

/** What to boot and how. */
export interface QemuVmOptions {
  /** Multiboot kernel (Xen). */
  xen: string;
  /** Xen's command line. */
  xenCmdline: string;
  /** First multiboot module: the dom0 kernel. */
  dom0Kernel: string;
  /** dom0's command line. */
  dom0Cmdline: string;
  /** Second multiboot module: dom0's initramfs. */
  dom0Initramfs: string;
  /** 9p shares. */
  shares: NinePShare[];
  /** Where serial.log, qemu.stderr, qemu.pid and the command line go. */
  runDir: string;
  /** Hard limit on QEMU's lifetime. */
  timeLimitSeconds: number;
  /** Guest RAM, e.g. `"4G"`. */
  memory?: string;
  /** Virtual CPUs. */
  cpus?: number;
  /**
   * CPU model.  `qemu64,+svm,+npt` as Xen's CI uses: HAP works for PVH, and
   * without XSAVE/AVX TCG does not corrupt vector registers now and then.
   */
  cpu?: string;
}

/** How a VM ended. */
export type QemuExit = "exited" | "terminated" | "killed" | "time-limit";

/** Installs `qemu-system-x86` (without recommends) if QEMU is missing. */
export async function ensureQemu(log: (line: string) => void = () => {}): Promise<void> {
  if (await haveCommand("qemu-system-x86_64")) return;
  log("qemu-system-x86_64 missing: apt-get install --no-install-recommends qemu-system-x86");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    runCommand(
      "apt-get",
      ["install", "-y", "--no-install-recommends", "qemu-system-x86"],
      { env, allowFailure: true },
    );
  let r = await install();
  if (r.code !== 0) {
    await runCommand("apt-get", ["update"], { env, allowFailure: true });
    r = await install();
  }
  if (r.code !== 0 || !(await haveCommand("qemu-system-x86_64"))) {
    throw new Error(`cannot install qemu-system-x86:\n${r.stderr.trim().split("\n").pop()}`);
  }
}

function checkModulePath(path: string): string {
  // QEMU splits -initrd at commas and the kernel at spaces.
  if (/[, ]/.test(path)) throw new RangeError(`path '${path}' must not contain ',' or ' '`);
  return path;
}

/** A running (or finished) VM. */
export class QemuVm {
  /** Host time (ms, `performance.now()`) QEMU was started. */
  readonly startedAt: number;
  /** The timestamped serial log. */
  readonly serialLogPath: string;
  #child: Deno.ChildProcess;
  #pidFile: string;
  #ring: string[] = [];
  #ringSize = 4000;
  #waiters = new Set<{ re: RegExp; resolve: (line: string) => void }>();
  #exit: Promise<number>;
  #exited = false;
  #pumps: Promise<void>[];

  private constructor(child: Deno.ChildProcess, runDir: string, startedAt: number) {
    this.#child = child;
    this.startedAt = startedAt;
    this.serialLogPath = join(runDir, "serial.log");
    this.#pidFile = join(runDir, "qemu.pid");
    this.#pumps = [
      this.#pumpSerial(child.stdout, this.serialLogPath),
      this.#pumpRaw(child.stderr, join(runDir, "qemu.stderr")),
    ];
    this.#exit = child.status.then((s) => {
      this.#exited = true;
      return s.code;
    });
  }

  /** Starts QEMU. */
  static async start(o: QemuVmOptions): Promise<QemuVm> {
    await Deno.mkdir(o.runDir, { recursive: true });
    const dom0Cmdline = o.dom0Cmdline.replaceAll(",", ",,");
    const qemu = [
      "qemu-system-x86_64",
      ...["-machine", "pc", "-accel", "tcg,thread=multi"],
      ...["-cpu", o.cpu ?? "qemu64,+svm,+npt", "-m", o.memory ?? "4G"],
      ...["-smp", String(o.cpus ?? 2)],
      ...["-display", "none", "-vga", "none", "-no-reboot", "-nodefaults"],
      ...["-serial", "stdio", "-monitor", "none"],
      ...["-kernel", checkModulePath(o.xen), "-append", o.xenCmdline],
      "-initrd",
      `${checkModulePath(o.dom0Kernel)} ${dom0Cmdline},${checkModulePath(o.dom0Initramfs)}`,
      ...["-pidfile", join(o.runDir, "qemu.pid")],
      ...o.shares.flatMap((s) => [
        "-virtfs",
        `local,path=${checkModulePath(s.path)},mount_tag=${s.tag},security_model=none,` +
        `id=${s.tag}${s.readonly ? ",readonly=on" : ""}`,
      ]),
    ];
    const bounded = ["timeout", "-k", "5", String(o.timeLimitSeconds), ...qemu];
    const argv = (await haveCommand("setpriv"))
      ? ["setpriv", "--pdeathsig", "TERM", "--", ...bounded]
      : bounded;
    await Deno.writeTextFile(
      join(o.runDir, "qemu-cmdline.txt"),
      argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(" ") + "\n",
    );
    const startedAt = performance.now();
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new QemuVm(child, o.runDir, startedAt);
  }

  /** Seconds since QEMU started. */
  get uptime(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** Whether QEMU has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The last `n` serial lines (timestamped). */
  serialTail(n: number): string[] {
    return this.#ring.slice(-n);
  }

  /** Serial lines (timestamped) matching `re`, from the ring. */
  serialGrep(re: RegExp): string[] {
    return this.#ring.filter((l) => re.test(l));
  }

  /**
   * Resolves with the first serial line matching `re` (also one already
   * seen), or null when QEMU exits or `timeoutMs` passes first.
   */
  waitForSerial(re: RegExp, timeoutMs: number): Promise<string | null> {
    const seen = this.#ring.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const waiter = {
        re,
        resolve: (line: string | null) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(line);
        },
      };
      const timer = setTimeout(() => waiter.resolve(null), timeoutMs);
      this.#waiters.add(waiter);
      this.#exit.then(() => waiter.resolve(null));
    });
  }

  async #pumpSerial(stream: ReadableStream<Uint8Array>, path: string): Promise<void> {
    using log = await Deno.open(path, { write: true, create: true, truncate: true });
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      const text = partial + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      partial = lines.pop()!;
      let out = "";
      for (const raw of lines) {
        const line = `${this.uptime.toFixed(3).padStart(9)} ${raw.replace(/\r/g, "")}`;
        out += line + "\n";
        this.#ring.push(line);
        for (const w of this.#waiters) if (w.re.test(line)) w.resolve(line);
      }
      if (this.#ring.length > this.#ringSize) {
        this.#ring.splice(0, this.#ring.length - this.#ringSize);
      }
      if (out) await log.write(new TextEncoder().encode(out));
    }
    if (partial) await log.write(new TextEncoder().encode(partial + "\n"));
  }

  async #pumpRaw(stream: ReadableStream<Uint8Array>, path: string): Promise<void> {
    using f = await Deno.open(path, { write: true, create: true, truncate: true });
    for await (const chunk of stream) await f.write(chunk);
  }

  #qemuPid(): number | null {
    try {
      const pid = Number(readFileSync(this.#pidFile, "utf8").trim());
      return pid > 1 ? pid : null;
    } catch {
      return null;
    }
  }

  #signal(sig: Deno.Signal): void {
    const qemu = this.#qemuPid();
    for (const pid of [qemu, this.#child.pid]) {
      if (pid === null) continue;
      try {
        Deno.kill(pid, sig);
      } catch { /* gone already */ }
    }
  }

  /**
   * Waits up to `graceMs` for QEMU to exit by itself (dom0 powering off),
   * then SIGTERM, then SIGKILL.  Always returns with QEMU gone and the
   * serial log flushed.
   */
  async stop(graceMs: number): Promise<QemuExit> {
    const waitExit = (ms: number) =>
      Promise.race([
        this.#exit.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
      ]);
    let how: QemuExit = "exited";
    if (!(await waitExit(graceMs))) {
      how = "terminated";
      this.#signal("SIGTERM");
      if (!(await waitExit(10_000))) {
        how = "killed";
        this.#signal("SIGKILL");
        await waitExit(10_000);
      }
    } else {
      const code = await this.#exit;
      if (code === 124 || code === 137) how = "time-limit";
    }
    await Promise.allSettled(this.#pumps);
    return how;
  }

  /** Synchronous SIGKILL of QEMU and its wrapper, for signal handlers. */
  killNow(): void {
    if (this.#exited) return;
    this.#signal("SIGKILL");
  }

  /** The pid file's QEMU, if it is still alive (for leak checks). */
  get qemuAlive(): boolean {
    const pid = this.#qemuPid();
    return pid !== null && existsSync(`/proc/${pid}`) && !this.#exited;
  }
}
