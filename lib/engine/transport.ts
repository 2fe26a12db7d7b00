/**
 * Where a migration stream goes (`--to`) and where one comes from
 * (`--listen`): a file (written atomically), an inherited descriptor
 * (`fd:N`), a TCP peer (`tcp://HOST:PORT`) or a command's stdin/stdout
 * (`|CMD`, run with `sh -c`, as `xl migrate` runs its transport).  Every
 * channel is two-way where the medium allows, for xl's migrate protocol.
 *
 * @module
 */

import { AtomicFile } from "../io/atomic_file.ts";
import { type ByteSink, writerSink } from "../io/byte_sink.ts";
import { type ByteSource, readableSource, readerSource } from "../io/byte_source.ts";
import { fdSink, fdSource } from "../io/fd_io.ts";

/** A parsed `--to` / `--listen` target. */
export type Target =
  | { kind: "file"; path: string }
  | { kind: "fd"; fd: number }
  | { kind: "tcp"; host: string; port: number }
  | { kind: "command"; command: string };

/**
 * Parses a target: `fd:N`, `tcp://HOST:PORT`, `|CMD`, else a file path.
 *
 * @example
 * ```ts
 * import { parseTarget } from "./transport.ts";
 * console.assert(parseTarget("tcp://127.0.0.1:8002").kind === "tcp");
 * console.assert(parseTarget("|xl migrate-receive").kind === "command");
 * console.assert(parseTarget("fd:5").kind === "fd");
 * console.assert(parseTarget("/tmp/dom.save").kind === "file");
 * ```
 */
export function parseTarget(spec: string): Target {
  if (spec.startsWith("|")) {
    const command = spec.slice(1).trim();
    if (!command) throw new RangeError("'|' needs a command");
    return { kind: "command", command };
  }
  const fd = spec.match(/^fd:(\d+)$/);
  if (fd) return { kind: "fd", fd: Number(fd[1]) };
  if (spec.startsWith("tcp://")) {
    const m = spec.match(/^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/);
    if (!m) throw new RangeError(`bad TCP target '${spec}' (expected tcp://HOST:PORT)`);
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw new RangeError(`bad TCP port ${port}`);
    return { kind: "tcp", host: m[1].replace(/^\[|\]$/g, ""), port };
  }
  if (!spec) throw new RangeError("empty target");
  return { kind: "file", path: spec };
}

/** An open channel: the stream goes into `sink`; replies (if any) come from `replies`. */
export interface Channel {
  /** Where the stream is written. */
  sink: ByteSink;
  /** The peer's replies, for two-way media (TCP, command); undefined for files. */
  replies?: ByteSource;
  /** Finishes successfully (commits a file, waits for a command). */
  commit(): Promise<void>;
  /** Gives up: removes a partial file, kills a command, closes a socket. */
  abort(): Promise<void>;
  /** What it is, for messages. */
  describe: string;
}

function fdChannel(fd: number): Channel {
  return {
    sink: fdSink(fd),
    replies: fdSource(fd),
    commit: () => Promise.resolve(),
    abort: () => Promise.resolve(),
    describe: `fd ${fd}`,
  };
}

function connChannel(conn: Deno.Conn, describe: string): Channel {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Already closed by the peer.
    }
  };
  return {
    sink: writerSink(conn, false),
    replies: readerSource({ read: (p) => conn.read(p) }),
    commit: () => Promise.resolve(close()),
    abort: () => Promise.resolve(close()),
    describe,
  };
}

