import { buildGraph } from "../graph/build.js";
import { emitExpression } from "./module.js";

/**
 * One self-contained expression in the archive language for a tree of built-in values (used for
 * DataSet info lines). Shared values are written out again; cycles, class instances, functions and
 * NDArrays throw UnsupportedValueError naming `path`.
 */
export function emitValueExpression(
  value: unknown,
  path = "info",
  options: { oneLine?: boolean } = {},
): string {
  const graph = buildGraph([[path, value]], { arrayThreshold: Number.POSITIVE_INFINITY });
  return emitExpression(graph, value, options);
}
