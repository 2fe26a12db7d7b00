/**
 * The one error type of the Xen bindings: names the libxenctrl call, its
 * subject (domid, pfn...) and the errno, e.g.
 * `xc_domain_pause(domid 7): ESRCH (No such process)`.
 *
 * @module
 */

/** Linux errno values the Xen calls report, with strerror(3) texts. */
const ERRNO: Record<number, [string, string]> = {
  1: ["EPERM", "Operation not permitted"],
  2: ["ENOENT", "No such file or directory"],
  3: ["ESRCH", "No such process"],
  4: ["EINTR", "Interrupted system call"],
  5: ["EIO", "Input/output error"],
  6: ["ENXIO", "No such device or address"],
  7: ["E2BIG", "Argument list too long"],
  9: ["EBADF", "Bad file descriptor"],
  11: ["EAGAIN", "Resource temporarily unavailable"],
  12: ["ENOMEM", "Cannot allocate memory"],
  13: ["EACCES", "Permission denied"],
  14: ["EFAULT", "Bad address"],
  16: ["EBUSY", "Device or resource busy"],
  17: ["EEXIST", "File exists"],
  19: ["ENODEV", "No such device"],
  22: ["EINVAL", "Invalid argument"],
  24: ["EMFILE", "Too many open files"],
  28: ["ENOSPC", "No space left on device"],
  34: ["ERANGE", "Numerical result out of range"],
  38: ["ENOSYS", "Function not implemented"],
  75: ["EOVERFLOW", "Value too large for defined data type"],
  95: ["EOPNOTSUPP", "Operation not supported"],
  105: ["ENOBUFS", "No buffer space available"],
};

/**
 * The symbolic name of an errno value (`"ESRCH"`), or `"errno N"`.
 *
 * @example
 * ```ts
 * import { errnoName } from "./errors.ts";
 * console.log(errnoName(3)); // "ESRCH"
 * ```
 */
export function errnoName(errno: number): string {
  return ERRNO[errno]?.[0] ?? `errno ${errno}`;
}

/**
 * The errno value of a symbolic name, e.g. `errnoValue("EINVAL") === 22`.
 *
 * @example
 * ```ts
 * import { errnoValue } from "./errors.ts";
 * console.log(errnoValue("EINVAL")); // 22
 * ```
 */
export function errnoValue(name: string): number {
  for (const [value, [n]] of Object.entries(ERRNO)) if (n === name) return Number(value);
  throw new RangeError(`unknown errno name ${name}`);
}

/**
 * strerror(3) text of an errno value.
 *
 * @example
 * ```ts
 * import { errnoText } from "./errors.ts";
 * console.log(errnoText(3)); // "No such process"
 * ```
 */
export function errnoText(errno: number): string {
  return ERRNO[errno]?.[1] ?? "Unknown error";
}

/** Optional parts of a {@linkcode XenError}. */
export interface XenErrorOptions {
  /** What the call was about, e.g. `"domid 7"`; shown in parentheses. */
  subject?: string;
  /** Replaces the strerror text when the errno alone would mislead. */
  reason?: string;
  /** libxc's own message (`xc_get_last_error`), when it had one. */
  detail?: string;
}

/**
 * A failed Xen call.  Never thrown for programming errors in TypeScript
 * (those are `TypeError`/`RangeError`); always for what the hypervisor or
 * library refused.
 *
 * @example
 * ```ts
 * import { XenError } from "./errors.ts";
 * const e = new XenError("xc_domain_pause", 3, { subject: "domid 7" });
 * console.log(e.message); // "xc_domain_pause(domid 7): ESRCH (No such process)"
 * console.log(e.code); // "ESRCH"
 * ```
 */
export class XenError extends Error {
  /** The C function that failed. */
  readonly call: string;
  /** The errno it reported (positive). */
  readonly errno: number;
  /** Symbolic errno, e.g. `"ESRCH"`. */
  readonly code: string;
  /** libxc's message, if any. */
  readonly detail?: string;

  /** Builds the error; see {@linkcode XenErrorOptions}. */
  constructor(call: string, errno: number, options: XenErrorOptions = {}) {
    const where = options.subject ? `${call}(${options.subject})` : call;
    super(`${where}: ${errnoName(errno)} (${options.reason ?? errnoText(errno)})`);
    this.name = "XenError";
    this.call = call;
    this.errno = errno;
    this.code = errnoName(errno);
    if (options.detail) this.detail = options.detail;
  }
}
