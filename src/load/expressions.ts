/**
 * Expression half of the archive interpreter: evaluates one expression of the language while
 * parsing it. Nesting is handled with an explicit stack of frames (not recursion), so depth is
 * bounded by MAX_DEPTH and not by the JS call stack, and nothing but the frames is ever held.
 */
import { isProxy } from "node:util/types";
import { LazyArray } from "../arrays/lazy.js";
import {
  hasLazyArgument,
  lazyConstruct,
  lazyMember,
  lazyNDArray,
  needsData,
} from "../arrays/lazy-forms.js";
import { ArchiveError, LazyLoadError } from "../errors.js";
import { NDArray } from "../runtime/persist-runtime.mjs";
import { builtinArgsProblem, WorkBudget } from "./builtins.js";
import {
  BUILTIN_CONSTRUCTORS,
  CONSTRUCTORS,
  defineProperty,
  FORBIDDEN_FUNCTIONS,
  GLOBAL_ROOTS,
  globalFunction,
  INTRINSICS,
  isNativeFunction,
  isView,
  reflectApply,
  reflectConstruct,
  symbolFor,
  typedArrayBuffer,
  WELL_KNOWN_SYMBOLS,
} from "./globals.js";
import { Lexer, T_BIGINT, T_NAME, T_NUM, T_PUNCT, T_STR } from "./lexer.js";

export const MAX_DEPTH: number = 5000;

export const LBRACE: number = 123;
export const RBRACE: number = 125;
export const LBRACKET: number = 91;
export const RBRACKET: number = 93;
export const LPAREN: number = 40;
export const RPAREN: number = 41;
export const COMMA: number = 44;
const COLON: number = 58;
export const SEMI: number = 59;
export const DOT: number = 46;
export const EQUALS: number = 61;
const MINUS: number = 45;
const PLUS: number = 43;

// Binding kinds.
export const B_CONST: number = 0;
export const B_IMPORT: number = 1;
export const B_ARRAYS: number = 2;

// How a value came to be: only values the loader created may be patched or Object.assign'ed.
export const V_REFERENCE: number = 0;
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

