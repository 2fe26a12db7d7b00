/**
 * The REPL's state and its one entry point, {@linkcode ReplSession.execute}:
 * the hypervisor it drives, the attached domain and its migration, the
 * policy in force, what this console paused; and the rules for leaving
 * (`quit` refuses to leave a guest paused or in log-dirty mode without
 * saying so).  The terminal, script and test drivers all feed lines here.
 *
 * @module
 */

import { type PrecopyPolicy, xenPolicy } from "../../lib/engine/policy.ts";
import type { Target } from "../../lib/engine/transport.ts";
import type { Domain } from "../../lib/xen/domain.ts";
import type { Hypervisor } from "../../lib/xen/hypervisor.ts";
import type { HypervisorSession } from "../../lib/xen/open.ts";
import type { SimControl, Workload } from "../../lib/xen/sim_control.ts";
import { describeError } from "../engine_command.ts";
import type { ReplCommand } from "./command.ts";
import { COMMANDS, findCommand } from "./commands/mod.ts";
import { ReplMigration } from "./migration.ts";
import { type Outcome, ReplError } from "./reply.ts";
import { splitCommandLine } from "./words.ts";

/** Options of a {@linkcode ReplSession}. */
export interface ReplSessionOptions {
  /** The opened backend (simulator or Xen). */
  backend: HypervisorSession;
  /** Where streams go (default: discarded). */
  target?: Target;
  /** Keep the source paused after finishing (see `--keep-source`). */
  keepSource?: boolean;
  /** The policy in force at first (default Xen's). */
  policy?: PrecopyPolicy;
  /** The workload the simulator's guest was created with. */
  workload?: Workload;
  /** Progress lines during long commands (text mode); default: dropped. */
  say?: (line: string) => void;
  /** The terminal's size, for `bitmap`; undefined when not a terminal. */
  terminalSize?: () => { columns: number; rows: number } | undefined;
  /** Asks the user yes/no (interactive only); without it, `quit` just refuses. */
  confirm?: (question: string) => Promise<boolean>;
  /** Colour `eval` results. */
  colors?: boolean;
}

/** A REPL session. */
export class ReplSession {
  /** The hypervisor. */
  readonly hv: Hypervisor;
  /** Simulator controls, on the simulator. */
  readonly sim?: SimControl;
  /** The simulator's own guest, if any. */
  readonly simDomid?: number;
  /** Where streams go. */
  readonly target?: Target;
  /** Keep the source paused after finishing. */
  readonly keepSource: boolean;
  /** Colour `eval` results. */
  readonly colors: boolean;
  /** The attached domain, if any. */
  domid?: number;
  /** The attached domain's migration (created on attach). */
  migration?: ReplMigration;
  /** The policy in force (applied to every migration). */
  policy: PrecopyPolicy;
  /** The text a user policy was compiled from. */
  policySource?: string;
  /** Times this console paused the attached domain with `pause`. */
  userPauses = 0;
  /** Workloads set on simulated domains, by domid. */
  readonly workloads: Map<number, Workload> = new Map();
  #options: ReplSessionOptions;
  #confirm?: (question: string) => Promise<boolean>;
  #interrupted = false;

  /** A session on `options.backend`; call {@linkcode init} before use. */
  constructor(options: ReplSessionOptions) {
    this.#options = options;
    this.hv = options.backend.hv;
    this.sim = options.backend.sim;
    this.simDomid = options.backend.domid;
    this.target = options.target;
    this.keepSource = options.keepSource ?? false;
    this.colors = options.colors ?? false;
    this.policy = options.policy ?? xenPolicy;
    this.#confirm = options.confirm;
    if (this.simDomid !== undefined && options.workload) {
      this.workloads.set(this.simDomid, options.workload);
    }
  }

  /** Every command. */
  get commands(): readonly ReplCommand[] {
    return COMMANDS;
  }

  /** Prints a progress line (text mode). */
  say(line: string): void {
    this.#options.say?.(line);
  }

  /** The terminal's size, if on one. */
  terminalSize(): { columns: number; rows: number } | undefined {
    return this.#options.terminalSize?.();
  }

  /** Asks yes/no when a person is there; undefined when not (scripts). */
  confirm(question: string): Promise<boolean> | undefined {
    return this.#confirm?.(question);
  }

  /** Sets (or, with undefined, removes) how to ask the user yes/no. */
  setConfirm(confirm: ((question: string) => Promise<boolean>) | undefined): void {
    this.#confirm = confirm;
  }

  /** Ctrl-C: a running `run` / `until` stops after its current iteration. */
  interrupt(): void {
    this.#interrupted = true;
  }

  /** Whether Ctrl-C was pressed since {@linkcode clearInterrupt}. */
  get interruptRequested(): boolean {
    return this.#interrupted;
  }

  /** Forgets an earlier Ctrl-C (at the start of a command). */
  clearInterrupt(): void {
    this.#interrupted = false;
  }

