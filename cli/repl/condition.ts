/**
 * The small, safe expression language of `until`: comparisons of named
 * numbers, combined with `and`/`or`/`not` — parsed here, never handed to
 * `eval`.
 *
 * ```text
 * condition := or
 * or        := and  (("or"  | "||") and)*
 * and       := not  (("and" | "&&") not)*
 * not       := ("not" | "!") not | compare
 * compare   := sum (("<" | "<=" | ">" | ">=" | "==" | "=" | "!=") sum)?
 * sum       := product (("+" | "-") product)*
 * product   := unary (("*" | "/" | "%") unary)*
 * unary     := "-" unary | NUMBER | NAME | "true" | "false" | "(" or ")"
 * ```
 *
 * Names are checked when parsing; the whole must be true/false (so
 * `until dirty` is an error that suggests `dirty < N`).
 *
 * @module
 */

/** A parsed condition. */
export interface Condition {
  /** The text it was parsed from. */
  readonly source: string;
  /** The names it reads. */
  readonly names: readonly string[];
  /** Evaluates it over named numbers. */
  test(values: Readonly<Record<string, number>>): boolean;
}

/** A condition that does not parse: says where and what was expected. */
export class ConditionSyntaxError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ConditionSyntaxError";
  }
}

type Type = "number" | "boolean";
interface Node {
  type: Type;
  eval(v: Readonly<Record<string, number>>): number | boolean;
}
interface Token {
  kind: "number" | "name" | "op" | "end";
  text: string;
  at: number;
}

