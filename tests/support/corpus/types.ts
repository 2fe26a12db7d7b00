/**
 * The shape of a corpus item.
 *
 * @module
 */

/** Outermost layer of a stream, as `verify-stream-v2 -f` names it. */
export type CorpusFormat = "libxc" | "libxl" | "xl";

/** One stream of the corpus and what verifying it must give. */
export interface CorpusItem {
  /** Unique, descriptive name (used for temp files and test output). */
  name: string;
  /** Format to pass with `-f`. */
  format: CorpusFormat;
  /** The whole stream. */
  bytes: Uint8Array;
  /** What xenmig's verifier must report (the spec's answer). */
  expect: {
    /** 0 valid, 1 stream/record error, 2 internal error. */
    exitCode: 0 | 1 | 2;
    /** Text the error message must contain (invalid items). */
    message?: string;
    /** Byte offset the error must carry, where the corpus knows it. */
    offset?: number;
    /** Lines the `-v` output must contain (valid items). */
    lines?: string[];
  };
  /**
   * Set when Xen 4.17's verifier is known to be wrong on this stream: why.
   * The differential test then checks that the reference still behaves as
   * {@linkcode CorpusItem.reference} says and that xenmig follows the spec.
   */
  pythonBug?: string;
  /** What the (buggy) reference does, for `pythonBug` items. */
  reference?: { exitCode: number; message?: string };
  /** The stream is also valid under `--strict` (no errors; warnings allowed). */
  strictValid?: boolean;
}
