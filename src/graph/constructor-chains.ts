/**
 * Constructor calls cannot hold a placeholder: `new Foo(new Foo(...))` is written inside out, in
 * one expression. So a cycle made only of constructor arguments (`a = new Foo(null); a.value = a`
 * with `[persist.rep]() { return [this.value]; }`, or a Foo↔Foo pair) cannot be written at all, and
 * a chain of more than MAX_NESTING such calls cannot be continued in a later statement. Both are
 * found here, at insert(), with the path to the value, instead of failing later at save().
 */
import { UnsupportedValueError } from "../errors.js";
import type { ObjectKind } from "../values/classify.js";
import type { Graph } from "./build.js";
import { nodePath } from "./path.js";

/** Deepest nesting the emitter writes in one statement (src/emit/module.ts uses the same). */
export const MAX_NESTING = 400;

// Kinds written as one call around their children. Objects, arrays, Maps, Sets and Errors can
// take a placeholder and a later patch, so they end a chain.
const CHAINED = new Set<ObjectKind>([
  "instance",
  "typedarray",
  "dataview",
  "ndarray",
  "arraybuffer",
]);

/** Kinds whose object children are written inside their own expression (no placeholder possible). */
const INLINE_PARENTS = new Set<ObjectKind>(["instance", "typedarray", "dataview", "ndarray"]);

/** Children of a node that must be written inside its own expression. */
function inlineChildren(graph: Graph, id: number): number[] {
  const out: number[] = [];
  if (!INLINE_PARENTS.has(graph.kinds[id]!)) return out;
  for (let s = graph.childStart[id]!; s < graph.childEnd[id]!; s++) {
    const child = graph.childIds[s]!;
    if (child >= 0 && CHAINED.has(graph.kinds[child]!)) out.push(child);
  }
  return out;
}

/** Throws UnsupportedValueError for a constructor-argument cycle or an over-long call chain. */
export function checkConstructorChains(graph: Graph): void {
  // Iterative depth-first search (chains may be 100,000 long): 0 new, 1 on the stack, 2 done.
  const state = new Uint8Array(graph.count);
  const height = new Uint32Array(graph.count); // longest chain starting at a node, in calls
  for (let root = 0; root < graph.count; root++) {
    if (graph.kinds[root] !== "instance" || state[root] !== 0) continue;
    const stack: { id: number; children: number[]; next: number }[] = [];
    const push = (id: number) => {
      state[id] = 1;
      stack.push({ id, children: inlineChildren(graph, id), next: 0 });
    };
    push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.children.length) {
        const child = top.children[top.next++]!;
        if (state[child] === 1)
          throw cycleError(
            graph,
            child,
            stack.map((f) => f.id),
          );
        if (state[child] === 0) push(child);
        continue;
      }
      let h = 0;
      for (const c of top.children) h = Math.max(h, height[c]!);
      height[top.id] = h + 1;
      state[top.id] = 2;
      stack.pop();
    }
    // Nodes come in visit order, so `root` is the outermost call of its chain: name that one.
    if (height[root]! > MAX_NESTING) throw tooDeepError(graph, root);
  }
}

function cycleError(graph: Graph, id: number, stack: readonly number[]): UnsupportedValueError {
  const path = nodePath(graph, id);
  const from = stack.indexOf(id);
  const via = stack
    .slice(from + 1)
    .map((n) => nodePath(graph, n))
    .join(", then ");
  return new UnsupportedValueError(
    `Cannot archive ${path}: it is its own constructor argument${via ? ` (through ${via})` : ""}, and constructor calls cannot be written before their arguments exist. To fix: break the cycle through a plain object, array, Map or Set (those can be patched after construction), or make [persist.rep]() return arguments that do not contain the instance itself.`,
    { valuePath: path },
  );
}

function tooDeepError(graph: Graph, id: number): UnsupportedValueError {
  const path = nodePath(graph, id);
  return new UnsupportedValueError(
    `Cannot archive ${path}: it nests constructor calls more than ${MAX_NESTING} levels deep with no object, array, Map or Set in between where the rest could be written later. To fix: hold such chains in an array, or let [persist.rep]() return a flat list.`,
    { valuePath: path },
  );
}
