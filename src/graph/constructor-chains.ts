/**
 * Constructor calls cannot hold a placeholder: `new Foo(new Foo(...))` is written inside out, in
 * one expression. So a cycle made only of constructor arguments (`a = new Foo(null); a.value = a`
 * with `[persist.rep]() { return [this.value]; }`, or a Foo↔Foo pair) cannot be written at all, and
 * a chain of more than MAX_NESTING such calls cannot be continued in a later statement. Both are
 * found here, at insert(), with the path to the value, instead of failing later at save().
 */
import { UnsupportedValueError } from "../errors.js";
import type { GraphNode } from "./build.js";
import { nodePath } from "./path.js";

/** Deepest nesting the emitter writes in one statement (src/emit/module.ts uses the same). */
export const MAX_NESTING = 400;

/** Children of a node that must be written inside its own expression (no placeholder possible). */
function inlineChildren(
  node: GraphNode,
  nodeOf: (v: object) => GraphNode | undefined,
): GraphNode[] {
  const out: GraphNode[] = [];
  const add = (v: unknown) => {
    if (v !== null && (typeof v === "object" || typeof v === "function")) {
      const n = nodeOf(v as object);
      if (n !== undefined && CHAINED.has(n.kind)) out.push(n);
    }
  };
  switch (node.kind) {
    case "instance":
      for (const arg of node.instance!.args) add(arg);
      break;
    case "typedarray":
    case "dataview":
      add((node.value as ArrayBufferView).buffer);
      break;
    case "ndarray":
      add((node.value as { data: unknown }).data);
      break;
  }
  return out;
}

// Kinds written as one call around their children. Objects, arrays, Maps, Sets and Errors can
// take a placeholder and a later patch, so they end a chain.
const CHAINED = new Set(["instance", "typedarray", "dataview", "ndarray", "arraybuffer"]);

/** Throws UnsupportedValueError for a constructor-argument cycle or an over-long call chain. */
export function checkConstructorChains(
  nodes: readonly GraphNode[],
  nodeOf: (v: object) => GraphNode | undefined,
): void {
  // Iterative depth-first search (chains may be 100,000 long): 0 new, 1 on the stack, 2 done.
  const state = new Uint8Array(nodes.length);
  const height = new Uint32Array(nodes.length); // longest chain starting at a node, in calls
  for (const root of nodes) {
    if (root.kind !== "instance" || state[root.id] !== 0) continue;
    const stack: { node: GraphNode; children: GraphNode[]; next: number }[] = [];
    const push = (node: GraphNode) => {
      state[node.id] = 1;
      stack.push({ node, children: inlineChildren(node, nodeOf), next: 0 });
    };
    push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.children.length) {
        const child = top.children[top.next++]!;
        if (state[child.id] === 1)
          throw cycleError(
            child,
            stack.map((f) => f.node),
          );
        if (state[child.id] === 0) push(child);
        continue;
      }
      let h = 0;
      for (const c of top.children) h = Math.max(h, height[c.id]!);
      height[top.node.id] = h + 1;
      state[top.node.id] = 2;
      stack.pop();
    }
    // Nodes come in visit order, so `root` is the outermost call of its chain: name that one.
    if (height[root.id]! > MAX_NESTING) throw tooDeepError(root);
  }
}

function cycleError(node: GraphNode, stack: readonly GraphNode[]): UnsupportedValueError {
  const path = nodePath(node);
  const from = stack.indexOf(node);
  const via = stack
    .slice(from + 1)
    .map((n) => nodePath(n))
    .join(", then ");
  return new UnsupportedValueError(
    `Cannot archive ${path}: it is its own constructor argument${via ? ` (through ${via})` : ""}, and constructor calls cannot be written before their arguments exist. To fix: break the cycle through a plain object, array, Map or Set (those can be patched after construction), or make [persist.rep]() return arguments that do not contain the instance itself.`,
    { valuePath: path },
  );
}

function tooDeepError(node: GraphNode): UnsupportedValueError {
  const path = nodePath(node);
  return new UnsupportedValueError(
    `Cannot archive ${path}: it nests constructor calls more than ${MAX_NESTING} levels deep with no object, array, Map or Set in between where the rest could be written later. To fix: hold such chains in an array, or let [persist.rep]() return a flat list.`,
    { valuePath: path },
  );
}
