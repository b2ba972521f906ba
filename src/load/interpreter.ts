/**
 * Evaluating parser for the archive language: reads statements and builds values as it goes, never
 * an AST and never running code from the file. Nesting is handled with an explicit stack of frames
 * (not recursion), so depth is bounded by MAX_DEPTH and not by the JS call stack.
 */
import { pathToFileURL } from "node:url";
import { ArchiveError, NotFoundError } from "../errors.js";
import { builtinArgsProblem, WorkBudget } from "./builtins.js";
import {
  CONSTRUCTORS,
  defineProperty,
  FORBIDDEN_FUNCTIONS,
  GLOBAL_ROOTS,
  globalFunction,
  isView,
  mapSet,
  reflectApply,
  reflectConstruct,
  setAdd,
  symbolFor,
  typedArrayBuffer,
  UNBINDABLE,
  WELL_KNOWN_SYMBOLS,
} from "./globals.js";
import { Lexer, T_BIGINT, T_EOF, T_NAME, T_NUM, T_PUNCT, T_STR } from "./lexer.js";
import { type ModuleMap, RUNTIME_SPECIFIER, resolveImport, runtimeLoadArrays } from "./resolve.js";

/** Deepest nesting of literals and calls accepted (native import() overflows near 1,500). */
export const MAX_DEPTH: number = 5000;

const LBRACE: number = 123;
const RBRACE: number = 125;
const LBRACKET: number = 91;
const RBRACKET: number = 93;
const LPAREN: number = 40;
const RPAREN: number = 41;
const COMMA: number = 44;
const COLON: number = 58;
const SEMI: number = 59;
const DOT: number = 46;
const EQUALS: number = 61;
const MINUS: number = 45;
const PLUS: number = 43;

// Binding kinds.
const B_CONST: number = 0;
const B_IMPORT: number = 1;
const B_ARRAYS: number = 2;

// How a value came to be: only values the loader created may be patched or Object.assign'ed.
const V_REFERENCE: number = 0;
const V_CREATED: number = 1;
const V_OBJECT_LITERAL: number = 2;

// Frame kinds of the explicit stack.
const F_ARRAY: number = 0;
const F_OBJECT: number = 1;
const F_CALL: number = 2;

// Call kinds.
const C_NEW_BUILTIN: number = 0;
const C_NEW_IMPORTED: number = 1;
const C_OBJECT: number = 2;
const C_ASSIGN: number = 3;
const C_SYMBOL_FOR: number = 4;
const C_FACTORY: number = 5;

const NDARRAY_BRAND = Symbol.for("persist-archive.ndarray");
const ARRAY_NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await"
  ).split(" "),
);

interface Binding {
  value: unknown;
  kind: number;
  patchable: boolean;
}

class Frame {
  kind: number;
  at: number;
  /** Array or object being filled, or the argument list of a call. */
  target: unknown[] | Record<string, unknown>;
  /** Pending object key. */
  key = "";
  protoSet = false;
  callKind = 0;
  callee: unknown = undefined;
  thisArg: unknown = undefined;
  name = "";
  /** V_* origin of each argument (calls only). */
  origins: number[] | undefined = undefined;

  constructor(kind: number, at: number, target: unknown[] | Record<string, unknown>) {
    this.kind = kind;
    this.at = at;
    this.target = target;
  }
}

/** A `const X = await _loadArrays(...)` statement waiting for its files. */
export interface PendingArrays {
  name: string;
  exported: boolean;
  at: number;
  location: string;
  format: string;
  names: string[];
}

export interface InterpretOptions {
  /** File the text came from: used in messages and to resolve array files. */
  file: string;
  modules?: ModuleMap | undefined;
}

/** True when plain [[Set]] on fresh objects and arrays cannot reach a setter (the normal case). */
function prototypesHaveNoSetters(): boolean {
  for (const proto of [Object.prototype, Array.prototype]) {
    for (const key of Reflect.ownKeys(proto)) {
      if (proto === Object.prototype && key === "__proto__") continue;
      const desc = Object.getOwnPropertyDescriptor(proto, key);
      if (desc && !("value" in desc)) return false;
    }
  }
  return true;
}

export class Interpreter {
  private readonly lex: Lexer;
  private readonly bindings = new Map<string, Binding>();
  private readonly modules: ModuleMap | undefined;
  readonly exports: Record<string, unknown> = {};
  readonly fileUrl: string;
  private readonly budget: WorkBudget;
  private readonly fastSet: boolean;
  /** Origin (V_*) of the value parseExpression() returned last. */
  private origin = V_REFERENCE;