  /** The attached domain, or a clear error. */
  requireDomain(what: string): Domain {
    if (this.domid === undefined) {
      throw new ReplError(`${what}: no domain attached ('attach DOMID')`);
    }
    if (this.migration?.sourceDestroyed) {
      throw new ReplError(
        `${what}: domain ${this.domid} was handed over to the receiver and destroyed here`,
      );
    }
    return this.hv.domain(this.domid);
  }

  /** The attached migration, or a clear error. */
  requireMigration(what: string): ReplMigration {
    if (!this.migration) throw new ReplError(`${what}: no domain attached ('attach DOMID')`);
    return this.migration;
  }

  /**
   * Attaches `domid`: opens the destination and prepares a migration.
   * Refuses while the current one is active or holds the guest paused.
   */
  async attach(domid: number): Promise<string> {
    const m = this.migration;
    if (m?.active) {
      throw new ReplError(
        `attach: a migration of domain ${m.domid} is in progress (phase ${m.engine.phase}): ` +
          `'finish' or 'abort' it first`,
      );
    }
    if (m?.holdsPause) {
      throw new ReplError(
        `attach: domain ${m.domid} is paused since its stop-and-copy: 'unpause' it first`,
      );
    }
    if (this.userPauses > 0 && this.domid !== domid) {
      throw new ReplError(`attach: domain ${this.domid} is paused by 'pause': 'unpause' it first`);
    }
    const info = this.hv.domain(domid).info();
    if (!info.hvm) throw new ReplError(`attach: domain ${domid} is PV; xenmig migrates HVM/PVH`);
    await m?.discard();
    this.migration = undefined;
    this.migration = await ReplMigration.open(this.hv, domid, {
      target: this.target,
      policy: this.policy,
      keepSource: this.keepSource,
    });
    this.domid = domid;
    const mem = (info.totPages * 4096) / 2 ** 20;
    return `attached to domain ${domid} (${this.sim ? "simulated " : ""}HVM, ${
      mem.toFixed(0)
    } MiB, ${info.paused ? "paused" : "running"}); stream goes to ${this.migration.destination}` +
      (this.migration.protocol ? " with xl's migrate handshake" : "");
  }

  /** Why `quit` would refuse now (empty: nothing to clean up). */
  quitProblems(): string[] {
    const out: string[] = [];
    const m = this.migration;
    if (m?.active) {
      out.push(
        `a migration of domain ${m.domid} is in progress (phase ${m.engine.phase}, log-dirty on)`,
      );
    }
    if (m?.holdsPause && !m.keepSource) {
      out.push(`domain ${m.domid} is paused since its stop-and-copy`);
    }
    if (this.userPauses > 0) out.push(`domain ${this.domid} is paused (by 'pause')`);
    return out;
  }

  /**
   * Leaves everything as it should be: aborts an active migration
   * (log-dirty off, the guest running, output discarded), resumes what this
   * console paused — except a source kept with `--keep-source` or one whose
   * destination may be running.  Returns one line per thing done.
   */
  async cleanup(): Promise<string[]> {
    const said: string[] = [];
    const m = this.migration;
    if (m?.active) {
      const phase = m.engine.phase;
      await m.abort("the session ended");
      said.push(
        `aborted the migration during ${phase}: log-dirty off, domain ${m.domid} running, ` +
          `output discarded`,
      );
    } else if (m?.engine.phase === "new") {
      await m.discard();
    }
    if (m?.holdsPause) {
      if (m.keepSource) {
        said.push(`domain ${m.domid} left stopped (--keep-source)`);
      } else {
        m.resumeSource();
        said.push(`resumed domain ${m.domid} (paused since its stop-and-copy)`);
      }
    }
    if (m?.outcome === "undecided") {
      said.push(`domain ${m.domid} left stopped: its destination may be running it`);
    }
    if (this.userPauses > 0 && this.domid !== undefined) {
      const dom = this.hv.domain(this.domid);
      for (; this.userPauses > 0; this.userPauses--) dom.unpause();
      said.push(`unpaused domain ${this.domid} (paused with 'pause')`);
    }
    return said;
  }

  /**
   * Runs one line.  Blank lines and `#` comments do nothing (undefined);
   * every other line gives one outcome: a reply, or one line of error
   * after which the session goes on.
   */
  async execute(line: string): Promise<Outcome | undefined> {
    const text = line.trim();
    if (!text || text.startsWith("#")) return undefined;
    const { name, args, rest } = splitCommandLine(text);
    const command = findCommand(name);
    if (!command) {
      return { command: name, ok: false, error: unknownCommand(name) };
    }
    this.clearInterrupt();
    try {
      return { command: command.name, ok: true, reply: await command.run(this, args, rest) };
    } catch (e) {
      return { command: command.name, ok: false, error: describeError(e) };
    }
  }
}

function unknownCommand(name: string): string {
  const names = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const near = names.filter((n) => n.startsWith(name.slice(0, 2)) || editDistance(n, name) <= 2);
  return `unknown command '${name}'${near.length ? ` (did you mean ${near.join(", ")}?)` : ""}; ` +
    `'help' lists the commands`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}
