/**
 * Xen 4.17 constants the migration engine needs, named exactly as in the
 * C headers (`xenctrl.h`, `xen/domctl.h`, `xen/hvm/params.h`,
 * `xen/hvm/save.h`, `xen/arch-x86/xen.h`).  Every export of this module is
 * checked against the real headers by `tests/ffi/abi_probe_test.ts`, and
 * `native/build.ts` emits them as `#define`s for the simulator.
 *
 * @example
 * ```ts
 * import { XEN_DOMCTL_SHADOW_OP_CLEAN } from "./constants.ts";
 * console.log(XEN_DOMCTL_SHADOW_OP_CLEAN); // 11
 * ```
 *
 * @module
 */

/** log2 of the guest page size. */
export const XC_PAGE_SHIFT = 12;
/** Guest page size in bytes. */
export const XC_PAGE_SIZE = 4096;
/** Domctl ABI version of Xen 4.17; struct layouts are tied to it. */
export const XEN_DOMCTL_INTERFACE_VERSION = 0x15;

/** Disable shadow / log-dirty mode. */
export const XEN_DOMCTL_SHADOW_OP_OFF = 0;
/** Enable shadow mode with `XEN_DOMCTL_SHADOW_ENABLE_*` mode flags. */
export const XEN_DOMCTL_SHADOW_OP_ENABLE = 32;
/** Return the dirty bitmap and clear Xen's copy for the next round. */
export const XEN_DOMCTL_SHADOW_OP_CLEAN = 11;
/** Return the dirty bitmap without clearing it. */
export const XEN_DOMCTL_SHADOW_OP_PEEK = 12;
/** Legacy enable: shadow mode with no flags. */
export const XEN_DOMCTL_SHADOW_OP_ENABLE_TEST = 1;
/** Legacy enable: log-dirty mode (what libxc's save uses). */
export const XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY = 2;
/** Mode flag for `XEN_DOMCTL_SHADOW_OP_ENABLE`: log dirtied pages. */
export const XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY = 1 << 2;
/** CLEAN/PEEK mode flag: final round, include hypervisor-mapped pages. */
export const XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL = 1 << 0;

/** Create an HVM (or PVH) guest. */
export const XEN_DOMCTL_CDF_hvm = 1 << 0;
/** Use hardware-assisted paging. */
export const XEN_DOMCTL_CDF_hap = 1 << 1;
/** tboot verifies memory integrity over Sx. */
export const XEN_DOMCTL_CDF_s3_integrity = 1 << 2;
/** Disable out-of-sync shadow page tables. */
export const XEN_DOMCTL_CDF_oos_off = 1 << 3;
/** The domain is a xenstore domain. */
export const XEN_DOMCTL_CDF_xs_domain = 1 << 4;
/** The domain may use the IOMMU. */
export const XEN_DOMCTL_CDF_iommu = 1 << 5;
/** Expose nested virtualisation. */
export const XEN_DOMCTL_CDF_nested_virt = 1 << 6;
/** Expose the vPMU. */
export const XEN_DOMCTL_CDF_vpmu = 1 << 7;

/** Domain is scheduled to die. */
export const XEN_DOMINF_dying = 1 << 0;
/** Domain is an HVM guest. */
export const XEN_DOMINF_hvm_guest = 1 << 1;
/** Guest OS has shut down. */
export const XEN_DOMINF_shutdown = 1 << 2;
/** Paused by control software. */
export const XEN_DOMINF_paused = 1 << 3;
/** Blocked pending an event. */
export const XEN_DOMINF_blocked = 1 << 4;
/** Currently running. */
export const XEN_DOMINF_running = 1 << 5;
/** Being debugged. */
export const XEN_DOMINF_debugged = 1 << 6;
/** A xenstore domain. */
export const XEN_DOMINF_xs_domain = 1 << 7;
/** Has hardware-assisted paging. */
export const XEN_DOMINF_hap = 1 << 8;
/** Mask of the guest-supplied shutdown code. */
export const XEN_DOMINF_shutdownmask = 255;
/** Shift of the guest-supplied shutdown code. */
export const XEN_DOMINF_shutdownshift = 16;
/** Shutdown reasons (`xen/sched.h`), as `DomainInfo.shutdownCode` reports them. */
export const SHUTDOWN_poweroff = 0;
/** Shutdown reason: reboot. */
export const SHUTDOWN_reboot = 1;
/** Shutdown reason: suspended for a save or migration. */
export const SHUTDOWN_suspend = 2;
/** Shutdown reason: crashed. */
export const SHUTDOWN_crash = 3;
/** Shutdown reason: the watchdog fired. */
export const SHUTDOWN_watchdog = 4;
/** `max_vcpu_id` of a domain without vcpus. */
export const XEN_INVALID_MAX_VCPU_ID = 0xffffffff;