  constructor(text: string, options: InterpretOptions) {
    this.lex = new Lexer(text, options.file);
    this.modules = options.modules;
    this.fileUrl = pathToFileURL(options.file).href;
    this.budget = new WorkBudget(text.length);
    this.fastSet = prototypesHaveNoSetters();
  }

  /** Runs statements until the end (returns undefined) or until an array load must be awaited. */
  run(): PendingArrays | undefined {
    const lex: Lexer = this.lex;
    for (;;) {
      if (lex.type === T_EOF) return undefined;
      if (lex.type === T_PUNCT && lex.code === SEMI) {
        lex.next();
        continue;
      }
      if (lex.type !== T_NAME) lex.unexpected("a statement");
      const word = lex.str;
      if (word === "import") this.importStatement();
      else if (word === "const") {
        const pending = this.constStatement(false);
        if (pending) return pending;
      } else if (word === "export") {
        lex.next();
        if (lex.isName("const")) {
          const pending = this.constStatement(true);
          if (pending) return pending;
        } else if (lex.isName("default")) {
          lex.next();
          const name = this.bindingName();
          const binding = this.bindings.get(name);
          if (!binding) lex.fail(`\`${name}\` is not bound`);
          lex.next();
          this.exportValue("default", binding.value);
          this.endStatement();
        } else lex.unexpected("`const` or `default`");
      } else if (word === "delete") this.deleteStatement();
      else if (this.bindings.has(word) && !RESERVED.has(word)) this.patchStatement();
      else lex.unexpected("a statement");
    }
  }

  /** Binds the result of a pending array load and lets run() continue. */
  async completeArrays(pending: PendingArrays): Promise<void> {
    const loadArrays = runtimeLoadArrays();
    if (!loadArrays) this.lex.fail("this build's runtime has no loadArrays()", pending.at);
    let arrays: unknown;
    try {
      arrays = await loadArrays(this.fileUrl, pending.location, pending.format, pending.names);
    } catch (error) {
      if (error instanceof ArchiveError) throw error;
      const why = error instanceof Error ? error.message : String(error);
      const located = this.lex.formatError(
        `loading arrays from "${pending.location}" failed: ${why}`,
        pending.at,
        error,
      );
      if (/missing|ENOENT/.test(why) || (error as { code?: unknown })?.code === "ENOENT") {
        throw new NotFoundError(located.message, {
          file: located.file,
          line: located.line,
          column: located.column,
          cause: error,
        });
      }
      throw located;
    }
    // Emitted archives copy external data once (`new Uint8Array(_arrays.array_1.data)`).
    for (const value of Object.values(arrays as object)) {
      const data = (value as { data?: unknown })?.data;
      if (isView(data)) this.budget.grant(2 * (data as ArrayBufferView).byteLength);
    }
    this.bind(pending.name, arrays, B_ARRAYS, false, pending.at);
    if (pending.exported) this.exportValue(pending.name, arrays);
  }

  // ---- statements ----

  private endStatement(): void {
    const lex: Lexer = this.lex;
    if (lex.type === T_PUNCT && lex.code === SEMI) lex.next();
    else if (lex.type !== T_EOF && !lex.newlineBefore) lex.unexpected("`;`");
  }

  /** The current token as a name a binding may have (not advanced). */
  private bindingName(): string {
    const lex: Lexer = this.lex;
    if (lex.type !== T_NAME) lex.unexpected("a name");
    const name = lex.str;
    if (RESERVED.has(name) || UNBINDABLE.has(name))
      lex.fail(`\`${name}\` cannot be bound in an archive`);
    return name;
  }

  private bind(name: string, value: unknown, kind: number, patchable: boolean, at: number): void {
    if (this.bindings.has(name)) this.lex.fail(`\`${name}\` is bound twice`, at);
    this.bindings.set(name, { value, kind, patchable });
  }

