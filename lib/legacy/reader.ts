/**
 * A streaming reader of legacy (pre-Xen 4.6) save images, for 32- and
 * 64-bit toolstacks, PV and HVM guests.  It reports the image's structures
 * as {@linkcode LegacyEvent}s in stream order and applies every check Xen's
 * `convert-legacy-stream` applies, with its messages; where Xen's script
 * crashes instead (a missing `vcpu` block, an `xcnt` block without its size
 * word, an xsave size mismatch, a `p2m_size` the v2 record cannot hold) it
 * raises a {@linkcode StreamError} naming the structure and its offset.
 *
 * The layout:
 *
 * ```
 * unsigned long p2m_size
 * PV:  extended-info, p2m frame list (unsigned long each)
 * body: chunks until type 0 (page batches when positive, see chunks.ts)
 * PV tail:  unmapped pfns, per online vcpu: basic [extended] [xsave], shared info
 * HVM tail: ioreq / bufioreq / store pfns (uint64_t), HVM context (uint32_t size + data)
 * HVM:  qemu record ("DeviceModelRecord0002", uint32_t size, data)
 * ```
 *
 * Memory is bounded: everything long — page data, contexts, qemu state — is
 * handed out as a {@linkcode LegacyBlob}, which the consumer reads piece by
 * piece or moves to its output (inside the kernel, from an `FdInput`).
 *
 * @module
 */

import { StreamError } from "../errors.ts";
import type { LegacyInput } from "./input.ts";
import { LegacyBlob } from "./blob.ts";
import { CHUNK, chunkName, LEGACY_CHUNKS, type LegacyChunkSpec } from "./chunks.ts";
import {
  EXT_INFO_BLOCK,
  EXT_INFO_SIGNATURE,
  LEGACY_PAGE_SIZE,
  type LegacyGuestType,
  MAX_BATCH,
  MAX_VCPU_ID,
  QEMU_SIGNATURE,
  QEMU_SIGNATURE_SIZE,
  SHARED_INFO_SIZE,
  type ToolstackWidth,
  VCPU_EXTENDED_CONTEXT_SIZE,
  VCPU_XSAVE_HEADER_SIZE,
} from "./constants.ts";
import { LegacyUnsupportedError } from "./errors.ts";
import type { LegacyEvent } from "./events.ts";
import {
  decodeBlockId,
  EXT_INFO_BLOCK_HEADER_SIZE,
  interpretExtInfoBlock,
  XCNT_DATA_SIZE,
} from "./extended_info.ts";
import { checkBatchCount, decodeBatchPfns } from "./page_batch.ts";
import { printableBytes } from "./toolstack.ts";
import { decodeVcpuBitmap, vcpuBitmapWords } from "./vcpu_info.ts";

/** How to read an image. */
export interface LegacyReaderOptions {
  /** Word size of the toolstack that wrote it. */
  width: ToolstackWidth;
  /** Guest type. */
  guestType: LegacyGuestType;
  /** Read the qemu record after an HVM image (Xen's script skips it with `--skip-qemu` in libxc mode). */
  qemu: boolean;
}

/** The largest `p2m_size` an X86_PV_P2M_FRAMES record can describe (its end pfn is 32 bits). */
const MAX_PV_P2M_SIZE = 0x100000000n;

