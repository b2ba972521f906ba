import { bigintLiteral, numberLiteral } from "./literals.js";

/** Element literals of a typed array, for `new Float64Array([...])`. */
export function typedArrayItems(v: ArrayLike<number | bigint>): string[] {
  const out: string[] = new Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    out[i] = typeof x === "bigint" ? bigintLiteral(x) : numberLiteral(x);
  }
  return out;
}