  private exportValue(name: string, value: unknown): void {
    if (Object.hasOwn(this.exports, name)) this.lex.fail(`\`${name}\` is exported twice`);
    // A function named `then` would make the result a thenable: awaiting load() would call it.
    if (name === "then" && typeof value === "function") {
      this.lex.fail(
        "an export named `then` may not be a function (awaiting the result would call it)",
      );
    }
    defineProperty(this.exports, name, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }

  private importStatement(): void {
    const lex: Lexer = this.lex;
    const at = lex.start;
    lex.next();
    if (lex.isPunct(LPAREN)) lex.fail("unexpected `import(` (dynamic import is not allowed)", at);
    if (lex.isPunct(DOT))
      lex.fail("unexpected `import.` (`import.meta` is only allowed in loadArrays)", at);
    if (!lex.isPunct(LBRACE)) lex.unexpected("`{` (only named imports are allowed)");
    lex.next();
    const specs: { imported: string; local: string; at: number }[] = [];
    while (!lex.isPunct(RBRACE)) {
      if (lex.type !== T_NAME) lex.unexpected("an imported name");
      const imported = lex.str;
      const specAt = lex.start;
      lex.next();
      let local = imported;
      if (lex.isName("as")) {
        lex.next();
        local = this.bindingName();
        lex.next();
      } else if (RESERVED.has(imported) || UNBINDABLE.has(imported)) {
        lex.start = specAt;
        lex.fail(`\`${imported}\` cannot be bound in an archive`);
      }
      specs.push({ imported, local, at: specAt });
      if (!lex.isPunct(COMMA)) break;
      lex.next();
    }
    lex.expect(RBRACE);
    if (!lex.isName("from")) lex.unexpected("`from`");
    lex.next();
    if (lex.type !== T_STR) lex.unexpected("a module specifier string");
    const spec = lex.str;
    const specAt = lex.start;
    lex.next();
    if (lex.isName("with") || lex.isName("assert")) lex.unexpected("`;`");
    this.endStatement();
    for (const s of specs) {
      const r = resolveImport(spec, s.imported, this.modules);
      if (!r.ok) lex.fail(r.why, specAt);
      this.bind(s.local, r.value, B_IMPORT, false, s.at);
    }
  }

  private constStatement(exported: boolean): PendingArrays | undefined {
    const lex: Lexer = this.lex;
    lex.next();
    const at = lex.start;
    const name = this.bindingName();
    lex.next();
    lex.expect(EQUALS);
    if (lex.isName("await")) {
      const pending = this.loadArraysCall(name, exported, at);
      this.endStatement();
      if (this.bindings.has(name)) lex.fail(`\`${name}\` is bound twice`, at);
      return pending;
    }
    const value = this.parseExpression();
    const binding = this.bindings.get(name);
    if (binding) lex.fail(`\`${name}\` is bound twice`, at);
    this.bind(name, value, B_CONST, this.origin !== V_REFERENCE, at);
    if (exported) this.exportValue(name, value);
    this.endStatement();
    return undefined;
  }

  /** `await _loadArrays(import.meta.url, "LOCATION", "FORMAT", ["array_0", ...])` */
  private loadArraysCall(name: string, exported: boolean, at: number): PendingArrays {
    const lex: Lexer = this.lex;
    lex.next();
    if (lex.type !== T_NAME) lex.unexpected("the imported loadArrays");
    const callee = this.bindings.get(lex.str);
    if (!callee || callee.kind !== B_IMPORT || callee.value !== runtimeLoadArrays()) {
      lex.fail("`await` is only allowed before the runtime's loadArrays");
    }
    lex.next();
    lex.expect(LPAREN);
    for (const word of ["import", ".", "meta", ".", "url"]) {
      if (word === ".") lex.expect(DOT);
      else if (lex.isName(word)) lex.next();
      else lex.unexpected("`import.meta.url`");
    }
    lex.expect(COMMA);
    const location = this.stringArg();
    if (!isInsideLocation(location)) {
      lex.fail(
        `array location ${JSON.stringify(location)} must be a relative path inside the archive folder`,
      );
    }
    lex.next();
    lex.expect(COMMA);
    const format = this.stringArg();
    if (format !== "npy" && format !== "npz" && format !== "hdf5")
      lex.fail(`unknown array format "${format}"`);
    lex.next();
    lex.expect(COMMA);
    lex.expect(LBRACKET);
    const names: string[] = [];
    while (!lex.isPunct(RBRACKET)) {
      const arrayName = this.stringArg();
      if (!ARRAY_NAME_RE.test(arrayName)) lex.fail(`bad array name ${JSON.stringify(arrayName)}`);
      names.push(arrayName);
      lex.next();
      if (!lex.isPunct(COMMA)) break;
      lex.next();
    }
    lex.expect(RBRACKET);
    if (lex.isPunct(COMMA)) lex.next();
    lex.expect(RPAREN);
    return { name, exported, at, location, format, names };
  }

  private stringArg(): string {
    if (this.lex.type !== T_STR) this.lex.unexpected("a string");
    return this.lex.str;
  }

  /** A patch target: a `const` binding holding a value this loader created. */
  private patchTarget(name: string): object {
    const binding = this.bindings.get(name)!;
    if (binding.kind !== B_CONST || !binding.patchable) {
      this.lex.fail(`\`${name}\` cannot be patched (only values the archive creates can be)`);
    }
    return binding.value as object;
  }

  /** `.name` or `["key"]` / `[0]` after a patch target; returns the key. */
  private patchKey(): string {
    const lex: Lexer = this.lex;
    if (lex.isPunct(DOT)) {
      lex.next();
      if (lex.type !== T_NAME) lex.unexpected("a property name");
      const key = lex.str;
      lex.next();
      return key;
    }
    lex.expect(LBRACKET);
    let key: string;
    if (lex.type === T_STR) key = lex.str;
    else if (lex.type === T_NUM) key = String(lex.num);
    else lex.unexpected("a string or number key");
    lex.next();
    lex.expect(RBRACKET);
    return key;
  }

  private patchStatement(): void {
    const lex: Lexer = this.lex;
    const at = lex.start;
    const name = lex.str;
    const target = this.patchTarget(name);
    lex.next();
    if (!lex.isPunct(DOT) && !lex.isPunct(LBRACKET)) lex.unexpected("`.` or `[`");
    const key = this.patchKey();
    if (lex.isPunct(LPAREN) && (key === "set" || key === "add")) {
      lex.next();
      const first = this.parseExpression();
      let second: unknown;
      if (key === "set") {
        lex.expect(COMMA);
        second = this.parseExpression();
      }
      if (lex.isPunct(COMMA)) lex.next();
      lex.expect(RPAREN);
      try {
        if (key === "set") mapSet.call(target, first, second);
        else setAdd.call(target, first);
      } catch {
        lex.fail(
          `\`${name}.${key}(...)\` needs \`${name}\` to be a ${key === "set" ? "Map" : "Set"}`,
          at,
        );
      }
      this.endStatement();
      return;
    }
    lex.expect(EQUALS);
    const value = this.parseExpression();
    this.assignPatch(target, name, key, value, at);
    this.endStatement();
  }

  private assignPatch(target: object, name: string, key: string, value: unknown, at: number): void {
    const lex: Lexer = this.lex;
    if (Array.isArray(target)) {
      const index = Number(key);
      if (String(index >>> 0) !== key || index > target.length) {
        lex.fail(
          `\`${name}[${JSON.stringify(key)}]\`: arrays may only be patched at an index up to their length`,
          at,
        );
      }
    }
    if (key === "__proto__") {
      if (Object.getPrototypeOf(target) !== null) {
        lex.fail(`\`${name}.__proto__ = ...\` would replace a prototype`, at);
      }
      defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
      return;
    }
    let ok: boolean;
    try {
      ok = Reflect.set(target, key, value);
    } catch (error) {
      throw this.wrap(error, `patching \`${name}\``, at);
    }
    if (!ok) lex.fail(`\`${name}[${JSON.stringify(key)}]\` cannot be assigned`, at);
  }

  private deleteStatement(): void {
    const lex: Lexer = this.lex;
    const at = lex.start;
    lex.next();
    if (lex.type !== T_NAME || !this.bindings.has(lex.str)) lex.unexpected("a bound name");
    const name = lex.str;
    const target = this.patchTarget(name);
    lex.next();
    const key = this.patchKey();
    if (Array.isArray(target) && key === "length") lex.fail("cannot delete an array's length", at);
    if (!Reflect.deleteProperty(target, key))
      lex.fail(`\`${name}[${JSON.stringify(key)}]\` cannot be deleted`, at);
    this.endStatement();
  }

  // ---- expressions ----

  /** Parses and evaluates one expression; sets this.origin. */
  parseExpression(): unknown {
    const lex: Lexer = this.lex;
    const stack: Frame[] = [];
    for (;;) {
      // A value starts here: either an opening that pushes a frame, or a complete atom.
      let value: unknown;
      let origin = V_CREATED;
      if (lex.type === T_PUNCT && lex.code === LBRACKET) {
        const arr: unknown[] = [];
        const at = lex.start;
        lex.next();
        while (lex.type === T_PUNCT && lex.code === COMMA) {
          arr.length++;
          lex.next();
        }
        if (lex.type === T_PUNCT && lex.code === RBRACKET) {
          lex.next();
          value = arr;
        } else {
          this.push(stack, new Frame(F_ARRAY, at, arr));
          continue;
        }
      } else if (lex.type === T_PUNCT && lex.code === LBRACE) {
        const frame = new Frame(F_OBJECT, lex.start, {});
        lex.next();
        if (this.objectKey(frame)) {
          this.push(stack, frame);
          continue;
        }
        value = frame.target;
        origin = V_OBJECT_LITERAL;
      } else if (lex.type === T_NAME) {
        const frame = this.callStart();
        if (frame) {
          if (lex.type === T_PUNCT && lex.code === RPAREN) {
            lex.next();
            value = this.finishCall(frame);
          } else {
            this.push(stack, frame);
            continue;
          }
        } else {
          value = this.nameValue();
          origin = this.origin;
        }
      } else {
        value = this.scalar();
        origin = V_REFERENCE;
      }
      // A value is complete: apply postfix members, then hand it to the enclosing frame; closing
      // brackets complete the frame's own value, and so on up the stack.
      for (;;) {
        if (lex.type === T_PUNCT && lex.code === DOT) {
          value = this.member(value);
          if (origin === V_OBJECT_LITERAL) origin = V_CREATED;
        }
        const top = stack.length - 1;
        if (top < 0) {
          this.origin = origin;
          return value;
        }
        const frame = stack[top]!;
        if (frame.kind === F_ARRAY) {
          const arr = frame.target as unknown[];
          arr.push(value);
          if (lex.type === T_PUNCT && lex.code === COMMA) {
            lex.next();
            while (lex.type === T_PUNCT && lex.code === COMMA) {
              arr.length++;
              lex.next();
            }
            if (!(lex.type === T_PUNCT && lex.code === RBRACKET)) break;
          } else if (!(lex.type === T_PUNCT && lex.code === RBRACKET)) lex.unexpected("`,` or `]`");
          lex.next();
          stack.pop();
          value = arr;
          origin = V_CREATED;
        } else if (frame.kind === F_OBJECT) {
          const obj = frame.target as Record<string, unknown>;
          const key = frame.key;
          if (this.fastSet && key !== "__proto__") obj[key] = value;
          else
            defineProperty(obj, key, {
              value,
              writable: true,
              enumerable: true,
              configurable: true,
            });
          if (lex.type === T_PUNCT && lex.code === COMMA) {
            lex.next();
            if (this.objectKey(frame)) break;
          } else if (lex.type === T_PUNCT && lex.code === RBRACE) lex.next();
          else lex.unexpected("`,` or `}`");
          stack.pop();
          value = obj;
          origin = V_OBJECT_LITERAL;
        } else {
          (frame.target as unknown[]).push(value);
          frame.origins!.push(origin);
          if (lex.type === T_PUNCT && lex.code === COMMA) {
            lex.next();
            if (!(lex.type === T_PUNCT && lex.code === RPAREN)) break;
          } else if (!(lex.type === T_PUNCT && lex.code === RPAREN)) lex.unexpected("`,` or `)`");
          lex.next();
          stack.pop();
          value = this.finishCall(frame);
          origin = V_CREATED;
        }
      }
    }
  }

  private push(stack: Frame[], frame: Frame): void {
    if (stack.length >= MAX_DEPTH) {
      this.lex.fail(`nesting deeper than ${MAX_DEPTH} levels`, frame.at);
    }
    stack.push(frame);
  }

  /**
   * After `{` or `,` in an object literal: reads the next key and its `:`. Returns false when `}`
   * closed the object instead. `__proto__: null` entries are applied here.
   */
  private objectKey(frame: Frame): boolean {
    const lex: Lexer = this.lex;
    for (;;) {
      let key: string;
      let protoForm = false;
      if (lex.type === T_NAME || lex.type === T_STR) {
        key = lex.str;
        const wasName = lex.type === T_NAME;
        protoForm = key === "__proto__";
        lex.next();
        if (wasName && !(lex.type === T_PUNCT && lex.code === COLON)) {
          if (lex.type === T_NAME || lex.isPunct(LPAREN)) {
            lex.fail(
              `getters, setters and methods are not allowed in object literals (at \`${key}\`)`,
            );
          }
          if (lex.isPunct(COMMA) || lex.isPunct(RBRACE)) {
            lex.fail(`shorthand property \`${key}\` is not allowed; write \`${key}: value\``);
          }
        }
      } else if (lex.type === T_NUM) {
        key = String(lex.num);
        lex.next();
      } else if (lex.type === T_PUNCT && lex.code === LBRACKET) {
        lex.next();
        if (lex.type === T_STR) key = lex.str;
        else if (lex.type === T_NUM) key = String(lex.num);
        else lex.unexpected("a string or number key (computed keys must be literals)");
        lex.next();
        lex.expect(RBRACKET);
      } else if (lex.type === T_PUNCT && lex.code === RBRACE) {
        lex.next();
        return false;
      } else {
        if (lex.isPunct(42)) lex.fail("generator methods are not allowed in object literals");
        lex.unexpected("a property key or `}`");
      }
      lex.expect(COLON);
      if (!protoForm) {
        frame.key = key;
        return true;
      }
      // `__proto__: null` makes a null-prototype object; any other prototype is refused.
      if (!lex.isName("null"))
        lex.fail('`__proto__` may only be set to `null` (write `["__proto__"]: v` for an own key)');
      if (frame.protoSet) lex.fail("duplicate `__proto__`");
      frame.protoSet = true;
      Object.setPrototypeOf(frame.target, null);
      lex.next();
      if (lex.isPunct(COMMA)) {
        lex.next();
        continue;
      }
      lex.expect(RBRACE);
      return false;
    }
  }

  /** Literals and signed numbers. */
  private scalar(): unknown {
    const lex: Lexer = this.lex;
    let value: unknown;
    switch (lex.type) {
      case T_NUM:
        value = lex.num;
        break;
      case T_STR:
        value = lex.str;
        break;
      case T_BIGINT:
        value = lex.big;
        break;
      case T_PUNCT:
        if (lex.code === MINUS || lex.code === PLUS) {
          const negative = lex.code === MINUS;
          lex.next();
          if (lex.type === T_NUM) value = negative ? -lex.num : lex.num;
          else if (lex.type === T_BIGINT && negative) value = -lex.big;
          else if (lex.isName("Infinity") && !this.bindings.has("Infinity"))
            value = negative ? -Infinity : Infinity;
          else if (lex.isName("NaN")) value = Number.NaN;
          else lex.unexpected("a number after the sign");
          break;
        }
        lex.unexpected("a value");
        break;
      default:
        lex.unexpected("a value");
    }
    lex.next();
    return value;
  }

  /** A name in value position that is not a call: keywords, bindings, global paths. */
  private nameValue(): unknown {
    const lex: Lexer = this.lex;
    const name = lex.str;
    this.origin = V_REFERENCE;
    switch (name) {
      case "null":
        lex.next();
        return null;
      case "true":
        lex.next();
        return true;
      case "false":
        lex.next();
        return false;
      case "undefined":
        lex.next();
        return undefined;
      case "NaN":
        lex.next();
        return Number.NaN;
      case "Infinity":
        lex.next();
        return Infinity;
    }
    const binding = this.bindings.get(name);
    if (binding) {
      lex.next();
      if (binding.kind === B_ARRAYS) {
        // `_arrays.array_0`: an own property of the loaded arrays record.
        lex.expect(DOT);
        if (lex.type !== T_NAME) lex.unexpected("an array name");
        const key = lex.str;
        const desc = Object.getOwnPropertyDescriptor(binding.value as object, key);
        if (!desc || !("value" in desc)) lex.fail(`no external array named \`${key}\``);
        lex.next();
        return desc.value;
      }
      if (binding.kind === B_IMPORT && lex.isPunct(DOT)) {
        lex.fail(`only \`${name}.factory(...)\` calls may follow an import`);
      }
      if (binding.patchable) this.origin = V_CREATED;
      return binding.value;
    }
    if (GLOBAL_ROOTS.has(name)) {
      const at = lex.start;
      const path = this.globalPath();
      if (path.startsWith("Symbol.")) {
        const sym = WELL_KNOWN_SYMBOLS.get(path.slice(7));
        if (sym !== undefined) return sym;
      }
      const fn = globalFunction(path);
      if (fn === undefined) lex.fail(`\`${path}\` is not an allowed global`, at);
      return fn;
    }
    lex.unexpected("a value");
  }

  /** Reads `A.b.c` starting at a global root name. */
  private globalPath(): string {
    const lex: Lexer = this.lex;
    let path = lex.str;
    lex.next();
    while (lex.type === T_PUNCT && lex.code === DOT) {
      lex.next();
      if (lex.type !== T_NAME) lex.unexpected("a property name");
      path += `.${lex.str}`;
      lex.next();
    }
    return path;
  }

  /**
   * If the name at the current token starts a call (`new X(`, `Object(`, `Object.assign(`,
   * `Symbol.for(`, `_Imported.factory(`), consumes up to and including `(` and returns its frame.
   */
  private callStart(): Frame | undefined {
    const lex: Lexer = this.lex;
    const at = lex.start;
    const name = lex.str;
    const binding = this.bindings.get(name);
    if (name === "new") {
      lex.next();
      if (lex.type !== T_NAME) lex.unexpected("a class name");
      const calleeName = lex.str;
      const calleeBinding = this.bindings.get(calleeName);
      const frame = new Frame(F_CALL, at, []);
      frame.name = calleeName;
      frame.origins = [];
      if (calleeBinding) {
        if (calleeBinding.kind !== B_IMPORT || typeof calleeBinding.value !== "function") {
          lex.fail(
            `\`new ${calleeName}\`: only imported classes and allowed built-ins can be constructed`,
          );
        }
        frame.callKind = C_NEW_IMPORTED;
        frame.callee = calleeBinding.value;
      } else {
        const ctor = CONSTRUCTORS.get(calleeName);
        if (!ctor) lex.fail(`\`new ${calleeName}\` is not allowed`);
        frame.callKind = C_NEW_BUILTIN;
        frame.callee = ctor;
      }
      lex.next();
      if (!lex.isPunct(LPAREN)) lex.unexpected("`(`");
      lex.next();
      return frame;
    }
    if (binding) {
      if (binding.kind !== B_IMPORT) return undefined;
      // Peek: `_Imported.factory(`
      const save = this.saveLexer();
      lex.next();
      if (!lex.isPunct(DOT)) {
        if (lex.isPunct(LPAREN))
          lex.fail(`calling \`${name}(...)\` is not allowed; use \`new ${name}(...)\``);
        this.restoreLexer(save);
        return undefined;
      }
      lex.next();
      if (lex.type !== T_NAME) lex.unexpected("a factory method name");
      const method = lex.str;
      const fn = staticMethod(binding.value, method);
      if (fn === undefined) lex.fail(`\`${name}.${method}\` is not a static method of the import`);
      lex.next();
      if (!lex.isPunct(LPAREN)) lex.fail(`\`${name}.${method}\` may only be called`);
      lex.next();
      const frame = new Frame(F_CALL, at, []);
      frame.callKind = C_FACTORY;
      frame.callee = fn;
      frame.thisArg = binding.value;
      frame.name = `${name}.${method}`;
      frame.origins = [];
      return frame;
    }
    if (name !== "Object" && name !== "Symbol") {
      if (!GLOBAL_ROOTS.has(name)) {
        const c = lex.text.charCodeAt(lex.end);
        if (c === LPAREN) lex.unexpected();
      }
      return undefined;
    }
    const save = this.saveLexer();
    const path = this.globalPath();
    if (!lex.isPunct(LPAREN)) {
      this.restoreLexer(save);
      return undefined;
    }
    let kind: number;
    if (path === "Object") kind = C_OBJECT;
    else if (path === "Object.assign") kind = C_ASSIGN;
    else if (path === "Symbol.for") kind = C_SYMBOL_FOR;
    else lex.fail(`calling \`${path}(...)\` is not allowed`, at);
    lex.next();
    const frame = new Frame(F_CALL, at, []);
    frame.callKind = kind;
    frame.name = path;
    frame.origins = [];
    return frame;
  }

  private saveLexer(): [number, number, number, number, string, number, boolean] {
    const l = this.lex;
    return [l.pos, l.type, l.start, l.end, l.str, l.code, l.newlineBefore];
  }

  private restoreLexer(s: [number, number, number, number, string, number, boolean]): void {
    const l = this.lex;
    [l.pos, l.type, l.start, l.end, l.str, l.code, l.newlineBefore] = s;
  }

  /** `.buffer` of a typed array, `.data` of an NDArray: the only members values have. */
  private member(value: unknown): unknown {
    const lex: Lexer = this.lex;
    lex.next();
    if (lex.type !== T_NAME) lex.unexpected("a property name");
    const key = lex.str;
    if (key === "buffer" && isView(value) && !(value instanceof DataView)) {
      lex.next();
      return typedArrayBuffer.call(value);
    }
    if (key === "data" && typeof value === "object" && value !== null) {
      const brand = Object.getOwnPropertyDescriptor(value, NDARRAY_BRAND);
      const data = Object.getOwnPropertyDescriptor(value, "data");
      if (brand?.value === true && data && "value" in data) {
        lex.next();
        return data.value;
      }
    }
    lex.start--;
    lex.fail(`member access \`.${key}\` is not allowed here`);
  }

  private finishCall(frame: Frame): unknown {
    const args = frame.target as unknown[];
    const lex: Lexer = this.lex;
    const at = frame.at;
    switch (frame.callKind) {
      case C_NEW_BUILTIN:
        {
          const problem = builtinArgsProblem(frame.callee, args, this.budget);
          if (problem) lex.fail(`\`new ${frame.name}(...)\` ${problem}`, at);
        }
        break;
      case C_NEW_IMPORTED:
        break;
      case C_OBJECT: {
        const t = typeof args[0];
        if (args.length !== 1 || t === "object" || t === "function" || t === "undefined") {
          lex.fail("`Object(x)` is only allowed to box a primitive", at);
        }
        return Object(args[0]);
      }
      case C_SYMBOL_FOR:
        if (args.length !== 1 || typeof args[0] !== "string")
          lex.fail("`Symbol.for` needs one string", at);
        return symbolFor(args[0]);
      case C_ASSIGN:
        return this.assign(frame, at);
      case C_FACTORY:
        try {
          return reflectApply(frame.callee as Function, frame.thisArg, args);
        } catch (error) {
          throw this.wrap(error, `calling \`${frame.name}(...)\``, at);
        }
    }
    try {
      return reflectConstruct(frame.callee as Function, args);
    } catch (error) {
      throw this.wrap(error, `\`new ${frame.name}(...)\``, at);
    }
  }

  /** `Object.assign(CREATED, { literal })`, done key by key without ever assigning `__proto__`. */
  private assign(frame: Frame, at: number): unknown {
    const args = frame.target as unknown[];
    const [target, source] = args;
    const origins = frame.origins!;
    if (args.length !== 2 || origins[0] === V_REFERENCE || origins[1] !== V_OBJECT_LITERAL) {
      this.lex.fail("`Object.assign` needs a new value and an object literal", at);
    }
    for (const key of Object.keys(source as object)) {
      if (key === "__proto__")
        this.lex.fail("`Object.assign` of a `__proto__` key is not allowed", at);
      let ok: boolean;
      try {
        ok = Reflect.set(target as object, key, (source as Record<string, unknown>)[key]);
      } catch (error) {
        throw this.wrap(error, "`Object.assign(...)`", at);
      }
      if (!ok) this.lex.fail(`\`Object.assign\` could not set \`${key}\``, at);
    }
    return target;
  }

  /** Turns an error thrown by a constructor or factory into a FormatError at `at`. */
  private wrap(error: unknown, what: string, at: number): ArchiveError {
    if (error instanceof ArchiveError) return error;
    const why = error instanceof Error ? error.message : String(error);
    return this.lex.formatError(`${what} failed: ${why}`, at, error);
  }
}

/** `./dir` or `./file.npz`: relative, no `..`, no backslashes or URL schemes. */
function isInsideLocation(location: string): boolean {
  if (!location.startsWith("./") || location.includes("\\") || location.includes(":")) return false;
  return location.split("/").every((part) => part !== "..");
}

/** A static method of an imported class, read without running getters; never a code evaluator. */
function staticMethod(owner: unknown, key: string): Function | undefined {
  if (key === "constructor" || key === "prototype" || key === "__proto__") return undefined;
  if (key === "call" || key === "apply" || key === "bind") return undefined;
  let o: unknown = owner;
  while (
    (typeof o === "function" || typeof o === "object") &&
    o !== null &&
    o !== Function.prototype &&
    o !== Object.prototype
  ) {
    const desc = Object.getOwnPropertyDescriptor(o, key);
    if (desc) {
      const fn = "value" in desc ? desc.value : undefined;
      return typeof fn === "function" && !FORBIDDEN_FUNCTIONS.has(fn) ? fn : undefined;
    }
    o = Object.getPrototypeOf(o);
  }
  return undefined;
}

export { RUNTIME_SPECIFIER };