/** Page type: ordinary page (HVM guests only have these). */
export const XEN_DOMCTL_PFINFO_NOTAB = 0x0;
/** Page type: L1 page table (PV). */
export const XEN_DOMCTL_PFINFO_L1TAB = 0x1 << 28;
/** Page type: L2 page table (PV). */
export const XEN_DOMCTL_PFINFO_L2TAB = 0x2 << 28;
/** Page type: L3 page table (PV). */
export const XEN_DOMCTL_PFINFO_L3TAB = 0x3 << 28;
/** Page type: L4 page table (PV). */
export const XEN_DOMCTL_PFINFO_L4TAB = 0x4 << 28;
/** Mask of the page-table level bits. */
export const XEN_DOMCTL_PFINFO_LTABTYPE_MASK = 0x7 << 28;
/** Page is pinned. */
export const XEN_DOMCTL_PFINFO_LPINTAB = 0x80000000;
/** Invalid page (hole, unpopulated). */
export const XEN_DOMCTL_PFINFO_XTAB = 0xf0000000;
/** Allocate-only page. */
export const XEN_DOMCTL_PFINFO_XALLOC = 0xe0000000;
/** Broken page. */
export const XEN_DOMCTL_PFINFO_BROKEN = 0xd0000000;
/** Mask of all type bits. */
export const XEN_DOMCTL_PFINFO_LTAB_MASK = 0xf0000000;

/** Emulated local APIC. */
export const XEN_X86_EMU_LAPIC = 1 << 0;
/** Emulated HPET. */
export const XEN_X86_EMU_HPET = 1 << 1;
/** Emulated ACPI PM. */
export const XEN_X86_EMU_PM = 1 << 2;
/** Emulated RTC. */
export const XEN_X86_EMU_RTC = 1 << 3;
/** Emulated IO-APIC. */
export const XEN_X86_EMU_IOAPIC = 1 << 4;
/** Emulated PIC. */
export const XEN_X86_EMU_PIC = 1 << 5;
/** Emulated VGA. */
export const XEN_X86_EMU_VGA = 1 << 6;
/** Emulated IOMMU. */
export const XEN_X86_EMU_IOMMU = 1 << 7;
/** Emulated PIT. */
export const XEN_X86_EMU_PIT = 1 << 8;
/** PIRQ routing. */
export const XEN_X86_EMU_USE_PIRQ = 1 << 9;
/** Virtual PCI. */
export const XEN_X86_EMU_VPCI = 1 << 10;
/** Everything an HVM guest emulates. */
export const XEN_X86_EMU_ALL = 0x7ff;

/** `subleaf` value of CPUID leaves without subleaves. */
export const XEN_CPUID_NO_SUBLEAF = 0xffffffff;

/** First domid Xen reserves (DOMID_IO etc.); valid guests are below. */
export const DOMID_FIRST_RESERVED = 0x7ff0;
/** The invalid domid. */
export const DOMID_INVALID = 0x7ff4;

