/**
 * Scenario groups d and e, and the xl baseline of f: live migrations of a
 * PVH guest under load to localhost, between every pairing of xl and
 * xenmig senders and receivers.
 *
 * A capture (`streamtap`) in the transport counts the bytes and keeps the
 * stream for statistics where the transport is a pipe.
 *
 * @module
 */

import type { MigrationFacts, XlBaselineFacts } from "../common/observations.ts";
import { streamStats } from "../common/stream_stats.ts";
import { type Guest, xlList } from "./guests.ts";
import {
  destroyDomains,
  domidOfGuest,
  fileSize,
  guestOutcome,
  newDomains,
  nextPort,
  record,
  type ScenarioContext,
  useGuest,
  waitListening,
} from "./scenario_kit.ts";
import { type BackgroundCommand, type CommandOutcome, sh, shellQuote } from "./shell.ts";
import { checkImplemented, xenmigInBackground } from "./xenmig.ts";

/** How one migration is wired. */
interface MigrationPlan {
  /** Label, e.g. `"xl migrate → xl migrate-receive"`. */
  path: string;
  /** The sender's shell command, given the source domid. */
  sender: (domid: number) => string;
  /** Whether the sender is xenmig (an unknown command means "not implemented"). */
  senderIsXenmig: boolean;
  /** xenmig receive arguments to start first, listening on `port`. */
  receiver?: string;
  /** TCP port the receiver listens on. */
  port?: number;
  /** Capture file and byte count file of a `streamtap` in the transport. */
  capture?: { stream?: string; count: string };
}

function readCount(path: string): number | undefined {
  try {
    return Number(Deno.readTextFileSync(path).split(" ")[0]);
  } catch {
    return undefined;
  }
}

/** Runs one migration of `g` and gathers what the host judges. */
async function migrate(
  ctx: ScenarioContext,
  g: Guest,
  plan: MigrationPlan,
): Promise<MigrationFacts> {
  const domid = await domidOfGuest(ctx, g);
  const before = await xlList(ctx.log);
  const mark = ctx.pool.mark(g);
  let receiver: BackgroundCommand | undefined;
  let appeared: typeof before = [];
  try {
    if (plan.receiver) {
      receiver = xenmigInBackground(plan.receiver, ctx.log);
      if (!(await waitListening(plan.port!, 60))) {
        const early = await receiver.wait(5);
        checkImplemented(early, plan.receiver);
        throw new Error(`xenmig ${plan.receiver} is not listening after 60 s (rc=${early.rc})`);
      }
    }
    const sender = await sh(plan.sender(domid), ctx.log, { timeoutSeconds: 300 });
    if (plan.senderIsXenmig) checkImplemented(sender, plan.sender(domid).replace(/^xenmig /, ""));
    let receiverOutcome: CommandOutcome | undefined;
    if (receiver) {
      receiverOutcome = await receiver.wait(sender.rc === 0 ? 120 : 10);
      checkImplemented(receiverOutcome, plan.receiver!);
    }
    const after = await xlList(ctx.log);
    appeared = newDomains(before, after);
    const guest = await guestOutcome(ctx, g, mark, 90, appeared.map((d) => d.domid));
    let stream;
    if (plan.capture?.stream && fileSize(plan.capture.stream) > 0) {
      try {
        stream = await streamStats(plan.capture.stream);
        ctx.log.line(`stream: ${JSON.stringify(stream)}`);
      } catch (e) {
        ctx.log.line(`stream statistics failed: ${e instanceof Error ? e.message : e}`);
      }
    }
    const senderReport = plan.senderIsXenmig ? xenmigReport(sender.out) : undefined;
    const iterations = [...(sender.out + sender.err).matchAll(/Frames iteration (\d+)/g)]
      .map((m) => Number(m[1]));
    return {
      path: plan.path,
      sender: record(sender),
      receiver: receiverOutcome ? record(receiverOutcome) : {
        cmd: "(run by the sender as its transport: see the sender's output)",
        rc: 0,
        seconds: 0,
        stdout: "",
        stderr: "",
      },
      sourceExists: after.some((d) => d.domid === domid),
      newDomains: appeared,
      stream,
      transportBytes: plan.capture ? readCount(plan.capture.count) : undefined,
      xlIterations: iterations.length ? Math.max(...iterations) : undefined,
      senderReport,
      guest,
    };
  } finally {
    receiver?.kill();
    for (const f of [plan.capture?.stream, plan.capture?.count]) {
      if (f) await Deno.remove(f).catch(() => {});
    }
    // xl's receiver gives the domain its name back; keep that one for later
    // scenarios, destroy anything else that appeared.
    const renamed = appeared.find((d) => d.name === g.name);
    if (renamed && appeared.length === 1) ctx.pool.release(g);
    else await destroyDomains(ctx, appeared);
  }
}

