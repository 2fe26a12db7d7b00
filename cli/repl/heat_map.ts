/**
 * The `bitmap` command's picture: the dirty bitmap as a grid of cells, each
 * covering an equal run of pfns and shaded by how much of it is dirty,
 * scaled to fit the terminal.
 *
 * @module
 */

import { countDirty } from "./dirty_bits.ts";

/** Shades from clean to fully dirty. */
export const HEAT_SHADES: readonly string[] = ["·", "░", "▒", "▓", "█"];

/** A bitmap scaled to a grid. */
export interface HeatMap {
  /** Cells per row. */
  columns: number;
  /** Rows. */
  rows: number;
  /** pfns each cell covers (the last cell may cover fewer). */
  pfnsPerCell: number;
  /** Dirty pfns per cell, row by row. */
  counts: number[];
  /** Dirty pfns in all. */
  dirty: number;
  /** pfns in all. */
  p2mSize: number;
}

/**
 * Scales `bitmap` (of `p2mSize` pfns) to at most `width` × `height` cells.
 *
 * @example
 * ```ts
 * import { heatMap } from "./heat_map.ts";
 * const bitmap = new Uint8Array(128).fill(0);
 * bitmap[0] = 0xff; // pfns 0-7 dirty
 * const h = heatMap(bitmap, 1024, { width: 8, height: 4 });
 * console.assert(h.columns === 8 && h.rows === 4 && h.pfnsPerCell === 32);
 * console.assert(h.counts[0] === 8 && h.dirty === 8);
 * ```
 */
export function heatMap(
  bitmap: Uint8Array,
  p2mSize: number,
  size: { width: number; height: number },
): HeatMap {
  const width = Math.max(1, Math.floor(size.width));
  const height = Math.max(1, Math.floor(size.height));
  const pfnsPerCell = Math.max(1, Math.ceil(p2mSize / (width * height)));
  const cells = Math.ceil(p2mSize / pfnsPerCell);
  const columns = Math.min(width, Math.max(1, cells));
  const rows = Math.max(1, Math.ceil(cells / columns));
  const counts: number[] = [];
  let dirty = 0;
  for (let c = 0; c < cells; c++) {
    const from = c * pfnsPerCell;
    const n = countDirty(bitmap, from, Math.min(p2mSize, from + pfnsPerCell));
    counts.push(n);
    dirty += n;
  }
  return { columns, rows, pfnsPerCell, counts, dirty, p2mSize };
}

/** The shade for `dirty` of `total` pfns: any dirt at all shows. */
export function heatShade(dirty: number, total: number): string {
  if (dirty <= 0 || total <= 0) return HEAT_SHADES[0];
  const level = Math.ceil((dirty / total) * (HEAT_SHADES.length - 1));
  return HEAT_SHADES[Math.min(HEAT_SHADES.length - 1, Math.max(1, level))];
}

/**
 * Draws a heat map: one line per row, labelled with its first pfn, then a
 * legend.
 *
 * @example
 * ```ts
 * import { heatMap, renderHeatMap } from "./heat_map.ts";
 * const bitmap = new Uint8Array(2).fill(0xff);
 * const text = renderHeatMap(heatMap(bitmap, 32, { width: 4, height: 2 }));
 * console.assert(text.split("\n")[0].endsWith("████"));
 * ```
 */
export function renderHeatMap(h: HeatMap): string {
  const label = Math.max(5, h.p2mSize.toString(16).length + 2);
  const lines: string[] = [];
  for (let r = 0; r < h.rows; r++) {
    let line = `0x${(r * h.columns * h.pfnsPerCell).toString(16)}`.padStart(label) + " ";
    for (let c = 0; c < h.columns; c++) {
      const i = r * h.columns + c;
      if (i >= h.counts.length) break;
      const first = i * h.pfnsPerCell;
      line += heatShade(h.counts[i], Math.min(h.pfnsPerCell, h.p2mSize - first));
    }
    lines.push(line);
  }
  const pct = h.p2mSize ? ((100 * h.dirty) / h.p2mSize).toFixed(2) : "0.00";
  lines.push(
    `${h.dirty} of ${h.p2mSize} pfns dirty (${pct}%); each cell ${h.pfnsPerCell} pfn${
      h.pfnsPerCell === 1 ? "" : "s"
    }; ${HEAT_SHADES[0]} clean ${HEAT_SHADES.slice(1).join("")} up to all dirty`,
  );
  return lines.join("\n");
}
