/**
 * Builds what QEMU boots: the Xen 4.17 hypervisor, the Linux kernel (dom0
 * and guests), and the dom0 initramfs (busybox, Xen's tools and libraries,
 * the kernel modules dom0 needs, Deno, the lab's programs, and the guest
 * kernel and initramfs whose /init is the workload).  Images are cached
 * under `.cache/xen-lab/images/<hash>/`, the hash covering every input, so
 * a repeated run reuses them.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { runCommand } from "./command.ts";
import { CpioArchive } from "./cpio.ts";
import { type DebianInputs, prepareDebianInputs } from "./packages.ts";
import { IMAGE_DIR, XEN_TEST_DIR } from "./paths.ts";

/** The built images of one input hash. */
export interface LabImages {
  /** Directory holding them. */
  dir: string;
  /** The input hash. */
  hash: string;
  /** Xen, gunzipped: an ELF32 with a multiboot1 header QEMU can `-kernel`. */
  xen: string;
  /** The Linux kernel (dom0 and guests). */
  kernel: string;
  /** The dom0 initramfs (uncompressed newc cpio). */
  dom0Initramfs: string;
  /** Whether this call built them (false: reused from the cache). */
  built: boolean;
  /** Seconds the call took. */
  seconds: number;
}

/** Kernel modules dom0 loads, by name; dependencies are added in front. */
const DOM0_MODULES = [
  "xen-evtchn",
  "xen-privcmd",
  "xenfs",
  "xen-gntdev",
  "xen-gntalloc",
  "9p",
  "9pnet_virtio",
  "virtio_pci",
];

/** Files whose content goes into the image hash besides the packages. */
const SOURCE_INPUTS = [
  "lab/images.ts",
  "lab/cpio.ts",
  "lab/packages.ts",
  "dom0/init.sh",
  "dom0/streamtap.c",
  "guest/workload.c",
];

/** How many image directories to keep (older ones are removed). */
const KEEP_IMAGES = 2;

/**
 * Returns the lab images, building them if no complete build of the
 * current inputs is cached.  `log` receives progress lines.
 */