export interface Binding {
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

export class ExpressionReader {
  protected readonly lex: Lexer;
  protected readonly bindings = new Map<string, Binding>();
  protected readonly budget: WorkBudget;
  private readonly fastSet: boolean;
  /** Origin (V_*) of the value parseExpression() returned last. */
  protected origin = V_REFERENCE;
  /** Reusable array/object frames by stack depth (see frame()). */
  private readonly frames: Frame[] = [];
  /** Origin (V_*) of the value finishCall() returned last. */
  private callOrigin = V_CREATED;
  constructor(text: string, file: string) {
    this.lex = new Lexer(text, file);
    this.budget = new WorkBudget(text.length);
    this.fastSet = prototypesHaveNoSetters();
  }

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
          this.push(stack, this.frame(stack.length, F_ARRAY, at, arr));
          continue;
        }
      } else if (lex.type === T_PUNCT && lex.code === LBRACE) {
        const frame = this.frame(stack.length, F_OBJECT, lex.start, {});
        lex.next();
        if (this.objectKey(frame)) {
          this.push(stack, frame);
          continue;
        }
        value = frame.target;
        origin = V_OBJECT_LITERAL;
      } else if (lex.type === T_NAME) {
        // The commonest names first (reserved words: never bindings, globals or calls).
        const name = lex.str;
        if (name === "null" || name === "true" || name === "false") {
          value = name === "null" ? null : name === "true";
          origin = V_REFERENCE;
          lex.next();
        } else {
          const frame = this.callStart();
          if (frame) {
            if (lex.type === T_PUNCT && lex.code === RPAREN) {
              lex.next();
              value = this.finishCall(frame);
              origin = this.callOrigin;
            } else {
              this.push(stack, frame);
              continue;
            }
          } else {
            value = this.nameValue();
            origin = this.origin;
          }
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
          origin = this.callOrigin;
        }
      }
    }
  }

  /**
   * An array or object frame for stack depth `depth`, reused: a frame at depth d is only ever
   * live while it sits at stack[d], so one per depth suffices (a load of 100k objects allocated
   * 100k frames of garbage before). Call frames stay fresh (they are rare and carry more state).
   */
  private frame(
    depth: number,
    kind: number,
    at: number,
    target: unknown[] | Record<string, unknown>,
  ): Frame {
    let frame = this.frames[depth];
    if (frame === undefined) {
      frame = new Frame(kind, at, target);
      if (depth < MAX_DEPTH) this.frames[depth] = frame;
      return frame;
    }
    frame.kind = kind;
    frame.at = at;
    frame.target = target;
    frame.key = "";
    frame.protoSet = false;
    return frame;
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
        const callee = calleeBinding.value;
        if (calleeBinding.kind !== B_IMPORT || typeof callee !== "function") {
          lex.fail(
            `\`new ${calleeName}\`: only imported classes and allowed built-ins can be constructed`,
          );
        }
        if (INTRINSICS.has(callee)) {
          // A built-in handed in through `modules` is held to the built-in rules, not trusted more.
          if (!BUILTIN_CONSTRUCTORS.has(callee)) {
            lex.fail(`\`new ${calleeName}\`: the import is a built-in that may not be constructed`);
          }
          frame.callKind = C_NEW_BUILTIN;
        } else frame.callKind = C_NEW_IMPORTED;
        frame.callee = callee;
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
    if (value instanceof LazyArray) {
      // A lazy load's stand-in: `.data` / `.buffer` give its other forms (arrays/lazy-forms.ts).
      const at = lex.start - 1;
      lex.next();
      return this.lazyStep(() => lazyMember(value, key), at);
    }
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

  /**
   * Completes a call. Sets this.callOrigin: what built-ins and the language make is V_CREATED
   * (patchable); what imported code returns is V_REFERENCE, because a constructor or factory may
   * return any existing object (`Object.prototype`, a shared singleton) that must never be mutated.
   */
  private finishCall(frame: Frame): unknown {
    const args = frame.target as unknown[];
    const lex: Lexer = this.lex;
    const at = frame.at;
    this.callOrigin = V_CREATED;
    const lazy = hasLazyArgument(args);
    if (lazy && frame.callKind === C_NEW_BUILTIN) {
      const name = (frame.callee as Function).name;
      return this.lazyStep(() => lazyConstruct(name, args), at);
    }
    if (lazy && frame.callKind === C_NEW_IMPORTED && frame.callee === NDArray) {
      return this.lazyStep(() => lazyNDArray(args), at);
    }
    switch (frame.callKind) {
      case C_NEW_BUILTIN:
        {
          const problem = builtinArgsProblem(frame.callee, args, this.budget);
          if (problem) lex.fail(`\`new ${frame.name}(...)\` ${problem}`, at);
          // A view writes through to its buffer: only over buffers this load created.
          if (args[0] instanceof ArrayBuffer && frame.origins![0] === V_REFERENCE) {
            lex.fail(
              `\`new ${frame.name}(...)\` may only view an ArrayBuffer the archive creates itself`,
              at,
            );
          }
        }
        break;
      case C_NEW_IMPORTED:
        this.callOrigin = V_REFERENCE;
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
        this.callOrigin = V_REFERENCE;
        try {
          return reflectApply(frame.callee as Function, frame.thisArg, args);
        } catch (error) {
          if (lazy) throw this.lazyFailure(args, `calling \`${frame.name}(...)\``, at, error);
          throw this.wrap(error, `calling \`${frame.name}(...)\``, at);
        }
    }
    try {
      return reflectConstruct(frame.callee as Function, args);
    } catch (error) {
      if (lazy) throw this.lazyFailure(args, `\`new ${frame.name}(...)\``, at, error);
      throw this.wrap(error, `\`new ${frame.name}(...)\``, at);
    }
  }

  /** Runs a step of a lazy load's stand-in logic; its errors get this place in the archive. */
  private lazyStep(step: () => LazyArray, at: number): LazyArray {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof ArchiveError)) throw error;
      const where = this.lex.formatError("", at);
      const Class = error instanceof LazyLoadError ? LazyLoadError : error.constructor;
      throw new (Class as typeof LazyLoadError)(`${error.message}${where.message}`, {
        file: where.file,
        line: where.line,
        column: where.column,
        cause: error.cause,
      });
    }
  }

  /** An imported class or factory that failed on a stand-in it was given: it needed the data. */
  private lazyFailure(args: readonly unknown[], what: string, at: number, error: unknown): Error {
    const lazy = args.find((a) => a instanceof LazyArray) as LazyArray;
    return this.lazyStepError(needsData(lazy, what, error), at);
  }

  private lazyStepError(error: ArchiveError, at: number): Error {
    try {
      this.lazyStep(() => {
        throw error;
      }, at);
    } catch (located) {
      return located as Error;
    }
    return error;
  }

  /** `Object.assign(CREATED, { literal })`, done key by key without ever assigning `__proto__`. */
  private assign(frame: Frame, at: number): unknown {
    const args = frame.target as unknown[];
    const [target, source] = args;
    const origins = frame.origins!;
    if (
      args.length === 2 &&
      origins[0] !== V_REFERENCE &&
      Array.isArray(source) &&
      isView(target) &&
      !(target instanceof DataView)
    ) {
      return this.assignElements(target as Uint8Array, source, at);
    }
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

  /**
   * `Object.assign(new Uint8Array(new ArrayBuffer(n, { maxByteLength: m })), [1, 2, 3])`: how the
   * emitter fills a resizable buffer. Numbers (BigInts for 64-bit arrays) into existing elements.
   */
  private assignElements(target: Uint8Array, source: unknown[], at: number): unknown {
    if (source.length > target.length) {
      this.lex.fail("`Object.assign` of more elements than the typed array has", at);
    }
    for (let i = 0; i < source.length; i++) {
      const x = source[i];
      if (typeof x !== "number" && typeof x !== "bigint") {
        this.lex.fail("`Object.assign` into a typed array takes numbers only", at);
      }
      try {
        (target as unknown as unknown[])[i] = x;
      } catch (error) {
        throw this.wrap(error, "`Object.assign(...)`", at);
      }
    }
    return target;
  }

  /** Turns an error thrown by a constructor or factory into a FormatError at `at`. */
  protected wrap(error: unknown, what: string, at: number): ArchiveError {
    if (error instanceof ArchiveError) return error;
    const why = error instanceof Error ? error.message : String(error);
    return this.lex.formatError(`${what} failed: ${why}`, at, error);
  }
}

