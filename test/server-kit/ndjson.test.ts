import type { IncomingMessage, ServerResponse } from 'node:http'
import { readNdjson } from '@sluice/client'
import type { StreamEndReason } from '@sluice/server-kit'
import { ndjsonResponse, sendNdjson } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bodyText, rawGet, waitFor } from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
  vi.restoreAllMocks()
})

const silence = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('sendNdjson on node:http', () => {
  it('writes one JSON line per value with the NDJSON headers', async () => {
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendNdjson(req, res, [{ a: 1 }, 'two', [3], null, { text: 'line\nbreak' }], { keepAlive: false }),
    )
    const response = await rawGet(`${server.url}/`)
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
    expect(response.headers['cache-control']).toBe('no-cache, no-transform')
    expect(response.headers['x-accel-buffering']).toBe('no')
    expect(await response.ended).toBe('{"a":1}\n"two"\n[3]\nnull\n{"text":"line\\nbreak"}\n')
  })

  it("is read back by @sluice/client's readNdjson through the test client", async () => {
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendNdjson(req, res, async function* ({ lastEventId }) {
        for (let n = 1; n <= 100; n++) yield { n, cursor: lastEventId }
      }),
    )
    const values: Array<{ n: number; cursor?: string }> = []
    for await (const value of server.ndjson<{ n: number; cursor?: string }>('/?lastEventId=c9')) values.push(value)
    expect(values).toHaveLength(100)
    expect(values[99]).toEqual({ n: 100, cursor: 'c9' })
  })

  it('ends with the line onError returns when a value cannot be encoded', async () => {
    const errors: unknown[] = []
    const reasons: StreamEndReason[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendNdjson(req, res, [{ ok: 1 }, { big: 1n }, { never: true }], {
        onError: (error) => {
          errors.push(error)
          return { error: 'encoding failed' }
        },
        onClose: (reason) => reasons.push(reason),
      }),
    )
    const response = await rawGet(`${server.url}/`)
    // The leading empty line opens the body at once (keepalive is on); readers skip it.
    expect(await response.ended).toBe('\n{"ok":1}\n{"error":"encoding failed"}\n')
    expect(errors[0]).toBeInstanceOf(TypeError)
    expect(String(errors[0])).toMatch(/BigInt/)
    await waitFor('the stream to end', () => reasons.length === 1)
    expect(reasons).toEqual(['error'])
  })

  it('without onError, stops before a broken line and reports the TypeError', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendNdjson(req, res, [{ ok: 1 }, undefined, { never: true }]),
    )
    const response = await rawGet(`${server.url}/`)
    expect(await response.ended).toBe('\n{"ok":1}\n')
    expect(logged).toHaveBeenCalledWith('[sluice] stream source failed:', expect.any(TypeError))
  })
})

describe('ndjsonResponse', () => {
  it('sends empty-line keepalives that readNdjson skips', async () => {
    const response = ndjsonResponse(
      new Request('http://h/'),
      async function* () {
        yield { n: 1 }
        await silence(60) // the silence the keepalive fills
        yield { n: 2 }
      },
      { keepAlive: 10 },
    )
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
    const text = await bodyText(response.body)
    expect(text).toMatch(/^\n\{"n":1\}\n\n+\{"n":2\}\n$/)
    const values = []
    for await (const value of readNdjson(new Response(text))) values.push(value)
    expect(values).toEqual([{ n: 1 }, { n: 2 }])
  })

  it('sends no keepalive when keepAlive is false', async () => {
    const response = ndjsonResponse(
      new Request('http://h/'),
      async function* () {
        yield 1
        await silence(40)
        yield 2
      },
      { keepAlive: false },
    )
    expect(await bodyText(response.body)).toBe('1\n2\n')
  })

  it('ends a client-abandoned stream and its source', async () => {
    const client = new AbortController()
    let finallyRan = false
    const response = ndjsonResponse(new Request('http://h/', { signal: client.signal }), async function* ({ signal }) {
      try {
        yield 'first'
        await new Promise((resolve) => signal.addEventListener('abort', resolve))
      } finally {
        finallyRan = true
      }
    })
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('\n')
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('"first"\n')
    client.abort()
    await waitFor('the source finally to run', () => finallyRan, 1_000)
  })
})
