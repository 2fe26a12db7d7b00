/**
 * The fixed headers — libxc image and domain headers, the libxl header, the
 * xl header and its config data, record headers — decode what the spec's
 * layout says (checked against bytes packed independently) and re-encode
 * byte for byte, including values a verifier would reject, and whatever the
 * byte offset of the view they are decoded from.
 *
 * @module
 */

import assert from "node:assert/strict";
import { decodeDomainHeader, encodeDomainHeader } from "../../lib/libxc/domain_header.ts";
import {
  decodeImageHeader,
  encodeImageHeader,
  imageIsBigEndian,
} from "../../lib/libxc/image_header.ts";
import {
  decodeLibxlHeader,
  encodeLibxlHeader,
  libxlIsBigEndian,
  libxlIsLegacy,
} from "../../lib/libxl/header.ts";
import { decodeRecordHeader } from "../../lib/record_header.ts";
import {
  decodeXlConfigData,
  decodeXlHeader,
  encodeXlConfigData,
  encodeXlHeader,
  isXlMagic,
} from "../../lib/xl/header.ts";
import { concat, pack, patterned, text } from "../support/corpus/bytes.ts";
import {
  domainHeader,
  imageHeader,
  libxlHeader,
  XL_MAGIC,
  xlConfig,
} from "../support/corpus/streams.ts";

/** `bytes` inside a larger buffer at an odd offset, to catch decoders that ignore `byteOffset`. */
function misaligned(bytes: Uint8Array): Uint8Array {
  const big = concat(patterned(13), bytes, patterned(11));
  return big.subarray(13, 13 + bytes.length);
}

Deno.test("image header: decodes the spec's fields and re-encodes byte for byte", () => {
  const cases = [
    {},
    { version: 2 },
    {
      marker: 0n,
      id: 0x12345678,
      version: 0xffffffff,
      options: 0xffff,
      res1: 0xffff,
      res2: 0xffffffff,
    },
    { options: 1 },
    { res1: 0x0102, res2: 0x03040506 },
  ];
  for (const c of cases) {
    const bytes = imageHeader(c);
    const h = decodeImageHeader(misaligned(bytes));
    assert.equal(h.marker, c.marker ?? 0xffffffffffffffffn);
    assert.equal(h.id, c.id ?? 0x58454e46);
    assert.equal(h.version, c.version ?? 3);
    assert.equal(h.options, c.options ?? 0);
    assert.equal(h.reserved1, c.res1 ?? 0);
    assert.equal(h.reserved2, c.res2 ?? 0);
    assert.deepEqual(encodeImageHeader(h), bytes);
  }
  assert.equal(imageIsBigEndian(decodeImageHeader(imageHeader({ options: 1 }))), true);
  assert.equal(imageIsBigEndian(decodeImageHeader(imageHeader({ options: 0xfffe }))), false);
  assert.deepEqual(
    encodeImageHeader({}),
    imageHeader(),
    "defaults are a valid v3 little-endian header",
  );
});

Deno.test("domain header: decodes the spec's fields and re-encodes byte for byte", () => {
  const cases = [
    {},
    { type: 1, major: 0, minor: 0 },
    { type: 0xffffffff, pageShift: 0xffff, res: 0xffff, major: 0xffffffff, minor: 0xffffffff },
    { type: 2, pageShift: 21, res: 0x8000, major: 4, minor: 6 },
  ];
  for (const c of cases) {
    const bytes = domainHeader(c);
    const h = decodeDomainHeader(misaligned(bytes));
    assert.deepEqual(h, {
      type: c.type ?? 2,
      pageShift: c.pageShift ?? 12,
      reserved: c.res ?? 0,
      xenMajor: c.major ?? 4,
      xenMinor: c.minor ?? 17,
    });
    assert.deepEqual(encodeDomainHeader(h), bytes);
  }
});

Deno.test("libxl header: decodes the spec's fields and re-encodes byte for byte", () => {
  for (
    const c of [{}, { options: 2 }, { options: 3 }, {
      ident: 1n,
      version: 0xffffffff,
      options: 0xffffffff,
    }]
  ) {
    const bytes = libxlHeader(c);
    const h = decodeLibxlHeader(misaligned(bytes));
    assert.deepEqual(h, {
      ident: c.ident ?? 0x4c6962786c466d74n,
      version: c.version ?? 2,
      options: c.options ?? 0,
    });
    assert.deepEqual(encodeLibxlHeader(h), bytes);
  }
  assert.deepEqual(text("LibxlFmt"), encodeLibxlHeader({}).subarray(0, 8));
  const legacy = decodeLibxlHeader(libxlHeader({ options: 2 }));
  assert.deepEqual([libxlIsLegacy(legacy), libxlIsBigEndian(legacy)], [true, false]);
  const be = decodeLibxlHeader(libxlHeader({ options: 1 }));
  assert.deepEqual([libxlIsLegacy(be), libxlIsBigEndian(be)], [false, true]);
});

Deno.test("xl header: decodes the fixed part and re-encodes it with its optional data", () => {
  const optional = xlConfig('{"c_info":{"name":"x"}}');
  for (
    const words of [[0x01020304, 3, 0, optional.length], [
      0x04030201,
      0xffffffff,
      7,
      optional.length,
    ], [0x01020304, 0, 0, 0]]
  ) {
    const data = words[3] ? optional : new Uint8Array(0);
    const bytes = concat(XL_MAGIC, pack("<IIII", ...words), data);
    const h = decodeXlHeader(misaligned(bytes));
    assert.ok(isXlMagic(h.magic));
    assert.deepEqual([h.byteorder, h.mandatoryFlags, h.optionalFlags, h.optionalDataLen], words);
    assert.deepEqual(encodeXlHeader(h, data), bytes);
  }
  assert.equal(isXlMagic(text("Xen saved domain, xl format\n \0 ?")), false);
  assert.equal(isXlMagic(XL_MAGIC.subarray(0, 31)), false);
});

Deno.test("xl config data: length word plus config, NUL dropped on decode", () => {
  const json = '{"b_info":{"max_vcpus":2}}';
  assert.equal(decodeXlConfigData(misaligned(xlConfig(json))), json);
  assert.deepEqual(encodeXlConfigData(json + "\0"), xlConfig(json));
  assert.equal(decodeXlConfigData(encodeXlConfigData("no nul")), "no nul");
  assert.equal(decodeXlConfigData(new Uint8Array(3)), undefined, "shorter than its length word");
  assert.equal(decodeXlConfigData(pack("<I", 10)), undefined, "length beyond the data");
});

Deno.test("record header: type and length, little endian, from any offset", () => {
  const h = decodeRecordHeader(misaligned(pack("<II", 0x80000012, 0xfffffff8)));
  assert.deepEqual(h, { type: 0x80000012, length: 0xfffffff8 });
});