/**
 * A static method of an imported class, read without running getters. The lookup climbs the
 * class's own superclass chain but stops at the first built-in (`Object`, `Function.prototype`,
 * `Array`, a native or bound function, ...), and never returns a built-in function: an archive may
 * call the factories the class defines, not `getPrototypeOf`, `defineProperty`, `call`, `bind`.
 */
function staticMethod(owner: unknown, key: string): Function | undefined {
  if (key === "constructor" || key === "prototype" || key === "__proto__") return undefined;
  let o: unknown = owner;
  for (let hops = 0; hops < 64; hops++) {
    if ((typeof o !== "function" && typeof o !== "object") || o === null) return undefined;
    // A Proxy reads as native code but is the importer's own object (the CLI's stand-ins are
    // one); what it hands out is still checked below.
    if (INTRINSICS.has(o) || (!isProxy(o) && isNativeFunction(o))) return undefined;
    const desc = Object.getOwnPropertyDescriptor(o, key);
    if (desc) {
      const fn = "value" in desc ? desc.value : undefined;
      if (typeof fn !== "function" || INTRINSICS.has(fn) || FORBIDDEN_FUNCTIONS.has(fn)) {
        return undefined;
      }
      return fn;
    }
    o = Object.getPrototypeOf(o);
  }
  return undefined;
}