export async function labImages(log: (line: string) => void = () => {}): Promise<LabImages> {
  const t0 = performance.now();
  const inputs = await prepareDebianInputs();
  const hash = await inputHash(inputs);
  const dir = join(IMAGE_DIR, hash);
  const images = {
    dir,
    hash,
    xen: join(dir, "xen"),
    kernel: join(dir, "vmlinuz"),
    dom0Initramfs: join(dir, "dom0.cpio"),
  };
  const complete = join(dir, "complete");
  if (existsSync(complete)) {
    return { ...images, built: false, seconds: (performance.now() - t0) / 1000 };
  }
  log(`building images ${hash} (kernel ${inputs.kernelRelease})`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await checkToolchain();

  const xenGz = await Deno.readFile(join(inputs.xenRoot, "boot", "xen-4.17-amd64.gz"));
  await Deno.writeFile(images.xen, gunzipSync(xenGz));
  await Deno.copyFile(
    join(inputs.kernelRoot, "boot", `vmlinuz-${inputs.kernelRelease}`),
    images.kernel,
  );

  const workload = join(dir, "workload");
  const streamtap = join(dir, "streamtap");
  await compileStatic(join(XEN_TEST_DIR, "guest", "workload.c"), workload);
  await compileStatic(join(XEN_TEST_DIR, "dom0", "streamtap.c"), streamtap);

  const guest = new CpioArchive();
  guest.addFile("/init", { path: workload }, 0o755);
  guest.addDirectory("/proc");
  guest.addDirectory("/dev");
  guest.addCharDevice("/dev/console", 5, 1);
  const guestInitramfs = gzipSync(await guest.toBytes(), { level: 9 });

  const guestKernel = await uncompressedKernel(images.kernel, join(dir, "vmlinux"));
  log(`guest kernel: ${guestKernel === images.kernel ? "bzImage (could not unpack)" : "vmlinux"}`);
  const dom0 = await dom0Archive(inputs, { streamtap, guestInitramfs, kernel: guestKernel });
  const size = await dom0.writeTo(images.dom0Initramfs);
  await Deno.writeTextFile(
    join(dir, "manifest.json"),
    JSON.stringify({ hash, debs: inputs.debs, dom0Bytes: size, files: dom0.paths }, null, 1),
  );
  await Deno.writeTextFile(complete, new Date().toISOString() + "\n");
  log(`dom0 initramfs: ${(size / 2 ** 20).toFixed(1)} MiB, ${dom0.paths.length} entries`);
  await pruneImages(hash);
  return { ...images, built: true, seconds: (performance.now() - t0) / 1000 };
}

async function inputHash(inputs: DebianInputs): Promise<string> {
  const h = createHash("sha256");
  h.update(inputs.debs.join("\n"));
  for (const f of SOURCE_INPUTS) h.update(f).update(await Deno.readFile(join(XEN_TEST_DIR, f)));
  const deno = await Deno.stat(Deno.execPath());
  h.update(`deno ${Deno.version.deno} ${deno.size}`);
  for (const lib of ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.a"]) {
    const s = await Deno.stat(lib).catch(() => null);
    h.update(`${lib} ${s?.size} ${s?.mtime?.getTime()}`);
  }
  return h.digest("hex").slice(0, 16);
}

/**
 * The kernel as a plain ELF `vmlinux` for the guests: `xl create` then
 * copies its segments instead of having libxenguest undo the bzImage's xz
 * compression in dom0 under TCG (20-30 s per guest).  The payload is the
 * first xz stream in the bzImage that decompresses to an ELF (as Linux's
 * `extract-vmlinux` finds it); the host's `xz` does it, else python3's
 * lzma.  Returns the bzImage itself if neither can.
 */
async function uncompressedKernel(bzImage: string, out: string): Promise<string> {
  const image = await Deno.readFile(bzImage);
  const magic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
  for (let i = image.indexOf(magic[0]); i >= 0; i = image.indexOf(magic[0], i + 1)) {
    if (!magic.every((b, k) => image[i + k] === b)) continue;
    for (const argv of [["xz", "-dc", "--single-stream"], PYTHON_UNXZ]) {
      const elf = await filter(argv, image.subarray(i));
      if (elf && isElf(elf)) {
        await Deno.writeFile(out, elf);
        return out;
      }
    }
  }
  return bzImage;
}

const PYTHON_UNXZ = [
  "python3",
  "-c",
  "import lzma,sys;sys.stdout.buffer.write(lzma.LZMADecompressor().decompress(sys.stdin.buffer.read()))",
];

/** Runs `argv` with `input` on stdin; its stdout, or null if it failed. */
async function filter(argv: string[], input: Uint8Array): Promise<Uint8Array | null> {
  try {
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    const wrote = writer.write(input).then(() => writer.close()).catch(() => {});
    const out = await child.output();
    await wrote;
    return out.success ? out.stdout : null;
  } catch {
    return null;
  }
}

async function checkToolchain(): Promise<void> {
  const gcc = await runCommand("gcc", ["--version"], { allowFailure: true });
  if (gcc.code !== 0) throw new Error("the Xen lab needs gcc (apt-get install gcc libc6-dev)");
  if (!existsSync("/usr/lib/x86_64-linux-gnu/libc.a")) {
    throw new Error("the Xen lab needs a static libc (apt-get install libc6-dev)");
  }
}

async function compileStatic(source: string, output: string): Promise<void> {
  await runCommand("gcc", ["-O2", "-static", "-Wall", "-Werror", "-o", output, source]);
}

function isElf(bytes: Uint8Array): boolean {
  return bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** Adds every file and symlink under `hostDir` to `archive` at `archiveDir`. */
async function addTree(archive: CpioArchive, hostDir: string, archiveDir: string): Promise<void> {
  for await (const e of Deno.readDir(hostDir)) {
    const host = join(hostDir, e.name);
    const inArchive = join(archiveDir, e.name);
    if (e.isSymlink) archive.addSymlink(inArchive, await Deno.readLink(host));
    else if (e.isDirectory) await addTree(archive, host, inArchive);
    else archive.addFile(inArchive, { path: host }, (await Deno.stat(host)).mode! & 0o7777);
  }
}

/** Host libraries (outside the Xen tree) that `binaries` load, by `ldd`. */
async function hostLibraries(binaries: string[], xenLibDirs: string[]): Promise<Set<string>> {
  const libs = new Set<string>();
  for (const bin of binaries) {
    const r = await runCommand("ldd", [bin], {
      env: { LD_LIBRARY_PATH: xenLibDirs.join(":") },
      allowFailure: true,
    });
    if (/not found/.test(r.stdout)) {
      throw new Error(`unresolved libraries of ${bin}:\n${r.stdout}`);
    }
    for (const m of r.stdout.matchAll(/(?:=> )?(\/\S+) \(0x/g)) {
      if (!xenLibDirs.some((d) => m[1].startsWith(d + "/"))) libs.add(m[1]);
    }
  }
  // glibc dlopen()s libgcc_s for pthread_cancel (xl); ldd cannot see that.
  libs.add("/lib/x86_64-linux-gnu/libgcc_s.so.1");
  return libs;
}

/**
 * The kernel modules dom0 needs, dependencies first, as paths relative to
 * `lib/modules/`.  Dependencies come from each module's `.modinfo`
 * `depends=` (the kernel package ships no modules.dep).
 */
async function moduleLoadOrder(kernelRoot: string, release: string): Promise<string[]> {
  const base = join(kernelRoot, "lib", "modules", release);
  const byName = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ko")) byName.set(e.name.slice(0, -3).replaceAll("-", "_"), p);
    }
  };
  await walk(join(base, "kernel"));
  const order: string[] = [];
  const visit = async (name: string, chain: string[]) => {
    const key = name.replaceAll("-", "_");
    const path = byName.get(key);
    if (!path) throw new Error(`kernel ${release} has no module ${name}`);
    if (order.includes(path)) return;
    if (chain.includes(key)) throw new Error(`module dependency cycle: ${chain.join(" → ")}`);
    const info = new TextDecoder("latin1").decode(await Deno.readFile(path));
    const deps = info.match(/\0depends=([^\0]*)\0/)?.[1] ?? "";
    for (const dep of deps.split(",").filter(Boolean)) await visit(dep, [...chain, key]);
    order.push(path);
  };
  for (const m of DOM0_MODULES) await visit(m, []);
  return order.map((p) => relative(join(kernelRoot, "lib", "modules"), p));
}

async function dom0Archive(
  inputs: DebianInputs,
  extra: { streamtap: string; guestInitramfs: Uint8Array; kernel: string },
): Promise<CpioArchive> {
  const a = new CpioArchive();
  const X = inputs.xenRoot;
  for (
    const d of [
      "/proc",
      "/sys",
      "/dev",
      "/run",
      "/tmp",
      "/root",
      "/mnt/lab",
      "/var/lib/xen",
      "/var/lib/xenstored",
      "/var/log/xen/console",
    ]
  ) a.addDirectory(d);
  a.addCharDevice("/dev/console", 5, 1);
  a.addCharDevice("/dev/null", 1, 3, 0o666);
  a.addFile("/etc/passwd", new TextEncoder().encode("root:x:0:0:root:/root:/bin/sh\n"));
  a.addFile("/etc/group", new TextEncoder().encode("root:x:0:\n"));
  a.addFile("/init", { path: join(XEN_TEST_DIR, "dom0", "init.sh") }, 0o755);
  a.addFile("/bin/busybox", { path: inputs.busybox }, 0o755);
  a.addSymlink("/bin/sh", "busybox");

  // Xen: the toolstack binaries, the libraries, xenstore-utils, /etc/xen.
  const toolDir = "/usr/lib/xen-4.17/bin";
  const elfs: string[] = [];
  for await (const e of Deno.readDir(join(X, toolDir))) {
    const host = join(X, toolDir, e.name);
    if (!e.isFile) continue;
    const head = new Uint8Array(4);
    using f = await Deno.open(host);
    await f.read(head);
    if (!isElf(head)) continue;
    a.addFile(join(toolDir, e.name), { path: host }, 0o755);
    elfs.push(host);
  }
  a.addFile("/usr/bin/xenstore", { path: join(X, "usr/bin/xenstore") }, 0o755);
  elfs.push(join(X, "usr/bin/xenstore"));
  for await (const e of Deno.readDir(join(X, "usr/bin"))) {
    if (e.name.startsWith("xenstore-")) a.addSymlink(`/usr/bin/${e.name}`, "xenstore");
  }
  const xenLibDirs = ["usr/lib/x86_64-linux-gnu", "usr/lib/xen-4.17/lib/x86_64-linux-gnu"];
  for (const d of xenLibDirs) await addTree(a, join(X, d), `/${d}`);
  await addTree(a, join(X, "etc/xen"), "/etc/xen");

  // Deno, to run xenmig and the scenario agent.
  a.addFile("/usr/local/bin/deno", { path: Deno.execPath() }, 0o755);
  a.addFile("/usr/local/bin/streamtap", { path: extra.streamtap }, 0o755);
  const libs = await hostLibraries(
    [...elfs, Deno.execPath()],
    xenLibDirs.map((d) => join(X, d)),
  );
  for (const lib of libs) {
    const path = lib.startsWith("/lib64/") ? lib : lib.replace(/^\/usr\/lib\//, "/lib/");
    if (!a.has(path)) a.addFile(path, { path: await Deno.realPath(lib) }, 0o755);
  }

  // Kernel modules, in load order.
  const order = await moduleLoadOrder(inputs.kernelRoot, inputs.kernelRelease);
  for (const m of order) {
    a.addFile(`/lib/modules/${m}`, { path: join(inputs.kernelRoot, "lib/modules", m) });
  }
  a.addFile("/lib/modules/load-order", new TextEncoder().encode(order.join("\n") + "\n"));

  // The guest: the same kernel, the workload as /init.
  a.addFile("/guest/kernel", { path: extra.kernel });
  a.addFile("/guest/initrd.cpio.gz", extra.guestInitramfs);
  return a;
}

async function pruneImages(keep: string): Promise<void> {
  const dirs: { name: string; mtime: number }[] = [];
  for await (const e of Deno.readDir(IMAGE_DIR)) {
    if (!e.isDirectory || e.name === keep) continue;
    const s = await Deno.stat(join(IMAGE_DIR, e.name));
    dirs.push({ name: e.name, mtime: s.mtime?.getTime() ?? 0 });
  }
  dirs.sort((x, y) => y.mtime - x.mtime);
  for (const d of dirs.slice(KEEP_IMAGES - 1)) {
    await Deno.remove(join(IMAGE_DIR, d.name), { recursive: true }).catch(() => {});
  }
}

/** The file name QEMU should get for the dom0 initramfs (for messages). */
export function describeImages(images: LabImages): string {
  return `${basename(images.dir)} (${images.built ? "built" : "cached"} in ${
    images.seconds.toFixed(1)
  } s)`;
}
