/**
 * The named imports of an archive module, found with the loader's own tokenizer in one linear
 * pass. For tools that must know what a module imports before loading it (the CLI makes stand-ins
 * for them); a regular expression over the text was quadratic on hostile input (1 MiB of
 * `import {` took 76 s). Stops quietly at the first thing outside the archive language: load()
 * reports that itself.
 */
import { LBRACE, RBRACE } from "./expressions.js";
import { Lexer, T_EOF, T_NAME, T_STR } from "./lexer.js";

const COMMA = 44;

/** Import specifier → names imported from it, in the order met. */
export function listImports(text: string, file = "<archive>"): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let lex: Lexer;
  try {
    lex = new Lexer(text, file);
    while (lex.type !== T_EOF) {
      if (!lex.isName("import")) {
        lex.next();
        continue;
      }
      lex.next();
      if (!lex.isPunct(LBRACE)) continue;
      lex.next();
      const names: string[] = [];
      while (lex.type === T_NAME) {
        names.push(lex.str);
        lex.next();
        if (lex.isName("as")) {
          lex.next();
          if (lex.type === T_NAME) lex.next();
        }
        if (!lex.isPunct(COMMA)) break;
        lex.next();
      }
      if (!lex.isPunct(RBRACE)) continue;
      lex.next();
      if (!lex.isName("from")) continue;
      lex.next();
      if (lex.type !== T_STR) continue;
      const spec = lex.str;
      lex.next();
      let set = out.get(spec);
      if (!set) out.set(spec, (set = new Set()));
      for (const name of names) set.add(name);
    }
  } catch {
    // outside the language: load() will say where
  }
  return out;
}