function hex(v: number | bigint): string {
  return v.toString(16);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads a legacy image from a {@linkcode LegacyInput} (a `StreamReader`,
 * an `FdInput`) positioned at its first octet (after any xl header).
 *
 * @example Read a minimal 64-bit HVM image
 * ```ts
 * import { LegacyReader } from "./reader.ts";
 * import { StreamReader } from "../io/stream_reader.ts";
 * import { bytesSource } from "../io/byte_source.ts";
 * const image = new Uint8Array(8 + 4 + 24 + 4 + 8);
 * const v = new DataView(image.buffer);
 * v.setBigUint64(0, 0x100n, true); // p2m_size
 * // chunk type 0 (end), three magic pfns of 0
 * v.setUint32(36, 8, true); // HVM context: 8 bytes
 * const kinds: string[] = [];
 * const reader = new LegacyReader(new StreamReader(bytesSource(image)), {
 *   width: 64, guestType: "hvm", qemu: false,
 * });
 * for await (const ev of reader.events()) kinds.push(ev.kind);
 * console.assert(kinds.join() === "p2m-size,chunk,hvm-magic-pfns,hvm-context,image-end");
 * ```
 */
export class LegacyReader {
  #r: LegacyInput;
  #width: ToolstackWidth;
  #ulong: number;
  #pv: boolean;
  #qemu: boolean;
  #blob: LegacyBlob | undefined;
  #pfns = new Uint32Array(MAX_BATCH);
  // What the image said about the VM, which the tail's layout depends on.
  #guestWidth = 0;
  #basicLen = 0;
  #extd = false;
  #xsaveLen = 0;
  #online: number[] = [];
  #hvmOnlyInPv: { offset: number; chunk: LegacyChunkSpec } | undefined;

  /** Reads from `reader` as `options` say. */
  constructor(reader: LegacyInput, options: LegacyReaderOptions) {
    this.#r = reader;
    this.#width = options.width;
    this.#ulong = options.width / 8;
    this.#pv = options.guestType === "pv";
    this.#qemu = options.qemu;
  }

  /**
   * The events of the image, in stream order.  A blob an event carries is
   * skipped if the consumer has not read it when it asks for the next event.
   */
  async *events(): AsyncGenerator<LegacyEvent, void, undefined> {
    for await (const ev of this.#all()) {
      yield ev;
      const blob = this.#blob;
      this.#blob = undefined;
      await blob?.drain();
    }
  }

  async *#all(): AsyncGenerator<LegacyEvent, void, undefined> {
    const offset = this.#r.offset;
    const p2mSize = await this.#readUlong("legacy p2m_size");
    yield { kind: "p2m-size", offset, p2mSize };
    if (this.#pv) {
      yield* this.#extendedInfo();
      yield* this.#p2mFrames(p2mSize, offset);
    }
    yield* this.#chunks();
    if (this.#pv) yield* this.#pvTail();
    else yield* this.#hvmTail();
    yield { kind: "image-end", offset: this.#r.offset };
    if (!this.#pv && this.#qemu) yield* this.#qemuRecord();
  }

  #blobOf(length: number, where: string): LegacyBlob {
    this.#blob = new LegacyBlob(this.#r, this.#r.offset, length, where);
    return this.#blob;
  }

  async #readUlong(where: string): Promise<bigint> {
    const b = await this.#r.readExact(this.#ulong, where);
    return this.#ulong === 8 ? view(b).getBigUint64(0, true) : BigInt(view(b).getUint32(0, true));
  }

  async #readU32(where: string): Promise<number> {
    return view(await this.#r.readExact(4, where)).getUint32(0, true);
  }

  async *#extendedInfo(): AsyncGenerator<LegacyEvent, void, undefined> {
    const r = this.#r;
    const offset = r.offset;
    const where = "PV extended-info signature";
    const signature = await this.#readUlong(where);
    if (signature !== EXT_INFO_SIGNATURE[this.#width]) {
      throw new StreamError(`Unexpected extended info marker 0x${hex(signature)}`, offset, where);
    }
    const totalLength = await this.#readU32("PV extended-info length");
    yield { kind: "extended-info", offset, totalLength };
    let soFar = 0;
    while (soFar < totalLength) {
      const at = r.offset;
      const h = await r.readExact(EXT_INFO_BLOCK_HEADER_SIZE, "PV extended-info block header");
      const id = decodeBlockId(h);
      const size = view(h).getUint32(4, true);
      soFar += EXT_INFO_BLOCK_HEADER_SIZE + size;
      const blockWhere = `PV extended-info block "${id}" data`;
      let head = new Uint8Array(0);
      if (id === EXT_INFO_BLOCK.XCNT && size >= XCNT_DATA_SIZE) {
        head = (await r.readExact(XCNT_DATA_SIZE, blockWhere)).slice();
      }
      const block = interpretExtInfoBlock(id, size, head, at);
      await r.skip(size - head.length, blockWhere);
      if (block.guestWidth !== undefined) {
        this.#guestWidth = block.guestWidth;
        this.#basicLen = size;
      } else if (id === EXT_INFO_BLOCK.EXTV) {
        this.#extd = true;
      } else if (block.xsaveLen !== undefined) {
        this.#xsaveLen = block.xsaveLen;
      }
      yield { kind: "ext-info-block", offset: at, block };
    }
    if (soFar !== totalLength) {
      throw new StreamError(
        `Overshot Extended Info size by ${soFar - totalLength} bytes`,
        offset,
        "PV extended-info",
      );
    }
    yield { kind: "extended-info-end", offset: r.offset };
  }

  async *#p2mFrames(p2mSize: bigint, p2mOffset: number): AsyncGenerator<LegacyEvent> {
    const offset = this.#r.offset;
    if (this.#guestWidth === 0) {
      throw new StreamError(
        "PV extended info has no vcpu block, so the guest width is unknown",
        offset,
        "PV p2m frame list",
      );
    }
    if (p2mSize === 0n || p2mSize > MAX_PV_P2M_SIZE) {
      throw new StreamError(
        `p2m_size 0x${hex(p2mSize)} is out of range (1 to 0x${hex(MAX_PV_P2M_SIZE)}: ` +
          "X86_PV_P2M_FRAMES holds a 32-bit end pfn)",
        p2mOffset,
        "legacy p2m_size",
      );
    }
    const framesPerPage = LEGACY_PAGE_SIZE / this.#guestWidth;
    const count = Number((p2mSize - 1n) / BigInt(framesPerPage)) + 1;
    const frames = this.#blobOf(count * this.#ulong, "PV p2m frame list");
    yield { kind: "p2m-frames", offset, p2mSize, framesPerPage, count, frames };
  }

  async *#chunks(): AsyncGenerator<LegacyEvent, void, undefined> {
    const r = this.#r;
    for (;;) {
      const offset = r.offset;
      const type = view(await r.readExact(4, "legacy chunk type")).getInt32(0, true);
      if (type > 0) {
        checkBatchCount(type, offset);
        const words = await r.readExact(type * this.#ulong, "legacy page batch pfn array");
        const pfns = decodeBatchPfns(words, type, this.#width, this.#pfns, offset + 4);
        const pages = this.#blobOf(pfns.dataPages * LEGACY_PAGE_SIZE, "legacy page batch data");
        yield {
          kind: "page-batch",
          offset,
          count: type,
          pfns: this.#pfns.subarray(0, pfns.kept),
          dropped: pfns.dropped,
          pages,
        };
        continue;
      }
      const chunk = LEGACY_CHUNKS[type];
      if (!chunk) throw new StreamError(`Unrecognised chunk ${type}`, offset, "legacy chunk type");
      const where = `legacy chunk ${chunkName(type)}`;
      if (!chunk.supported) {
        // Read what can be read first, so a truncated stream is reported as such (as by Xen).
        if (chunk.layout === "sized") await r.skip(await this.#readU32(where), where);
        throw new LegacyUnsupportedError(
          `${chunk.name} chunks are not supported (Xen's converter does not implement them either)`,
          offset,
          where,
        );
      }
      switch (chunk.layout) {
        case "none":
          if (type === CHUNK.end && this.#hvmOnlyInPv) {
            const bad = this.#hvmOnlyInPv;
            throw new StreamError(
              "HVM-only param in PV stream",
              bad.offset,
              `legacy chunk ${chunkName(bad.chunk.id)}`,
            );
          }
          yield { kind: "chunk", offset, chunk };
          if (type === CHUNK.end) return;
          break;
        case "vcpu_info": {
          const maxVcpuId = view(await r.readExact(4, where)).getInt32(0, true);
          if (maxVcpuId > MAX_VCPU_ID) {
            throw new StreamError(
              `Vcpu max_id out of range: ${maxVcpuId} > ${MAX_VCPU_ID}`,
              offset,
              where,
            );
          }
          const bitmap = await r.readExact(vcpuBitmapWords(maxVcpuId) * 8, where);
          const online = decodeVcpuBitmap(bitmap);
          // Several vcpu_info chunks add up, as in Xen's converter.
          this.#online.push(...online);
          yield { kind: "vcpu-info", offset, chunk, maxVcpuId, online, onlineAll: this.#online };
          break;
        }
        case "hvm_param": {
          const value = view(await r.readExact(12, where)).getBigUint64(4, true);
          // Xen's converter objects only at the end of the body.
          if (this.#pv) this.#hvmOnlyInPv ??= { offset, chunk };
          yield { kind: "hvm-param", offset, chunk, index: chunk.hvmParam!, value };
          break;
        }
        case "tsc_info": {
          const v = view(await r.readExact(20, where));
          yield {
            kind: "tsc-info",
            offset,
            chunk,
            mode: v.getUint32(0, true),
            nsec: v.getBigUint64(4, true),
            khz: v.getUint32(12, true),
            incarnation: v.getUint32(16, true),
          };
          break;
        }
        case "sized": {
          const size = await this.#readU32(where);
          yield {
            kind: "toolstack",
            offset,
            chunk,
            size,
            data: this.#blobOf(size, `${where} data`),
          };
          break;
        }
      }
    }
  }

  async *#pvTail(): AsyncGenerator<LegacyEvent, void, undefined> {
    const r = this.#r;
    const offset = r.offset;
    const count = await this.#readU32("PV tail unmapped pfn count");
    await r.skip(count * this.#ulong, "PV tail unmapped pfn list");
    yield { kind: "unmapped-pfns", offset, count };
    for (const vcpuId of this.#online) {
      const where = `PV tail vcpu ${vcpuId}`;
      yield {
        kind: "vcpu-context",
        offset: r.offset,
        part: "basic",
        vcpuId,
        data: this.#blobOf(this.#basicLen, `${where} basic context`),
      };
      if (this.#extd) {
        yield {
          kind: "vcpu-context",
          offset: r.offset,
          part: "extended",
          vcpuId,
          data: this.#blobOf(VCPU_EXTENDED_CONTEXT_SIZE, `${where} extended context`),
        };
      }
      if (this.#xsaveLen) {
        const at = r.offset;
        const v = view(await r.readExact(VCPU_XSAVE_HEADER_SIZE, `${where} xsave header`));
        const xsaveMask = v.getBigUint64(0, true);
        const size = v.getBigUint64(8, true);
        if (size !== BigInt(this.#xsaveLen) - BigInt(VCPU_XSAVE_HEADER_SIZE)) {
          throw new StreamError(
            `xsave size 0x${hex(size)} does not match the xcnt block ` +
              `(0x${hex(this.#xsaveLen)} less the 16-byte header)`,
            at,
            `${where} xsave header`,
          );
        }
        yield {
          kind: "vcpu-context",
          offset: at,
          part: "xsave",
          vcpuId,
          xsaveMask,
          data: this.#blobOf(Number(size), `${where} xsave area`),
        };
      }
    }
    const at = r.offset;
    yield {
      kind: "shared-info",
      offset: at,
      data: await r.readExact(SHARED_INFO_SIZE, "PV tail shared info"),
    };
  }

  async *#hvmTail(): AsyncGenerator<LegacyEvent, void, undefined> {
    const r = this.#r;
    const offset = r.offset;
    const v = view(await r.readExact(24, "HVM tail magic pfns"));
    yield {
      kind: "hvm-magic-pfns",
      offset,
      ioreq: v.getBigUint64(0, true),
      bufioreq: v.getBigUint64(8, true),
      store: v.getBigUint64(16, true),
    };
    const at = r.offset;
    const size = await this.#readU32("HVM context size");
    yield { kind: "hvm-context", offset: at, data: this.#blobOf(size, "HVM context") };
  }

  async *#qemuRecord(): AsyncGenerator<LegacyEvent, void, undefined> {
    const r = this.#r;
    const offset = r.offset;
    const header = new Uint8Array(QEMU_SIGNATURE_SIZE + 4);
    header.set(await r.readExact(QEMU_SIGNATURE_SIZE, "qemu record signature"));
    const signature = String.fromCharCode(...header.subarray(0, QEMU_SIGNATURE_SIZE));
    if (signature !== QEMU_SIGNATURE.DEVICE_MODEL_RECORD_0002) {
      const known = Object.values(QEMU_SIGNATURE).includes(signature as never);
      throw new LegacyUnsupportedError(
        known
          ? `qemu record "${signature}" is not supported (only ${QEMU_SIGNATURE.DEVICE_MODEL_RECORD_0002} is)`
          : `Unrecognised Qemu sig "${
            printableBytes(header.subarray(0, QEMU_SIGNATURE_SIZE))
          }" (expected ${QEMU_SIGNATURE.DEVICE_MODEL_RECORD_0002})`,
        offset,
        "qemu record",
      );
    }
    header.set(await r.readExact(4, "qemu record length"), QEMU_SIGNATURE_SIZE);
    const size = view(header).getUint32(QEMU_SIGNATURE_SIZE, true);
    yield {
      kind: "qemu-record",
      offset,
      signature,
      header,
      data: this.#blobOf(size, "qemu record data"),
    };
  }
}