const OPS = [
  "<=",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "<",
  ">",
  "=",
  "!",
  "+",
  "-",
  "*",
  "/",
  "%",
  "(",
  ")",
];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(?:\d[\d_]*(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?/i.exec(src.slice(i));
    if (num) {
      out.push({ kind: "number", text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      out.push({ kind: "name", text: name[0], at: i });
      i += name[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ConditionSyntaxError(`unexpected '${c}' at column ${i + 1}`);
    out.push({ kind: "op", text: op, at: i });
    i += op.length;
  }
  out.push({ kind: "end", text: "end of condition", at: src.length });
  return out;
}

class Parser {
  #tokens: Token[];
  #i = 0;
  #names: Set<string>;
  #known: ReadonlySet<string>;

  constructor(src: string, known: ReadonlySet<string>, names: Set<string>) {
    this.#tokens = tokenize(src);
    this.#known = known;
    this.#names = names;
  }

  get #peek(): Token {
    return this.#tokens[this.#i];
  }

  #accept(...texts: string[]): Token | undefined {
    const t = this.#peek;
    if ((t.kind === "op" || t.kind === "name") && texts.includes(t.text)) {
      this.#i++;
      return t;
    }
    return undefined;
  }

  #fail(expected: string): never {
    const t = this.#peek;
    const got = t.kind === "end" ? "the end" : `'${t.text}'`;
    throw new ConditionSyntaxError(`expected ${expected} at column ${t.at + 1}, got ${got}`);
  }

  parse(): Node {
    const n = this.#or();
    if (this.#peek.kind !== "end") this.#fail("an operator or the end");
    return n;
  }

  #need(n: Node, type: Type, op: string): Node {
    if (n.type !== type) {
      throw new ConditionSyntaxError(
        `'${op}' needs ${type === "number" ? "numbers" : "true/false"} on both sides`,
      );
    }
    return n;
  }

  #or(): Node {
    let left = this.#and();
    for (let t; (t = this.#accept("or", "||"));) {
      const a = this.#need(left, "boolean", t.text);
      const b = this.#need(this.#and(), "boolean", t.text);
      left = { type: "boolean", eval: (v) => (a.eval(v) as boolean) || (b.eval(v) as boolean) };
    }
    return left;
  }

  #and(): Node {
    let left = this.#not();
    for (let t; (t = this.#accept("and", "&&"));) {
      const a = this.#need(left, "boolean", t.text);
      const b = this.#need(this.#not(), "boolean", t.text);
      left = { type: "boolean", eval: (v) => (a.eval(v) as boolean) && (b.eval(v) as boolean) };
    }
    return left;
  }

  #not(): Node {
    const t = this.#accept("not", "!");
    if (!t) return this.#compare();
    const a = this.#need(this.#not(), "boolean", t.text);
    return { type: "boolean", eval: (v) => !a.eval(v) };
  }

  #compare(): Node {
    const left = this.#sum();
    const t = this.#accept("<", "<=", ">", ">=", "==", "=", "!=");
    if (!t) return left;
    const a = this.#need(left, "number", t.text);
    const b = this.#need(this.#sum(), "number", t.text);
    if (
      this.#peek.kind === "op" && ["<", "<=", ">", ">=", "==", "=", "!="].includes(this.#peek.text)
    ) {
      this.#fail("'and' or 'or' between comparisons");
    }
    const cmp = COMPARE[t.text];
    return { type: "boolean", eval: (v) => cmp(a.eval(v) as number, b.eval(v) as number) };
  }

  #sum(): Node {
    let left = this.#product();
    for (let t; (t = this.#accept("+", "-"));) {
      const a = this.#need(left, "number", t.text);
      const b = this.#need(this.#product(), "number", t.text);
      const minus = t.text === "-";
      left = {
        type: "number",
        eval: (v) => (a.eval(v) as number) + (minus ? -1 : 1) * (b.eval(v) as number),
      };
    }
    return left;
  }

  #product(): Node {
    let left = this.#unary();
    for (let t; (t = this.#accept("*", "/", "%"));) {
      const a = this.#need(left, "number", t.text);
      const b = this.#need(this.#unary(), "number", t.text);
      const op = t.text;
      left = {
        type: "number",
        eval: (v) => {
          const x = a.eval(v) as number, y = b.eval(v) as number;
          return op === "*" ? x * y : op === "/" ? x / y : x % y;
        },
      };
    }
    return left;
  }

  #unary(): Node {
    if (this.#accept("-")) {
      const a = this.#need(this.#unary(), "number", "-");
      return { type: "number", eval: (v) => -(a.eval(v) as number) };
    }
    if (this.#accept("(")) {
      const n = this.#or();
      if (!this.#accept(")")) this.#fail("')'");
      return n;
    }
    const t = this.#peek;
    if (t.kind === "number") {
      this.#i++;
      const value = Number(t.text.replaceAll("_", ""));
      return { type: "number", eval: () => value };
    }
    if (t.kind === "name") {
      if (t.text === "true" || t.text === "false") {
        this.#i++;
        const value = t.text === "true";
        return { type: "boolean", eval: () => value };
      }
      if (!this.#known.has(t.text)) {
        throw new ConditionSyntaxError(
          `unknown name '${t.text}' (known: ${[...this.#known].join(", ")})`,
        );
      }
      this.#i++;
      this.#names.add(t.text);
      const name = t.text;
      return { type: "number", eval: (v) => v[name] };
    }
    this.#fail("a number, a name or '('");
  }
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
  "==": (a, b) => a === b,
  "=": (a, b) => a === b,
  "!=": (a, b) => a !== b,
};

/**
 * Parses `source` over the names in `known`.  Throws a
 * {@linkcode ConditionSyntaxError} saying what was expected where.
 *
 * @example
 * ```ts
 * import { parseCondition } from "./condition.ts";
 * const c = parseCondition("dirty < 500 or iter >= 8", ["dirty", "iter"]);
 * console.assert(c.test({ dirty: 900, iter: 8 }) === true);
 * console.assert(c.test({ dirty: 900, iter: 3 }) === false);
 * ```
 */
export function parseCondition(source: string, known: Iterable<string>): Condition {
  if (!source.trim()) throw new ConditionSyntaxError("empty condition (e.g. 'dirty < 500')");
  const names = new Set<string>();
  const node = new Parser(source, new Set(known), names).parse();
  if (node.type !== "boolean") {
    throw new ConditionSyntaxError(
      `'${source.trim()}' is a number, not a condition (compare it, e.g. '${source.trim()} < 500')`,
    );
  }
  return {
    source: source.trim(),
    names: [...names],
    test: (values) => node.eval(values) as boolean,
  };
}
