/**
 * What the host and the dom0 agent say to each other through the lab's 9p
 * share: the host writes `requests/<id>.json`, the agent runs the scenario
 * and writes `results/<id>.json` (both written to a temporary name and
 * renamed, so neither side reads half a file).  The agent announces itself
 * in `agent-ready.json`.
 *
 * @module
 */

/** Subdirectory of the share for requests. */
export const REQUEST_DIR = "requests";
/** Subdirectory of the share for results. */
export const RESULT_DIR = "results";
/** Subdirectory of the share for per-scenario dom0 logs. */
export const LOG_DIR = "logs";
/** File the agent writes once it is ready. */
export const READY_FILE = "agent-ready.json";

/** A request to run one scenario. */
export interface ScenarioRequest {
  /** Unique, sortable id, e.g. `"003-ffi-list"`. */
  id: string;
  /** Scenario name (see `tests/xen/dom0/scenarios.ts`), or `"shutdown"`. */
  scenario: string;
  /** Scenario parameters. */
  params: Record<string, unknown>;
  /** The agent abandons the scenario after this long. */
  timeoutSeconds: number;
}

/** A command the agent ran, as the host sees it. */
export interface CommandRecord {
  /** The command line. */
  cmd: string;
  /** Exit code (-1: killed at its timeout). */
  rc: number;
  /** Wall time, seconds. */
  seconds: number;
  /** The end of its stdout. */
  stdout: string;
  /** The end of its stderr. */
  stderr: string;
}

/** The agent's answer. */
export interface ScenarioResult {
  /** The request id. */
  id: string;
  /** The scenario. */
  scenario: string;
  /**
   * `done`: observations collected (the host judges them); `error`: the
   * scenario could not finish (see `error`); `not-implemented`: a xenmig
   * command it needs does not exist yet (see `notImplemented`).
   */
  status: "done" | "error" | "not-implemented";
  /** What went wrong, for `error`. */
  error?: string;
  /** The missing command, e.g. `"xenmig save"`. */
  notImplemented?: string;
  /** Scenario-specific facts (see `observations.ts`). */
  observations: Record<string, unknown>;
  /** The scenario's dom0 log, relative to the share. */
  logFile: string;
  /** Last console lines of each guest the scenario used, by domain name. */
  consoleTails: Record<string, string[]>;
  /** `xl dmesg` of the scenario's window (Xen's log, cleared before). */
  xenDmesg: string;
  /** Environment faults in the window: guest triple faults, dom0 crashes. */
  environmentFaults: string[];
  /** Wall time, seconds. */
  seconds: number;
}

/** What the agent reports when it is ready. */
export interface AgentReady {
  /** dom0 uptime when ready, seconds. */
  uptime: number;
  /** Seconds the agent took to start (deno start-up and imports). */
  startSeconds: number;
  /** `xl info` output. */
  xlInfo: string;
  /** Deno version in dom0. */
  deno: string;
}
