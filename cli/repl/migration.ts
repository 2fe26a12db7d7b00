/**
 * One migration as the REPL drives it: a {@linkcode SaveSession} (the same
 * engine object `xenmig save` / `migrate` run to completion) writing into
 * the `--to` channel, stepped one command at a time, with xl's migrate
 * handshake around it on two-way channels.
 *
 * Any engine failure aborts the migration at once (log-dirty off, the guest
 * running, the output discarded): a stream with a failed write in it is not
 * worth continuing.
 *
 * @module
 */

import type { IterationStats, PrecopyPolicy } from "../../lib/engine/policy.ts";
import { SaveSession, type SaveStats } from "../../lib/engine/save_session.ts";
import { type Channel, openSendChannel, type Target } from "../../lib/engine/transport.ts";
import type { Hypervisor } from "../../lib/xen/hypervisor.ts";
import { describeError } from "../engine_command.ts";
import { discardChannel } from "./discard_channel.ts";
import { SenderHandshake, SourceRename } from "../../lib/engine/handshake.ts";
import { ReplError } from "./reply.ts";

/** How a migration ended, past the engine's phase. */
export type MigrationOutcome =
  | "none"
  | "saved" // finish done, stream complete (file or discarded)
  | "handed-over" // the receiver runs the domain
  | "undecided" // permission to go sent, no report: both copies paused
  | "aborted";

/** Options of {@linkcode ReplMigration.open}. */
export interface MigrationOptions {
  /** Where the stream goes (default: discarded). */
  target?: Target;
  /** The policy in force. */
  policy: PrecopyPolicy;
  /**
   * After a hand-over to a receiver, leave the source paused instead of
   * destroying it (to compare memory); after a save to a file, keep it
   * paused on exit instead of resuming it.
   */
  keepSource?: boolean;
}

/** A migration being stepped. */
export class ReplMigration {
  /** The engine. */
  readonly engine: SaveSession;
  /** The domain's id. */
  readonly domid: number;
  /** Where the stream goes, for messages. */
  readonly destination: string;
  #channel: Channel;
  #handshake?: SenderHandshake;
  #keepSource: boolean;
  #wasPaused = false;
  #holdsPause = false;
  #outcome: MigrationOutcome = "none";
  #sourceDestroyed = false;

