/**
 * The `vcpu_info` chunk (`XC_SAVE_ID_VCPU_INFO`): the highest vcpu id and a
 * bitmap of online vcpus, one bit per vcpu in 64-bit words.  The PV tail
 * then holds one set of contexts per online vcpu, in bitmap order.
 *
 * ```
 * int32_t   max_vcpu_id
 * uint64_t  vcpumap[max_vcpu_id / 64 + 1]
 * ```
 *
 * @module
 */

/**
 * Number of bitmap words after `max_vcpu_id`: `max_vcpu_id // 64 + 1` with
 * Python's floor division, so a negative id has none.
 *
 * @example
 * ```ts
 * import { vcpuBitmapWords } from "./vcpu_info.ts";
 * console.assert(vcpuBitmapWords(0) === 1 && vcpuBitmapWords(64) === 2 && vcpuBitmapWords(-1) === 0);
 * ```
 */
export function vcpuBitmapWords(maxVcpuId: number): number {
  return Math.max(0, Math.floor(maxVcpuId / 64) + 1);
}

/**
 * The online vcpu ids in a bitmap of little-endian 64-bit words, ascending.
 *
 * @example
 * ```ts
 * import { decodeVcpuBitmap } from "./vcpu_info.ts";
 * const map = new Uint8Array(16);
 * map[0] = 0b101; // vcpus 0 and 2
 * map[8] = 1; // vcpu 64
 * console.assert(decodeVcpuBitmap(map).join() === "0,2,64");
 * ```
 */
export function decodeVcpuBitmap(bitmap: Uint8Array): number[] {
  const online: number[] = [];
  for (let byte = 0; byte < bitmap.length; byte++) {
    let bits = bitmap[byte];
    for (let bit = 0; bits !== 0; bit++, bits >>= 1) {
      if (bits & 1) online.push(byte * 8 + bit);
    }
  }
  return online;
}
