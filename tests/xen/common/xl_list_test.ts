/**
 * Unit tests of `xl list` parsing and of the columns libxl derives from
 * libxenctrl's domain info (`list_domains()` in xl_info.c).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type LibraryDomainRow, parseXlList, xlColumns } from "./xl_list.ts";

const XL_LIST = `Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0  2048     2     r-----     108.1
pvh2                                         2   128     1     --p---       5.0
pv1--incoming                                3   128     1     ---ss-       0.4
crashed                                      4   128     1     ---sc-       1.0
`;

Deno.test("xl list: rows, names with dashes, every state letter", () => {
  const rows = parseXlList(XL_LIST);
  assert.deepEqual(rows.map((r) => [r.name, r.domid, r.state]), [
    ["Domain-0", 0, "r-----"],
    ["pvh2", 2, "--p---"],
    ["pv1--incoming", 3, "---ss-"],
    ["crashed", 4, "---sc-"],
  ]);
  assert.equal(rows[0].memMiB, 2048);
  assert.equal(rows[0].cpuSeconds, 108.1);
});

function info(overrides: Partial<LibraryDomainRow>): LibraryDomainRow {
  return {
    domid: 1,
    totPages: 32784,
    onlineVcpus: 1,
    running: false,
    blocked: true,
    paused: false,
    shutdown: false,
    shutdownCode: 0,
    dying: false,
    cpuSeconds: 1.5,
    ...overrides,
  };
}

Deno.test("xl list columns from domain info: Mem rounds down, State as xl prints it", () => {
  assert.equal(xlColumns(info({})).memMiB, 128);
  assert.equal(xlColumns(info({})).state, "-b----");
  assert.equal(xlColumns(info({ paused: true, blocked: false })).state, "--p---");
  assert.equal(xlColumns(info({ shutdown: true, shutdownCode: 2 })).state, "-b-ss-");
  assert.equal(xlColumns(info({ shutdown: true, shutdownCode: 3 })).state, "-b-sc-");
  assert.equal(xlColumns(info({ shutdown: true, shutdownCode: 0, dying: true })).state, "-b-s-d");
});