/** Opens `target` for sending a stream. */
export async function openSendChannel(target: Target): Promise<Channel> {
  switch (target.kind) {
    case "file": {
      const file = await AtomicFile.create(target.path);
      return {
        sink: file,
        commit: () => file.commit(),
        abort: () => file.abort(),
        describe: `file ${target.path}`,
      };
    }
    case "fd":
      return fdChannel(target.fd);
    case "tcp": {
      const conn = await Deno.connect({ hostname: target.host, port: target.port });
      conn.setNoDelay(true);
      return connChannel(conn, `tcp://${target.host}:${target.port}`);
    }
    case "command": {
      const proc = new Deno.Command("sh", {
        args: ["-c", target.command],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const writer = proc.stdin.getWriter();
      const reader = proc.stdout.getReader({ mode: "byob" });
      let done = false;
      return {
        sink: {
          write: (b) => writer.write(b),
          close: () => writer.close(),
        },
        replies: {
          async read(into) {
            const { value, done: end } = await reader.read(new Uint8Array(into.length));
            if (end || !value) return null;
            into.set(value);
            return value.length;
          },
          close() {
            reader.cancel().catch(() => {});
          },
        },
        async commit() {
          if (done) return;
          done = true;
          await writer.close().catch(() => {});
          const status = await proc.status;
          if (!status.success) {
            throw new Error(`transport command '${target.command}' exited with ${status.code}`);
          }
        },
        async abort() {
          if (done) return;
          done = true;
          try {
            proc.kill("SIGTERM");
          } catch {
            // Exited already.
          }
          await proc.status;
        },
        describe: `command '${target.command}'`,
      };
    }
  }
}

/** A receive-side channel: the stream comes from `source`; replies go to `replies`. */
export interface ReceiveChannel {
  /** The incoming stream. */
  source: ByteSource;
  /** Where protocol replies go (two-way media). */
  replies?: ByteSink;
  /** Closes it. */
  close(): void;
  /** What it is, for messages. */
  describe: string;
}

/**
 * Waits for one sender on `target` (`tcp://HOST:PORT` listens; `fd:N`
 * uses an inherited descriptor; a file path reads a file; `-` is
 * stdin/stdout, as `xl migrate-receive` uses them).
 */
export async function acceptReceiveChannel(spec: string): Promise<ReceiveChannel> {
  if (spec === "-") {
    return {
      source: readerSource(Deno.stdin),
      replies: writerSink(Deno.stdout, false),
      close() {},
      describe: "stdin",
    };
  }
  const target = parseTarget(spec);
  switch (target.kind) {
    case "tcp": {
      const listener = Deno.listen({ hostname: target.host, port: target.port });
      try {
        const conn = await listener.accept();
        conn.setNoDelay(true);
        return {
          source: readerSource({ read: (p) => conn.read(p) }),
          replies: writerSink(conn, false),
          close: () => {
            try {
              conn.close();
            } catch {
              // Closed by the peer.
            }
          },
          describe: `tcp connection from ${(conn.remoteAddr as Deno.NetAddr).hostname}`,
        };
      } finally {
        listener.close();
      }
    }
    case "fd":
      return {
        source: fdSource(target.fd),
        replies: fdSink(target.fd),
        close() {},
        describe: `fd ${target.fd}`,
      };
    case "file": {
      const file = await Deno.open(target.path, { read: true });
      return {
        source: readerSource(file),
        close: () => file.close(),
        describe: `file ${target.path}`,
      };
    }
    case "command":
      throw new RangeError("a command cannot be a receive source");
  }
}

/**
 * Two connected in-memory channels (sender, receiver), for migrating between
 * domains of one process: tests, the demo, benchmarks.
 *
 * @example
 * ```ts
 * import { memoryChannelPair } from "./transport.ts";
 * import { StreamReader } from "../io/stream_reader.ts";
 * const [tx, rx] = memoryChannelPair();
 * const reading = new StreamReader(rx.source).readExact(2);
 * await tx.sink.write(new Uint8Array([4, 2]));
 * console.assert((await reading)[1] === 2);
 * ```
 */
export function memoryChannelPair(): [Channel, ReceiveChannel] {
  const forward = new TransformStream<Uint8Array, Uint8Array>(undefined, { highWaterMark: 8 });
  const back = new TransformStream<Uint8Array, Uint8Array>();
  const fw = forward.writable.getWriter();
  const bw = back.writable.getWriter();
  const copying = (w: WritableStreamDefaultWriter<Uint8Array>): ByteSink => ({
    write: (b) => w.write(b.slice()),
    close: () => w.close().catch(() => {}),
  });
  const sender: Channel = {
    sink: copying(fw),
    replies: readableSource(back.readable),
    commit: () => fw.close().catch(() => {}),
    abort: () => fw.abort("aborted").catch(() => {}),
    describe: "in-memory channel",
  };
  const receiver: ReceiveChannel = {
    source: readableSource(forward.readable),
    replies: copying(bw),
    close: () => void bw.close().catch(() => {}),
    describe: "in-memory channel",
  };
  return [sender, receiver];
}