/** Number of HVM params (`HVM_PARAM_*` are below this). */
export const HVM_NR_PARAMS = 39;
/** Event-channel callback IRQ. */
export const HVM_PARAM_CALLBACK_IRQ = 0;
/** Xenstore ring pfn. */
export const HVM_PARAM_STORE_PFN = 1;
/** Xenstore event channel. */
export const HVM_PARAM_STORE_EVTCHN = 2;
/** PAE enabled. */
export const HVM_PARAM_PAE_ENABLED = 4;
/** Synchronous ioreq page pfn. */
export const HVM_PARAM_IOREQ_PFN = 5;
/** Buffered ioreq page pfn. */
export const HVM_PARAM_BUFIOREQ_PFN = 6;
/** Viridian enlightenments. */
export const HVM_PARAM_VIRIDIAN = 9;
/** Timer mode. */
export const HVM_PARAM_TIMER_MODE = 10;
/** HPET enabled. */
export const HVM_PARAM_HPET_ENABLED = 11;
/** Identity-map page table address. */
export const HVM_PARAM_IDENT_PT = 12;
/** ACPI S state. */
export const HVM_PARAM_ACPI_S_STATE = 14;
/** VM86 TSS address. */
export const HVM_PARAM_VM86_TSS = 15;
/** Virtual platform timer alignment. */
export const HVM_PARAM_VPT_ALIGN = 16;
/** PV console ring pfn. */
export const HVM_PARAM_CONSOLE_PFN = 17;
/** PV console event channel. */
export const HVM_PARAM_CONSOLE_EVTCHN = 18;
/** ACPI IO port location. */
export const HVM_PARAM_ACPI_IOPORTS_LOCATION = 19;
/** Nested HVM enabled. */
export const HVM_PARAM_NESTEDHVM = 24;
/** Paging ring pfn. */
export const HVM_PARAM_PAGING_RING_PFN = 27;
/** Monitor ring pfn. */
export const HVM_PARAM_MONITOR_RING_PFN = 28;
/** Sharing ring pfn. */
export const HVM_PARAM_SHARING_RING_PFN = 29;
/** Triple fault reason. */
export const HVM_PARAM_TRIPLE_FAULT_REASON = 31;
/** First ioreq server pfn. */
export const HVM_PARAM_IOREQ_SERVER_PFN = 32;
/** Number of ioreq server pages. */
export const HVM_PARAM_NR_IOREQ_SERVER_PAGES = 33;
/** VM generation id address. */
export const HVM_PARAM_VM_GENERATION_ID_ADDR = 34;
/** altp2m mode. */
export const HVM_PARAM_ALTP2M = 35;
/** x87 FIP width. */
export const HVM_PARAM_X87_FIP_WIDTH = 36;
/** VM86 TSS with size. */
export const HVM_PARAM_VM86_TSS_SIZED = 37;
/** MCA capabilities. */
export const HVM_PARAM_MCA_CAP = 38;

/** Magic of `struct hvm_save_header`. */
export const HVM_FILE_MAGIC = 0x54381286;
/** Version of the HVM save format. */
export const HVM_FILE_VERSION = 0x00000001;

/** libxc error code: no error. */
export const XC_ERROR_NONE = 0;
/** libxc error code: internal error (failed hypercalls report this). */
export const XC_INTERNAL_ERROR = 1;
/** libxc error code: invalid kernel. */
export const XC_INVALID_KERNEL = 2;
/** libxc error code: invalid parameter. */
export const XC_INVALID_PARAM = 3;
/** libxc error code: out of memory. */
export const XC_OUT_OF_MEMORY = 4;

/**
 * HVM save record typecodes (`HVM_SAVE_CODE(name)` in `xen/hvm/save.h`),
 * the `typecode` of each `struct hvm_save_descriptor`.
 *
 * @example
 * ```ts
 * import { HVM_SAVE_CODE } from "./constants.ts";
 * console.log(HVM_SAVE_CODE.CPU); // 2
 * ```
 */
export const HVM_SAVE_CODE = {
  END: 0,
  HEADER: 1,
  CPU: 2,
  PIC: 3,
  IOAPIC: 4,
  LAPIC: 5,
  LAPIC_REGS: 6,
  PCI_IRQ: 7,
  ISA_IRQ: 8,
  PCI_LINK: 9,
  PIT: 10,
  RTC: 11,
  HPET: 12,
  PMTIMER: 13,
  MTRR: 14,
  VIRIDIAN_DOMAIN: 15,
  VIRIDIAN_VCPU: 17,
  VMCE_VCPU: 18,
  TSC_ADJUST: 19,
} as const;

/** mmap(2) protection: readable (`prot` of foreign maps). */
export const PROT_READ = 1;
/** mmap(2) protection: writable. */
export const PROT_WRITE = 2;
