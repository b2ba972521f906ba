import { symbolName } from "../values/classify.js";
import { stringLiteral } from "./literals.js";

/** `Symbol.for("key")` or `Symbol.iterator`; undefined for symbols no archive can name. */
export function symbolExpression(sym: symbol): string | undefined {
  const n = symbolName(sym);
  if (!n) return undefined;
  return "registered" in n ? `Symbol.for(${stringLiteral(n.registered)})` : `Symbol.${n.wellKnown}`;
}
