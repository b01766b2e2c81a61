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

  it('@sluice/server-kit/fetch: the Fetch entry (dist/fetch-entry.js) and everything it reaches', async () => {
    // The entry Fetch runtimes import: responses, encoding, channels, resumable streams, typed
    // publishing. The Node adapters (node.js, node-handler.js) and the WebSocket server
    // (socket-server.js, on `ws`) must not be reachable from it, even before tree-shaking.
    const entry = dist('server-kit/dist/fetch-entry.js')
    const bundle = await bundleForBrowser(reexport([entry]))
    expect(bundle.modules).toContain(entry)
    for (const file of ['fetch.js', 'format.js', 'pump.js', 'channel/index.js']) {
      expect(bundle.modules).toContain(dist(`server-kit/dist/${file}`))
    }
    for (const file of ['node.js', 'node-handler.js', 'socket-server.js']) {
      expect(bundle.modules).not.toContain(dist(`server-kit/dist/${file}`))
    }
    expect(bundle.modules.some((id) => id.includes('/node_modules/ws/'))).toBe(false)
    expect(bundle.code).toContain('eventStreamResponse')
    expect(bundle.nodeImports).toEqual([])
    expect(bundle.externalImports).toEqual([])
  })

  it("@sluice/server-kit's main entry, when only the Fetch helpers are imported, tree-shakes to a bundle without Node imports", async () => {
    // What a user who imports the Fetch helpers from the package root gets from a bundler that
    // honours `sideEffects: false`. The Node adapters are still resolved on the way (a runtime that
    // loads the root without bundling, e.g. a Worker without Node compatibility, should import
    // `@sluice/server-kit/fetch`); they must not survive tree-shaking.
    const bundle = await bundleForBrowser(
      "export { createChannel, eventStreamResponse, ndjsonResponse, formatEvent } from '@sluice/server-kit'",
    )
    expect(bundle.modules).toContain(dist('server-kit/dist/index.js'))
    expect(bundle.code).toContain('eventStreamResponse')
    expect(bundle.externalImports).toEqual([])
    expect(bundle.code).not.toMatch(/["']node:/)
  })
})
