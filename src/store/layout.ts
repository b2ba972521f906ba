/**
 * Where the files of a saved archive live. Package layout (name `run1`): `run1/index.mjs`,
 * `run1/package.json`, `run1/index.d.mts` and `run1/index.d.ts`, arrays in `run1/_arrays/` (npy),
 * `run1/_arrays.npz` or `run1/_arrays.h5`. Module layout: `run1.mjs`, `run1.d.mts`,
 * `run1_arrays/`, `run1_arrays.npz` or `run1_arrays.h5`. The runtime (`_persist_runtime.v1.mjs`)
 * sits beside the entry module when the archive needs it.
 *
 * Why two declaration files in a package: TypeScript types an import of `./run1/index.mjs` by
 * path only from `index.d.mts` (the declaration extension that matches `.mjs`), while consumers
 * using the old `node10` resolution, and readers of API.md's layout, expect `index.d.ts`. Both
 * hold the same text; package.json's `exports` points at `index.d.mts`, its `types` at `index.d.ts`.
 */
import { join } from "node:path";
import { RUNTIME_SPECIFIER } from "../emit/imports.js";
import { InvalidNameError } from "../errors.js";

/**
 * Format of an archive's external array files: `"npy"` (a folder of `.npy` files, the default),
 * `"npz"` (one zip of them) or `"hdf5"` (one `.h5` file, read by h5py; importing needs h5wasm).
 */
export type DataFormat = "npy" | "npz" | "hdf5";

export const DATA_FORMATS: readonly DataFormat[] = ["npy", "npz", "hdf5"];

const EXTENSION: Record<DataFormat, string> = { npy: "", npz: ".npz", hdf5: ".h5" };

/** File name of the runtime beside an archive's entry module. */
export const RUNTIME_FILE = RUNTIME_SPECIFIER.slice(2);

export interface Layout {
  /** Directory the entry module is in. */
  home: string;
  /** Name (relative to `home`) of the entry module. */
  entry: string;
  /** Names (relative to `home`) of the declaration files, all with the same text. */
  declarations: readonly string[];
  /** Base name of the data files; plus EXTENSION of the format. */
  arraysBase: string;
  /** For the package layout: the package directory (replaced as a whole on save). */
  packageDir: string | undefined;
}

const FILE_NAME = /^[A-Za-z0-9_$][A-Za-z0-9_$.-]*$/;

export function checkSaveName(name: unknown): asserts name is string {
  if (
    typeof name !== "string" ||
    !FILE_NAME.test(name) ||
    name.includes("..") ||
    name.length > 200
  ) {
    throw new InvalidNameError(
      `save(): ${JSON.stringify(name)} cannot name an archive; use letters, digits, "_", "-" and "." (not starting with "." and without "/" or "..")`,
    );
  }
}

export function layoutFor(dir: string, name: string, asPackage: boolean): Layout {
  if (asPackage) {
    const home = join(dir, name);
    return {
      home,
      entry: "index.mjs",
      declarations: ["index.d.mts", "index.d.ts"],
      arraysBase: "_arrays",
      packageDir: home,
    };
  }
  return {
    home: dir,
    entry: `${name}.mjs`,
    declarations: [`${name}.d.mts`],
    arraysBase: `${name}_arrays`,
    packageDir: undefined,
  };
}

/** Name of the data file or folder for `format`, relative to the layout's home. */
export function arraysName(layout: Layout, format: DataFormat): string {
  return layout.arraysBase + EXTENSION[format];
}

/** Every file or folder name (relative to home) a module-layout archive may own, any format. */
export function moduleLayoutNames(layout: Layout): string[] {
  return [layout.entry, ...layout.declarations, ...DATA_FORMATS.map((f) => arraysName(layout, f))];
}

/** Every name Archive.save may write into a package directory (anything else is the user's). */
export const PACKAGE_FILES: readonly string[] = [
  "index.mjs",
  "index.d.mts",
  "index.d.ts",
  "package.json",
  RUNTIME_FILE,
  ...DATA_FORMATS.map((f) => `_arrays${EXTENSION[f]}`),
];

/**
 * The `package.json` of a package-layout archive named `name`: an ES module package whose
 * `exports` give the entry and its declarations (`index.d.mts`, which TypeScript pairs with
 * `index.mjs` under node16/nodenext/bundler), and `types` for the old `node10` resolution.
 */
export function packageJson(name: string): string {
  const pkg = {
    name,
    private: true,
    type: "module",
    description: "Archive written by persist-archive. Import it, or load() it safely.",
    exports: { ".": { types: "./index.d.mts", import: "./index.mjs" } },
    main: "./index.mjs",
    types: "./index.d.ts",
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}