/** The statistics `xenmig migrate --json` printed, if it did. */
function xenmigReport(stdout: string): MigrationFacts["senderReport"] {
  const json = stdout.slice(stdout.indexOf("{"));
  try {
    const r = JSON.parse(json);
    return {
      totalBytes: r.totalBytes,
      iterations: Array.isArray(r.iterations) ? r.iterations.length : undefined,
      downtimeMs: r.downtime?.ms,
      downtimeParts: r.downtime && {
        suspendMs: r.downtime.suspendMs,
        pagesMs: r.downtime.pagesMs,
        tailMs: r.downtime.tailMs,
      },
    };
  } catch {
    return undefined;
  }
}

function tap(name: string): { stream: string; count: string } {
  return { stream: `/tmp/${name}.mig`, count: `/tmp/${name}.count` };
}

/** `xl save` + `xl restore`, then `xl migrate` to `xl migrate-receive`: the baseline of f. */
export async function xlBaseline(ctx: ScenarioContext): Promise<XlBaselineFacts> {
  const g = await useGuest(ctx, "pvh");
  const file = `/tmp/baseline-${g.name}.save`;
  let saveFacts;
  try {
    const mark = ctx.pool.mark(g);
    const save = await sh(`xl save ${g.name} ${file}`, ctx.log, { timeoutSeconds: 180 });
    const saveBytes = fileSize(file);
    const restore = await sh(`xl restore ${file}`, ctx.log, { timeoutSeconds: 180 });
    const afterRestore = await guestOutcome(ctx, g, mark);
    saveFacts = { save: record(save), saveBytes, restore: record(restore), afterRestore };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
  const t = tap("baseline");
  const migration = await migrate(ctx, g, {
    path: "xl migrate → xl migrate-receive",
    sender: () =>
      `xl -vvv migrate -s "" ${g.name} ` +
      shellQuote(`streamtap -o ${t.stream} -n ${t.count} | xl -vvv migrate-receive -e`),
    senderIsXenmig: false,
    capture: t,
  });
  return { ...saveFacts, migration };
}

/** d: `xenmig migrate --to tcp://` → `xenmig receive --listen tcp://`. */
export async function xenmigMigrateTcp(ctx: ScenarioContext): Promise<MigrationFacts> {
  const g = await useGuest(ctx, "pvh");
  const port = nextPort();
  return await migrate(ctx, g, {
    path: "xenmig migrate → xenmig receive (tcp)",
    receiver: `receive --listen tcp://127.0.0.1:${port}`,
    port,
    sender: (domid) => `xenmig migrate ${domid} --to tcp://127.0.0.1:${port} --json`,
    senderIsXenmig: true,
  });
}

/**
 * e1: `xl migrate` → `xenmig receive` as xl's transport command (stdin and
 * stdout, as xl runs `xl migrate-receive`), captured like the baseline.
 */
export async function xlMigrateToXenmig(ctx: ScenarioContext): Promise<MigrationFacts> {
  const g = await useGuest(ctx, "pvh");
  const t = tap("xl-to-xenmig");
  return await migrate(ctx, g, {
    path: "xl migrate → xenmig receive",
    sender: () =>
      `xl -vvv migrate -s "" ${g.name} ` +
      shellQuote(`streamtap -o ${t.stream} -n ${t.count} | xenmig receive`),
    senderIsXenmig: false,
    capture: t,
  });
}

/** e2 (and f): `xenmig migrate --to '|xl migrate-receive'`, captured like the baseline. */
export async function xenmigMigrateToXl(ctx: ScenarioContext): Promise<MigrationFacts> {
  const g = await useGuest(ctx, "pvh");
  const t = tap("xenmig-to-xl");
  const transport = `|streamtap -o ${t.stream} -n ${t.count} | xl -vvv migrate-receive -e`;
  return await migrate(ctx, g, {
    path: "xenmig migrate → xl migrate-receive",
    sender: (domid) => `xenmig migrate ${domid} --to ${shellQuote(transport)} --json`,
    senderIsXenmig: true,
    capture: t,
  });
}
