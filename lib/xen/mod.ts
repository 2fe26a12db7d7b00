/**
 * Xen 4.17 libxenctrl / libxenguest / libxenforeignmemory over Deno FFI,
 * with a libxenctrl-compatible simulator, for save and restore of HVM/PVH
 * guests.  No pointer crosses this API.
 *
 * @example Open the simulator, dirty-track a guest, read a page
 * ```ts
 * import { bitmapBytes, openHypervisor, PROT_READ } from "./mod.ts";
 * using s = await openHypervisor({ sim: "mem=64M,rate=2000" });
 * const dom = s.hv.domain(s.domid!);
 * const pages = dom.maxGpfn() + 1;
 * dom.logDirty.enable();
 * dom.pause();
 * const bitmap = new Uint8Array(bitmapBytes(pages));
 * dom.logDirty.clean(bitmap, pages);
 * using m = s.hv.foreignMemory.map(dom.domid, [0], PROT_READ);
 * console.log(m.page(0).length); // 4096
 * dom.logDirty.off();
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export { Domain } from "./domain.ts";
export { errnoName, errnoText, errnoValue, XenError, type XenErrorOptions } from "./errors.ts";
export { ForeignMapping, ForeignMemory } from "./foreign_memory.ts";
export { Hypervisor, type HypervisorOptions, PRIVCMD } from "./hypervisor.ts";
export {
  type FieldLayout,
  type FieldType,
  LAYOUTS,
  SCALAR_SIZES,
  type StructLayout,
} from "./layout.ts";
export { type Backend, XEN_SONAMES } from "./library.ts";
export {
  assertNameFree,
  connectGuestRings,
  domainCalled,
  type GuestEntries,
  guestName,
  guestNames,
  type GuestRings,
  type GuestType,
  isGuestName,
  removeGuestEntries,
  renameGuest,
  type RenameOptions,
  type RingEndpoint,
  writeGuestEntries,
} from "./guest_xenstore.ts";
export {
  LIBXL_USERDATA_DIR,
  readDomainConfig,
  removeUserdata,
  storeDomainConfig,
  userdataPath,
} from "./libxl_userdata.ts";
export { type WatchEvent, XBT_NULL, XenStore, XS_PERM, type XsPermission } from "./xenstore.ts";
export { bitmapBytes, type CleanOptions, LogDirty, type Releasable } from "./log_dirty.ts";
export { HypervisorSession, openHypervisor, type OpenHypervisorOptions } from "./open.ts";
export { checkPageStamp, pageGeneration, type StampCheck } from "./page_stamp.ts";
export {
  SimControl,
  type SimDomainStats,
  type SimGlobalStats,
  type Workload,
} from "./sim_control.ts";
export { parseSimSpec, SIM_MEM_LIMITS, type SimSpec, type WorkloadPattern } from "./sim_spec.ts";
export type {
  CpuidLeaf,
  CpuPolicy,
  CreateDomainConfig,
  DomainInfo,
  DomainState,
  GnttabSeed,
  LogDirtyStats,
  MsrEntry,
  PodTarget,
  TscInfo,
  VcpuInfo,
} from "./types.ts";
