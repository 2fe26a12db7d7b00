/**
 * A synthetic xl save file of an HVM guest of any size, written with the
 * library's encoders: the input of the verify benchmark.
 *
 * @module
 */

import { BufferedWriter } from "../lib/io/buffered_writer.ts";
import { writerSink } from "../lib/io/byte_sink.ts";
import {
  DHDR_TYPE,
  PAGE_SIZE,
  PAGE_TYPE,
  REC_TYPE,
  XEN_CPUID_NO_SUBLEAF,
} from "../lib/libxc/constants.ts";
import { encodeDomainHeader } from "../lib/libxc/domain_header.ts";
import { encodeHvmContext, HVM_FILE_MAGIC, HVM_SAVE_TYPE } from "../lib/libxc/hvm_context.ts";
import { encodeImageHeader } from "../lib/libxc/image_header.ts";
import { encodePageData } from "../lib/libxc/page_data.ts";
import { encodeLibxcRecord } from "../lib/libxc/records.ts";
import { LIBXL_REC_TYPE } from "../lib/libxl/constants.ts";
import { encodeLibxlHeader } from "../lib/libxl/header.ts";
import { encodeLibxlRecord } from "../lib/libxl/records.ts";
import {
  encodeXlConfigData,
  encodeXlHeader,
  XL_MANDATORY_FLAG_JSON,
  XL_MANDATORY_FLAG_STREAMV2,
} from "../lib/xl/header.ts";

/** Writes the sample stream of `pages` guest pages to `path`. */
export async function writeSampleStream(path: string, pages: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const w = new BufferedWriter(writerSink(file));
  const config = JSON.stringify({
    c_info: { type: "pvh", name: "demo" },
    b_info: { max_memkb: pages * 4 },
  });
  await w.write(encodeXlHeader(
    { mandatoryFlags: XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2 },
    encodeXlConfigData(config + "\0"),
  ));
  await w.write(encodeLibxlHeader({}));
  await w.write(encodeLibxlRecord({ type: LIBXL_REC_TYPE.LIBXC_CONTEXT }));
  await w.write(encodeImageHeader({ version: 3 }));
  await w.write(encodeDomainHeader({ type: DHDR_TYPE.X86_HVM, xenMajor: 4, xenMinor: 17 }));
  await w.write(encodeLibxcRecord({
    type: REC_TYPE.X86_CPUID_POLICY,
    leaves: [{
      leaf: 0,
      subleaf: XEN_CPUID_NO_SUBLEAF,
      a: 0xd,
      b: 0x756e6547,
      c: 0x6c65746e,
      d: 0x49656e69,
    }],
  }));
  await w.write(
    encodeLibxcRecord({ type: REC_TYPE.X86_MSR_POLICY, msrs: [{ idx: 0xce, flags: 0, val: 0n }] }),
  );
  await w.write(encodeLibxcRecord({ type: REC_TYPE.STATIC_DATA_END }));
  const batch = 1024;
  const data = new Uint8Array(batch * PAGE_SIZE);
  for (let first = 0; first < pages; first += batch) {
    const n = Math.min(batch, pages - first);
    const pfns = Array.from({ length: n }, (_, i) => first + i);
    for (let i = 0; i < n; i++) new DataView(data.buffer).setFloat64(i * PAGE_SIZE, pfns[i], true);
    await w.write(
      encodePageData(
        pfns,
        new Uint8Array(n).fill(PAGE_TYPE.NOTAB),
        data.subarray(0, n * PAGE_SIZE),
      ),
    );
  }
  await w.write(
    encodeLibxcRecord({
      type: REC_TYPE.X86_TSC_INFO,
      mode: 2,
      khz: 0,
      nsec: 0n,
      incarnation: 1,
      reserved: 0,
    }),
  );
  const header = new Uint8Array(24);
  new DataView(header.buffer).setUint32(0, HVM_FILE_MAGIC, true);
  new DataView(header.buffer).setUint32(4, 1, true);
  await w.write(encodeLibxcRecord({
    type: REC_TYPE.HVM_CONTEXT,
    data: encodeHvmContext([
      { typecode: HVM_SAVE_TYPE.HEADER, instance: 0, data: header },
      { typecode: HVM_SAVE_TYPE.CPU, instance: 0, data: new Uint8Array(1024) },
    ]),
  }));
  await w.write(encodeLibxcRecord({
    type: REC_TYPE.HVM_PARAMS,
    reserved: 0,
    params: [{ index: 1n, value: 0xfeffcn }, { index: 17n, value: 0xfeffdn }],
  }));
  await w.write(encodeLibxcRecord({ type: REC_TYPE.END }));
  await w.write(encodeLibxlRecord({ type: LIBXL_REC_TYPE.END }));
  await w.close();
}
