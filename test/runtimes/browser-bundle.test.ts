import { describe, expect, it } from 'vitest'
import { bundleForBrowser, dist, reexport } from './bundle.js'

/**
 * Proof that the isomorphic parts import nothing from Node: each entry is bundled for the browser
 * (see `bundle.ts`) and any import of a Node builtin, by the entry or by a dependency it pulls in
 * (eventsource-parser, partysocket), fails the test. The built `dist/` files are bundled: that is
 * what users get.
 */

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
