/**
 * `verify --json`: a summary of what a stream holds — records by type, pages
 * by type, distinct pfns, pfns sent more than once (later precopy passes),
 * vcpus, checkpoints and bytes.
 *
 * @module
 */

import {
  DHDR_TYPE_NAMES,
  PAGE_TYPE_NAMES,
  pageTypeHasData,
  REC_TYPE,
  recTypeName,
} from "../libxc/constants.ts";
import { decodeHvmContext, HVM_SAVE_TYPE } from "../libxc/hvm_context.ts";
import type { LibxcRecord, UnknownLibxcRecord } from "../libxc/records.ts";
import { LIBXL_REC_TYPE, libxlRecTypeName } from "../libxl/constants.ts";
import { PfnTracker } from "./pfn_tracker.ts";

/** The summary `verify --json` prints. */
export interface StreamSummary {
  /** Outermost format. */
  format: string;
  /** Bytes read, up to the end of the final END record. */
  bytes: number;
  /** libxc image version. */
  version?: number;
  /** Guest type, as Xen's verifier names it. */
  domainType?: string;
  /** Xen version of the sender ("legacy" for converted streams). */
  xenVersion?: string;
  /** Record counts by layer and type name. */
  records: { libxc: Record<string, number>; libxl: Record<string, number> };
  /** PAGE_DATA entries by page type name. */
  pages: Record<string, number>;
  /** Entries that carried page contents. */
  pagesWithData: number;
  /** Distinct pfns in PAGE_DATA records. */
  uniquePfns: number;
  /** Distinct pfns sent more than once (re-sent by later precopy passes). */
  pfnsSentMoreThanOnce: number;
  /** False if pfn counts are lower bounds (tracking limit reached). */
  pfnCountsExact: boolean;
  /** Distinct vcpus with context in the stream. */
  vcpus: number;
  /** CHECKPOINT (libxc) plus CHECKPOINT_END (libxl) records. */
  checkpoints: number;
  /** `--strict` warnings. */
  warnings: { message: string; offset: number }[];
}

/** Accumulates a {@linkcode StreamSummary} from decoded records. */
export class SummaryCollector {
  #pfns = new PfnTracker();
  #vcpus = new Set<number>();
  readonly summary: StreamSummary;

  /** Starts a summary of a stream of `format`. */
  constructor(format: string) {
    this.summary = {
      format,
      bytes: 0,
      records: { libxc: {}, libxl: {} },
      pages: {},
      pagesWithData: 0,
      uniquePfns: 0,
      pfnsSentMoreThanOnce: 0,
      pfnCountsExact: true,
      vcpus: 0,
      checkpoints: 0,
      warnings: [],
    };
  }

  /** Notes the libxc headers. */
  headers(version: number, domainType: number, xenMajor: number, xenMinor: number): void {
    this.summary.version = version;
    this.summary.domainType = DHDR_TYPE_NAMES[domainType];
    this.summary.xenVersion = xenMajor === 0 ? "legacy" : `${xenMajor}.${xenMinor}`;
  }

  /** Counts a libxc record. */
  libxc(rec: LibxcRecord | UnknownLibxcRecord): void {
    const s = this.summary;
    const name = recTypeName(rec.type);
    s.records.libxc[name] = (s.records.libxc[name] ?? 0) + 1;
    if ("unknown" in rec) return;
    switch (rec.type) {
      case REC_TYPE.PAGE_DATA:
        for (let i = 0; i < rec.count; i++) {
          const t = rec.types[i];
          const tn = PAGE_TYPE_NAMES[t] ?? `0x${t.toString(16)}`;
          s.pages[tn] = (s.pages[tn] ?? 0) + 1;
          if (pageTypeHasData(t)) s.pagesWithData++;
          this.#pfns.add(rec.pfns[i]);
        }
        break;
      case REC_TYPE.X86_PV_VCPU_BASIC:
        this.#vcpus.add(rec.vcpuId);
        break;
      case REC_TYPE.HVM_CONTEXT:
        try {
          for (const r of decodeHvmContext(rec.data)) {
            if (r.typecode === HVM_SAVE_TYPE.CPU) this.#vcpus.add(r.instance);
          }
        } catch {
          // A malformed blob is --strict's business; the summary counts what it can.
        }
        break;
      case REC_TYPE.CHECKPOINT:
        s.checkpoints++;
        break;
    }
  }

  /** Counts a libxl record. */
  libxl(type: number): void {
    const name = libxlRecTypeName(type);
    this.summary.records.libxl[name] = (this.summary.records.libxl[name] ?? 0) + 1;
    if (type === LIBXL_REC_TYPE.CHECKPOINT_END) this.summary.checkpoints++;
  }

  /** Completes the summary. */
  finish(bytes: number): StreamSummary {
    const s = this.summary;
    s.bytes = bytes;
    s.uniquePfns = this.#pfns.unique;
    s.pfnsSentMoreThanOnce = this.#pfns.repeated;
    s.pfnCountsExact = this.#pfns.exact;
    s.vcpus = this.#vcpus.size;
    return s;
  }
}
