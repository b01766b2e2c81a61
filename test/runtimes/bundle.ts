import { existsSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build, type Plugin, type Rollup } from 'vite'

/**
 * Bundling for the browser, shared by the Node-builtin check and the Chromium test: Vite's
 * production build (Rolldown) in library mode, with a plugin that runs before every resolver and
 * records any import of a `node:` module or of a bare Node builtin (`stream`, `buffer`, ...),
 * static, dynamic or `require`d, from the entry or from any dependency it pulls in.
 */

const root = fileURLToPath(new URL('../../', import.meta.url))
/** Absolute path of a file under `packages/`. */
export const dist = (path: string) => fileURLToPath(new URL(`../../packages/${path}`, import.meta.url))
const builtins = new Set(builtinModules)

/** One import of a Node builtin met while bundling. */
export interface NodeImport {
  specifier: string
  importer: string | undefined
}

/** True for `node:*` and for the bare names of Node builtins (and their subpaths). */
export function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true
  // `fs/promises` and the like: the first path segment names the builtin.
  const head = specifier.split('/')[0] ?? specifier
  return builtins.has(specifier) || builtins.has(head)
}

/** The result of {@link bundleForBrowser}. */
export interface BrowserBundle {
  /** Every Node builtin import the bundler resolved (before tree-shaking), with its importer. */
  nodeImports: NodeImport[]
  /** Absolute paths of every module the bundler loaded (before tree-shaking). */
  modules: string[]
  /** The bundle itself, after tree-shaking. */
  code: string
  /** What the bundle still imports from outside (after tree-shaking). */
  externalImports: string[]
}

const ENTRY = '\0sluice-browser-entry'

/** Bundles `code` (an ES module, used as the entry) for the browser, as a library. */
export async function bundleForBrowser(code: string): Promise<BrowserBundle> {
  const nodeImports: NodeImport[] = []
  const modules: string[] = []
  const plugin: Plugin = {
    name: 'sluice-forbid-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      // Library mode hands the entry over as a path under `root`.
      if (source === 'entry' || source === `${root}entry`) return ENTRY
      if (isNodeBuiltin(source)) {
        nodeImports.push({ specifier: source, importer })
        // Keep bundling, so one run reports every offending import instead of the first.
        return { id: source, external: true }
      }
      return null
    },
    load(id) {
      if (id === ENTRY) return code
      modules.push(id)
      return null
    },
  }
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root,
    // Resolve package `exports` with the browser conditions, as a browser app's bundler would.
    resolve: { conditions: ['browser', 'import', 'module', 'default'] },
    plugins: [plugin],
    build: {
      write: false,
      minify: false,
      target: 'es2022',
      lib: { entry: 'entry', formats: ['es'], fileName: 'bundle' },
    },
  })
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[]
  const chunks = outputs.flatMap((output) => output.output).filter((item) => item.type === 'chunk')
  return {
    nodeImports,
    modules,
    code: chunks.map((chunk) => chunk.code).join('\n'),
    externalImports: chunks.flatMap((chunk) => [...chunk.imports, ...chunk.dynamicImports]),
  }
}

/** An entry that re-exports every export of each file, so tree-shaking cannot hide an import. */
export function reexport(files: readonly string[]): string {
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`${file} is missing: build the packages first`)
  }
  return files.map((file) => `export * from ${JSON.stringify(file)}`).join('\n')
}
