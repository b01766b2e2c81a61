import { existsSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'vite'
import { describe, expect, it } from 'vitest'

/**
 * Proof that the isomorphic parts import nothing from Node: each entry point is bundled for the
 * browser with Vite's production build (Rolldown), and a plugin that runs before every resolver
 * records any import of a `node:` module or of a bare Node builtin (`stream`, `buffer`, ...),
 * static, dynamic or `require`d, from the entry or from any dependency it pulls in (eventsource-parser,
 * partysocket). The built `dist/` files are what is bundled: that is what users get.
 */

const dist = (path: string) => fileURLToPath(new URL(`../../packages/${path}`, import.meta.url))

const builtins = new Set(builtinModules)

interface NodeImport {
  specifier: string
  importer: string | undefined
}

function isNodeBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true
  // `fs/promises` and the like: the first path segment names the builtin.
  const head = specifier.split('/')[0] ?? specifier
  return builtins.has(specifier) || builtins.has(head)
}

interface BrowserBundle {
  /** Every Node builtin import the bundler saw, with the module that made it. */
  nodeImports: NodeImport[]
  /** Absolute paths of every module the bundler loaded (before tree-shaking). */
  modules: string[]
}

/** Bundles `code` (an ES module, used as the entry) for the browser. */
async function bundleForBrowser(code: string): Promise<BrowserBundle> {
  const found: NodeImport[] = []
  const loaded: string[] = []
  const entryId = '\0runtimes-browser-entry'
  const plugin: Plugin = {
    name: 'sluice-forbid-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (source === 'entry') return entryId
      if (isNodeBuiltin(source)) {
        found.push({ specifier: source, importer })
        // Keep bundling, so one run reports every offending import instead of the first.
        return { id: source, external: true }
      }
      return null
    },
    load(id) {
      if (id === entryId) return code
      loaded.push(id)
      return null
    },
  }
  await build({
    configFile: false,
    logLevel: 'silent',
    root: fileURLToPath(new URL('../../', import.meta.url)),
    // Resolve package `exports` with the browser conditions, as a browser app's bundler would.
    resolve: { conditions: ['browser', 'import', 'module', 'default'] },
    plugins: [plugin],
    build: {
      write: false,
      ssr: false,
      minify: false,
      target: 'es2022',
      rollupOptions: { input: 'entry' },
    },
  })
  return { nodeImports: found, modules: loaded }
}

/** An entry that re-exports every export of each file, so tree-shaking cannot hide an import. */
function reexport(files: readonly string[]): string {
  return files.map((file) => `export * from ${JSON.stringify(file)}`).join('\n')
}

describe('browser bundles import no Node builtin', () => {
  it('catches a node: import and a bare builtin when there is one (the check itself works)', async () => {
    const bundle = await bundleForBrowser(
      "import { Readable } from 'node:stream'\nimport { Buffer } from 'buffer'\nexport const x = [Readable, Buffer]",
    )
    expect(bundle.nodeImports.map((f) => f.specifier).sort()).toEqual(['buffer', 'node:stream'])
  })

  it('@sluice/client (dist/index.js and its dependencies)', async () => {
    const entry = dist('client/dist/index.js')
    expect(existsSync(entry), `${entry} is missing: build the packages first`).toBe(true)
    const bundle = await bundleForBrowser(reexport([entry]))
    expect(bundle.modules).toContain(entry)
    expect(bundle.nodeImports).toEqual([])
  })
})
