import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliveries, parseCases } from './client-cases.js'
import { fixture, type Runtime, RuntimeProcess, runtimes } from './harness.js'

/**
 * `readEventStream` and `readNdjson` from the built `@sluice/client`, run by Bun and by Deno against
 * this Node server: every case, read through the runtime's own `fetch` and re-chunked at 1, 2, 3 and
 * 7 bytes, must give exactly the outcome the specs require.
 */

let server: Server
const children = new Map<Runtime, RuntimeProcess>()

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    if (path === '/cases') {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify(parseCases.map(({ name, kind, options }) => ({ name, kind, options }))))
      return
    }
    const found = parseCases.find((c) => path === `/case/${c.name}`)
    if (!found) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, {
      'content-type': found.kind === 'sse' ? 'text/event-stream' : 'application/x-ndjson',
    })
    // Several writes, so the body goes out in more than one chunk when the runtime reads quickly.
    for (let offset = 0; offset < found.bytes.length; offset += 5) {
      response.write(found.bytes.subarray(offset, offset + 5))
    }
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // Both runtimes at once: each runs every case and exits.
  for (const runtime of runtimes) children.set(runtime, new RuntimeProcess(runtime, fixture('parse-checks.ts'), [url]))
  await Promise.all([...children.values()].map((child) => child.finished(45_000)))
}, 60_000)

afterAll(async () => {
  await Promise.all([...children.values()].map((child) => child.close()))
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
})

describe.each(runtimes)('@sluice/client parsers under %s', (runtime) => {
  it('runs the built package (dist/), not the sources', () => {
    const ready = children.get(runtime)?.events.find((event) => event.type === 'ready')
    expect(ready?.runtime).toMatch(new RegExp(`^${runtime} \\d+\\.\\d+\\.\\d+`))
    expect(String(ready?.resolved)).toMatch(/\/packages\/client\/dist\/index\.js$/)
  })

  it.each(parseCases.map((c) => [c.name, c] as const))('%s', (name, parseCase) => {
    const child = children.get(runtime)
    for (const delivery of deliveries) {
      const event = child?.events.find((e) => e.type === 'case' && e.name === name && e.delivery === delivery)
      expect(event, `${runtime} reported nothing for ${name} / ${delivery}`).toBeDefined()
      expect({ delivery, ...(event?.outcome as object) }).toEqual({ delivery, ...parseCase.expected })
    }
  })
})