  private constructor(
    engine: SaveSession,
    domid: number,
    channel: Channel,
    keepSource: boolean,
    rename: SourceRename | undefined,
  ) {
    this.engine = engine;
    this.domid = domid;
    this.#channel = channel;
    this.destination = channel.describe;
    this.#keepSource = keepSource;
    if (channel.replies) {
      this.#handshake = new SenderHandshake(
        channel.replies,
        channel.sink,
        rename,
      );
    }
  }

  /** Opens the destination and prepares a live save of `domid` (nothing is sent yet). */
  static async open(
    hv: Hypervisor,
    domid: number,
    options: MigrationOptions,
  ): Promise<ReplMigration> {
    const channel = options.target ? await openSendChannel(options.target) : discardChannel();
    try {
      const engine = new SaveSession(hv, domid, channel.sink, {
        live: true,
        policy: options.policy,
        format: "xl",
      });
      return new ReplMigration(
        engine,
        domid,
        channel,
        options.keepSource ?? false,
        SourceRename.of(hv, domid),
      );
    } catch (e) {
      await channel.abort();
      throw e;
    }
  }

  /** Whether the xl migrate handshake is spoken (two-way channel). */
  get protocol(): boolean {
    return this.#handshake !== undefined;
  }

  /** Log-dirty on or stop-and-copy under way: leaving now needs an abort. */
  get active(): boolean {
    return this.engine.phase === "precopy" || this.engine.phase === "stopped";
  }

  /** Whether this migration keeps the guest paused (after stop-and-copy). */
  get holdsPause(): boolean {
    return this.#holdsPause;
  }

  /** How it ended. */
  get outcome(): MigrationOutcome {
    return this.#outcome;
  }

  /** Whether the source domain was destroyed after a hand-over. */
  get sourceDestroyed(): boolean {
    return this.#sourceDestroyed;
  }

  /** Whether the source is to stay paused after finishing (`--keep-source`). */
  get keepSource(): boolean {
    return this.#keepSource;
  }

  /** Throws a clear error unless the engine is in one of `phases`. */
  expectPhase(what: string, ...phases: string[]): void {
    const phase = this.engine.phase;
    if (phases.includes(phase)) return;
    if (phase === "new") throw new ReplError(`${what}: not started yet ('start' first)`);
    if (phase === "done") {
      throw new ReplError(`${what}: this migration is finished ('attach' to begin another)`);
    }
    if (phase === "aborted") {
      throw new ReplError(`${what}: this migration was aborted ('attach' to begin another)`);
    }
    if (phase === "precopy") throw new ReplError(`${what}: already started (phase precopy)`);
    throw new ReplError(`${what}: not possible in phase ${phase}`);
  }

  /** Runs an engine call; on failure aborts everything and says so. */
  async #guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (this.engine.phase !== "aborted") await this.abort(`${what} failed`);
      throw new ReplError(
        `${what} failed: ${describeError(e)}; migration aborted (log-dirty off, ` +
          `domain ${this.domid} running, output discarded)`,
      );
    }
  }

  /** Handshake (two-way channels), headers, static data, log-dirty on, the first pass. */
  start(): Promise<IterationStats> {
    this.expectPhase("start", "new");
    return this.#guard("start", async () => {
      await this.#handshake?.greet();
      this.#wasPaused = this.engine.domain.info().paused;
      return await this.engine.start();
    });
  }

  /** Exactly one precopy iteration. */
  step(): Promise<IterationStats> {
    this.expectPhase("step", "precopy");
    return this.#guard("step", () => this.engine.step());
  }

  /**
   * Stop-and-copy, tail records and END; then the hand-over (two-way
   * channels) or the file's commit.
   */
  async finish(): Promise<SaveStats> {
    this.expectPhase("finish", "precopy");
    const stats = await this.#guard("finish", () => this.engine.finish());
    this.#holdsPause = !this.#wasPaused;
    if (this.#handshake) {
      try {
        await this.#handshake.handOver();
      } catch (e) {
        if (this.#handshake.state === "undecided") {
          // Permission to go was given: the destination may be running.
          // Never two running copies: the source stays paused.
          this.#outcome = "undecided";
          await this.#channel.abort();
          throw new ReplError(
            `hand-over failed: ${describeError(e)}; the receiver was given permission to go ` +
              `but did not report, so domain ${this.domid} is left stopped at the source: ` +
              `check the destination before resuming either copy`,
          );
        }
        await this.abort("hand-over failed");
        throw new ReplError(
          `hand-over failed: ${describeError(e)}; migration aborted (domain ${this.domid} ` +
            `running at the source)`,
        );
      }
    }
    try {
      await this.#channel.commit();
    } catch (e) {
      if (this.#handshake) {
        // The receiver already runs it; only the channel's close failed.
        this.#outcome = "handed-over";
      } else {
        await this.abort("commit failed");
        throw new ReplError(`could not complete ${this.destination}: ${describeError(e)}`);
      }
    }
    if (this.#handshake) {
      this.#outcome = "handed-over";
      if (!this.#keepSource) {
        this.engine.domain.destroy();
        this.#sourceDestroyed = true;
        this.#holdsPause = false;
      }
    } else {
      this.#outcome = "saved";
    }
    return stats;
  }

  /**
   * Gives up: log-dirty off, the guest unpaused (if this migration paused
   * it), the output discarded.  Safe in any phase.
   */
  async abort(reason = "aborted by the user"): Promise<void> {
    if (this.#outcome === "handed-over" || this.#outcome === "undecided") {
      // The destination runs (or may run) the domain: the source must not.
      return;
    }
    this.engine.abort(reason);
    this.#holdsPause = false;
    this.#outcome = "aborted";
    await this.#channel.abort();
  }

  /** Resumes the source after a finished save (as `xl save -c` leaves it). */
  resumeSource(): void {
    if (this.#outcome === "handed-over" || this.#outcome === "undecided") {
      throw new ReplError(
        `domain ${this.domid} was handed over to the receiver: resuming the source too ` +
          `would run two copies`,
      );
    }
    if (!this.#holdsPause) return;
    this.engine.resumeSource();
    this.#holdsPause = false;
  }

  /** Releases the destination of a migration never started (detach). */
  async discard(): Promise<void> {
    if (this.engine.phase === "new") await this.abort("detached");
  }
}
