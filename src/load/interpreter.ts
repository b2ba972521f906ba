/**
 * Evaluating parser for the archive language (docs/archive-language.md): reads statements and
 * builds values as it goes, never an AST and never running code from the file. This half reads
 * statements (imports, consts, exports, patches); expressions.ts evaluates expressions.
 */
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { confinedReads } from "../arrays/containers.js";
import { openArraysLazily } from "../arrays/lazy.js";
import { ArchiveError, NotFoundError } from "../errors.js";
import type { ArrayReadOptions } from "../runtime/persist-runtime.mjs";
import { checkConfined } from "../store/confined.js";
import {
  B_ARRAYS,
  B_CONST,
  B_IMPORT,
  COMMA,
  DOT,
  EQUALS,
  ExpressionReader,
  LBRACE,
  LBRACKET,
  LPAREN,
  RBRACE,
  RBRACKET,
  RPAREN,
  SEMI,
  V_REFERENCE,
} from "./expressions.js";
import { defineProperty, isView, mapSet, setAdd, UNBINDABLE } from "./globals.js";
import { type Lexer, T_EOF, T_NAME, T_NUM, T_PUNCT, T_STR } from "./lexer.js";
import { type ModuleMap, resolveImport, runtimeLoadArrays } from "./resolve.js";

export { MAX_DEPTH } from "./expressions.js";

const ARRAY_NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await"
  ).split(" "),
);

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
  /** Folder external array files must really lie in (after symlinks). */
  root: string;
  /** Bytes of array data one data file may produce per byte of its size (runtime default). */
  maxExpansion?: number | undefined;
  /** External arrays as LazyArrays read from their headers only (arrays/lazy.ts). */
  lazy?: boolean | undefined;
  /** Opens data files in place of the file system (it confines them itself). */
  open?: ArrayReadOptions["open"];
}

export class Interpreter extends ExpressionReader {
  private readonly modules: ModuleMap | undefined;
  readonly exports: Record<string, unknown> = {};
  readonly fileUrl: string;
  private readonly file: string;
  private readonly root: string;
  private readonly maxExpansion: number | undefined;
  private readonly lazy: boolean;
  private readonly open: ArrayReadOptions["open"];

  constructor(text: string, options: InterpretOptions) {
    super(text, options.file);
    this.modules = options.modules;
    this.file = options.file;
    this.root = options.root;
    this.maxExpansion = options.maxExpansion;
    this.lazy = options.lazy === true;
    this.open = options.open;
    this.fileUrl = pathToFileURL(options.file).href;
  }

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
        } else if (lex.isPunct(LBRACE)) this.exportList();
        else lex.unexpected("`const`, `default` or `{`");
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
      if (!this.open) await checkArrayFiles(this.file, this.root, pending);
      // Data files are opened through store/confined.ts (inside root, non-blocking, regular files
      // only, descriptor re-checked): no window between the check above and the open.
      const reads = this.open
        ? { root: this.root, maxExpansion: this.maxExpansion, open: this.open }
        : confinedReads({ root: this.root, maxExpansion: this.maxExpansion });
      arrays = this.lazy
        ? await openArraysLazily(
            this.fileUrl,
            pending.location,
            pending.format,
            pending.names,
            reads,
          )
        : await loadArrays(this.fileUrl, pending.location, pending.format, pending.names, reads);
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

  /**
   * `export { _Map as Map, other };`: exports of bindings. The emitter writes this for exports
   * named like a global the module uses (`Map`, `Symbol`) or like `undefined`/`eval`, which it
   * binds privately so they shadow nothing.
   */
  private exportList(): void {
    const lex: Lexer = this.lex;
    lex.next();
    while (!lex.isPunct(RBRACE)) {
      if (lex.type !== T_NAME) lex.unexpected("a bound name");
      const local = lex.str;
      const binding = this.bindings.get(local);
      if (!binding) lex.fail(`\`${local}\` is not bound`);
      lex.next();
      let exported = local;
      if (lex.isName("as")) {
        lex.next();
        if (lex.type !== T_NAME) lex.unexpected("an export name");
        exported = lex.str;
        lex.next();
      }
      this.exportValue(exported, binding.value);
      if (!lex.isPunct(COMMA)) break;
      lex.next();
    }
    if (!lex.isPunct(RBRACE)) lex.unexpected("`,` or `}`");
    lex.next();
    this.endStatement();
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
      // Natively, assigning to an own `__proto__` data property (made by `["__proto__"]: …`) sets
      // that property; only an assignment that would reach the inherited setter is refused.
      if (Object.getPrototypeOf(target) !== null && !Object.hasOwn(target, "__proto__")) {
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
}

/**
 * Checks, before the runtime opens anything, that the array files of a `_loadArrays` statement are
 * regular files (or, for npy, a directory) whose real paths lie inside `root`: a symlinked
 * `_arrays` folder or `array_0.npy` pointing elsewhere, a FIFO, a symlink to /dev/zero are
 * FormatErrors naming the file. Missing files are left to the runtime, which names the array.
 * (The runtime then opens the same paths; swapping a file for a symlink in between needs write
 * access to the archive folder during the load.)
 */
async function checkArrayFiles(file: string, root: string, pending: PendingArrays): Promise<void> {
  const location = resolve(dirname(file), pending.location);
  const tolerateMissing = (error: unknown) => {
    if (!(error instanceof NotFoundError)) throw error;
  };
  if (pending.format !== "npy") {
    await checkConfined(location, { root, what: `${pending.format} array file` }).catch(
      tolerateMissing,
    );
    return;
  }
  const dir = await checkConfined(location, {
    root,
    kind: "directory",
    what: "array folder",
  }).catch(tolerateMissing);
  if (!dir) return;
  for (const name of pending.names) {
    await checkConfined(join(location, `${name}.npy`), { root, what: "array file" }).catch(
      tolerateMissing,
    );
  }
}

/** `./dir` or `./file.npz`: relative, no `..`, no backslashes or URL schemes. */
function isInsideLocation(location: string): boolean {
  if (!location.startsWith("./") || location.includes("\\") || location.includes(":")) return false;
  return location.split("/").every((part) => part !== "..");
}
