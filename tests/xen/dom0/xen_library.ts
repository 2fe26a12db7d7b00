/**
 * xenmig's Xen bindings (`lib/xen/mod.ts`), loaded at run time in dom0.
 *
 * The import is dynamic and typed by the narrow interfaces below — just
 * what the scenarios call — so the lab keeps working (and type-checking)
 * while the bindings evolve, and a missing or broken module becomes one
 * scenario's clear failure instead of the agent's.
 *
 * @module
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The fields of a domain's info the scenarios read. */
export interface XenDomainInfo {
  /** Domain id. */
  domid: number;
  /** HVM container (HVM or PVH). */
  hvm: boolean;
  /** Flags. */
  paused: boolean;
  /** Flags. */
  running: boolean;
  /** Flags. */
  blocked: boolean;
  /** Flags. */
  shutdown: boolean;
  /** Shutdown reason. */
  shutdownCode: number;
  /** Flags. */
  dying: boolean;
  /** Pages allocated. */
  totPages: number;
  /** Page limit. */
  maxPages: number;
  /** Online vcpus. */
  onlineVcpus: number;
  /** CPU time, ns. */
  cpuTimeNs: bigint;
}

/** Counters a log-dirty CLEAN returns. */
export interface XenLogDirtyStats {
  /** Pages dirtied since the last CLEAN. */
  dirtyCount: number;
  /** Log-dirty faults since the last CLEAN. */
  faultCount: number;
}

/** A domain handle. */
export interface XenDomainHandle {
  /** Domain info. */
  info(): XenDomainInfo;
  /** Pause. */
  pause(): void;
  /** Unpause. */
  unpause(): void;
  /** Highest guest pfn. */
  maxGpfn(): number;
  /** Log-dirty control. */
  logDirty: {
    enable(): void;
    clean(bitmap: Uint8Array, pages: number): XenLogDirtyStats;
    off(): void;
  };
}

/** An open hypervisor interface. */
export interface XenHypervisor {
  /** Every domain. */
  domains(): XenDomainInfo[];
  /** One domain. */
  domain(domid: number): XenDomainHandle;
  /** Close. */
  close(): void;
}

/** The module's exports the scenarios use. */
export interface XenBindings {
  /** The hypervisor class. */
  Hypervisor: { open(options: { backend: "xen" }): XenHypervisor };
  /** Bitmap size for a page count. */
  bitmapBytes(pages: number): number;
}

/** An error as the bindings throw it (`XenError`: call, errno, code). */
export interface XenErrorLike {
  /** Message, e.g. `xc_logdirty_control(domid 2, ENABLE_LOGDIRTY): EOPNOTSUPP (...)`. */
  message: string;
  /** Errno. */
  errno?: number;
  /** Symbolic errno. */
  code?: string;
  /** The failing C call. */
  call?: string;
}

/** Describes a thrown value the way the host wants to see it. */
export function describeError(e: unknown): XenErrorLike {
  if (e instanceof Error) {
    const x = e as Error & { errno?: number; code?: string; call?: string };
    return { message: `${e.name}: ${e.message}`, errno: x.errno, code: x.code, call: x.call };
  }
  return { message: String(e) };
}

/** Loads `lib/xen/mod.ts` from the project; a string says why it cannot. */
export async function loadXenBindings(projectRoot: string): Promise<XenBindings | string> {
  const path = join(projectRoot, "lib", "xen", "mod.ts");
  try {
    const mod = await import(pathToFileURL(path).href) as Partial<XenBindings>;
    if (typeof mod.Hypervisor?.open !== "function" || typeof mod.bitmapBytes !== "function") {
      return `${path} exports no Hypervisor.open / bitmapBytes`;
    }
    return mod as XenBindings;
  } catch (e) {
    return `cannot load ${path}: ${e instanceof Error ? e.message : e}`;
  }
}
