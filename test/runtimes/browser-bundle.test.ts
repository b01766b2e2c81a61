import { existsSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build, type Plugin, type Rollup } from 'vite'
import { describe, expect, it } from 'vitest'

/**
 * Proof that the isomorphic parts import nothing from Node: each entry is bundled for the browser
 * with Vite's production build (Rolldown), and a plugin that runs before every resolver records any
 * import of a `node:` module or of a bare Node builtin (`stream`, `buffer`, ...), static, dynamic
 * or `require`d, from the entry or from any dependency it pulls in (eventsource-parser,
 * partysocket). The built `dist/` files are bundled: that is what users get.
 */

const root = fileURLToPath(new URL('../../', import.meta.url))
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
async function bundleForBrowser(code: string): Promise<BrowserBundle> {
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
function reexport(files: readonly string[]): string {
  for (const file of files) {
    if (!existsSync(file)) throw new Error(`${file} is missing: build the packages first`)
  }
  return files.map((file) => `export * from ${JSON.stringify(file)}`).join('\n')
}

describe('browser bundles import no Node builtin', () => {
  it('the check catches a node: import and a bare builtin when there is one', async () => {
    const bundle = await bundleForBrowser(
      "import { Readable } from 'node:stream'\nimport { Buffer } from 'buffer'\nexport const x = [Readable, Buffer]",
    )
    expect(bundle.nodeImports.map((found) => found.specifier).sort()).toEqual(['buffer', 'node:stream'])
    expect(bundle.externalImports.sort()).toEqual(['buffer', 'node:stream'])
  })

  it('@sluice/client: dist/index.js and every dependency it pulls in', async () => {
    const entry = dist('client/dist/index.js')
    const bundle = await bundleForBrowser(reexport([entry]))
    // The bundle really holds the client and its dependencies, not an empty module.
    expect(bundle.modules).toContain(entry)
    expect(bundle.modules.some((id) => id.includes('/eventsource-parser/'))).toBe(true)
    expect(bundle.modules.some((id) => id.includes('/partysocket/'))).toBe(true)
    expect(bundle.code).toContain('createEventStream')
    expect(bundle.nodeImports).toEqual([])
    expect(bundle.externalImports).toEqual([])
  })

  it("@sluice/server-kit's Fetch path: fetch, format and channel modules (dist) and what they import", async () => {
    // The files that form the Fetch path; `fetch.js` pulls in the pump and the encoders, the
    // channel pulls in @sluice/client's errors. The Node adapters (node.js, node-handler.js) and the
    // WebSocket server (socket-server.js, on `ws`) are not part of it.
    const files = ['fetch.js', 'format.js', 'channel/index.js'].map((file) => dist(`server-kit/dist/${file}`))
    const bundle = await bundleForBrowser(reexport(files))
    for (const file of files) expect(bundle.modules).toContain(file)
    expect(bundle.modules).toContain(dist('server-kit/dist/pump.js'))
    expect(bundle.code).toContain('eventStreamResponse')
    expect(bundle.nodeImports).toEqual([])
    expect(bundle.externalImports).toEqual([])
  })

  it("@sluice/server-kit's main entry, when only the Fetch helpers are imported, tree-shakes to a bundle without Node imports", async () => {
    // What a user who imports the Fetch helpers from the package root gets from a bundler that
    // honours `sideEffects: false`. The Node adapters are still resolved on the way (so a runtime
    // that loads the root without bundling, e.g. a Worker without Node compatibility, needs a
    // separate Fetch entry); they must not survive tree-shaking.
    const bundle = await bundleForBrowser(
      "export { createChannel, eventStreamResponse, ndjsonResponse, formatEvent } from '@sluice/server-kit'",
    )
    expect(bundle.modules).toContain(dist('server-kit/dist/index.js'))
    expect(bundle.code).toContain('eventStreamResponse')
    expect(bundle.externalImports).toEqual([])
    expect(bundle.code).not.toMatch(/["']node:/)
  })
})
