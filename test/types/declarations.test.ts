/**
 * The shipped declarations are the documentation users see in their editor: every symbol the
 * package root exports, and every public member of its classes and interfaces, carries a doc
 * comment in the built `.d.ts`. Internal API (`@internal`, e.g. `Archive.ofItem`) is not shipped,
 * and the root exports exactly the public surface below (no internal helpers).
 *
 * The declarations are built here (tsc with tsconfig.build.json, declarations only, into a temp
 * dir), so the test checks the sources of this commit, not a stale dist/.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import ts from "typescript";
import { tempDir } from "../helpers/tmp.js";

const ROOT = process.cwd();

/** The root's public surface: API.md's names plus documented extras. Adding one is a decision. */
const PUBLIC = [
  "AnyFunction",
  "Archivable",
  "Archive",
  "ArchiveError",
  "ArchiveErrorOptions",
  "ArchiveOptions",
  "ArrayFormat",
  "DataFormat",
  "DataSet",
  "DataSetOpenOptions",
  "GetOptions",
  "DuplicateError",
  "ErrorLocation",
  "FormatError",
  "InvalidNameError",
  "LazyLoadError", // lazy load: a use of a LazyArray that needs its data (README, lazy arrays)
  "LoadOptions",
  "LoadsAs", // LazyArray.loadsAs: what an eager load would have given
  "LockTimeoutError",
  "NDArray",
  "NamedArray",
  "NotFoundError",
  "NpyReadOptions",
  "PersistentRep",
  "QueryOptions",
  "ReadOnlyError",
  "RegisterOptions",
  "SaveOptions",
  "SaveResult",
  "TypedArray",
  "UnsafeArchiveError",
  "UnsupportedValueError",
  "load",
  "npy",
  "persist",
  "readArrayFiles",
  "register",
  "writeArrayFiles",
];

/** Public names announced in API.md's Turn-2 additions that may not have landed yet. */
const ANNOUNCED = ["LazyArray"];

let built: Promise<string> | undefined;

/** Builds the declarations once per process; returns the path of the root `index.d.ts`. */
function buildDeclarations(): Promise<string> {
  built ??= (async () => {
    const out = await tempDir("persist-dts-");
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    await promisify(execFile)(
      process.execPath,
      [
        tsc,
        "-p",
        "tsconfig.build.json",
        "--emitDeclarationOnly",
        "--declarationMap",
        "false",
        "--outDir",
        out,
      ],
      { cwd: ROOT },
    );
    return join(out, "index.d.ts");
  })();
  return built;
}

function program(index: string) {
  const p = ts.createProgram([index], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
    noEmit: true,
  });
  const checker = p.getTypeChecker();
  const file = p.getSourceFile(index);
  assert.ok(file, index);
  const moduleSymbol = checker.getSymbolAtLocation(file);
  assert.ok(moduleSymbol, "index.d.ts is a module");
  return { checker, exports: checker.getExportsOfModule(moduleSymbol) };
}

function resolved(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function documented(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() !== "") return true;
  // A member that only carries tags (`@returns`, `@param` ...) counts as documented too.
  return symbol.getJsDocTags(checker).length > 0;
}

function isPrivate(decl: ts.Declaration): boolean {
  const flags = ts.getCombinedModifierFlags(decl);
  return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;
}

/** Public members (instance and static, symbol-keyed too) declared by a class or interface itself. */
function ownMembers(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol[] {
  const own = new Set<ts.Node>(symbol.declarations ?? []);
  const candidates = [...checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))];
  if (symbol.flags & ts.SymbolFlags.Class) {
    const statics = checker.getTypeOfSymbol(symbol);
    candidates.push(...checker.getPropertiesOfType(statics).filter((p) => p.name !== "prototype"));
  }
  return candidates.filter((member) => {
    const decls = member.declarations ?? [];
    if (!decls.some((d) => own.has(d.parent))) return false;
    return !decls.every(isPrivate);
  });
}

test("root exports exactly the public surface (no internal helpers)", async () => {
  const { exports } = program(await buildDeclarations());
  const names = exports.map((s) => s.name);
  const unexpected = names.filter((n) => !PUBLIC.includes(n) && !ANNOUNCED.includes(n));
  assert.deepEqual(
    unexpected,
    [],
    "exported from the root but not public: add to PUBLIC or stop exporting",
  );
  assert.deepEqual(
    PUBLIC.filter((n) => !names.includes(n)),
    [],
    "public names missing from the root",
  );
  // The runtime module agrees with its declarations.
  const runtime = await import("../../src/index.js");
  const values = Object.keys(runtime).sort();
  for (const name of values) {
    assert.ok(PUBLIC.includes(name) || ANNOUNCED.includes(name), `runtime export ${name}`);
  }
});

test("every exported symbol and every public member carries a doc comment in the .d.ts", async () => {
  const { checker, exports } = program(await buildDeclarations());
  const missing: string[] = [];
  for (const exported of exports) {
    const symbol = resolved(checker, exported);
    if (!documented(checker, symbol)) missing.push(exported.name);
    if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) {
      for (const member of ownMembers(checker, symbol)) {
        if (!documented(checker, member)) missing.push(`${exported.name}.${member.name}`);
      }
    }
    if (symbol.flags & ts.SymbolFlags.Variable && exported.name === "npy") {
      // `npy` is a namespace object: each of its functions is API too.
      const decl = symbol.valueDeclaration;
      assert.ok(decl);
      const type = checker.getTypeOfSymbolAtLocation(symbol, decl);
      for (const prop of type.getProperties()) {
        if (!documented(checker, prop)) missing.push(`npy.${prop.name}`);
      }
    }
  }
  assert.deepEqual(missing, [], `undocumented in the shipped declarations: ${missing.join(", ")}`);
});

test("internal API is not shipped: Archive.ofItem is stripped from the declarations", async () => {
  const { checker, exports } = program(await buildDeclarations());
  const archive = exports.find((s) => s.name === "Archive");
  assert.ok(archive);
  const statics = resolved(checker, archive).exports;
  assert.equal(statics?.has("ofItem" as ts.__String), false);
});

test("package metadata: MIT LICENSE file matching package.json, repository, keywords, bugs", async () => {
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
  assert.equal(pkg.license, "MIT");
  assert.match(await readFile(join(ROOT, "LICENSE"), "utf8"), /^MIT License\n/);
  assert.equal(pkg.repository?.type, "git");
  assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.length > 0);
  assert.equal(typeof pkg.bugs?.url, "string");
  assert.equal(typeof pkg.homepage, "string");
  assert.ok(pkg.files.includes("LICENSE"));
});
