import { once } from 'node:events'
import { readEventStream, readNdjson } from '@sluice/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { type Playground, startPlayground } from './harness.js'

// The demo server on its own, without a browser: its edges (bad input, origins, static files)
// and a clean shutdown with streams and sockets open.

let playground: Playground

beforeAll(async () => {
  playground = await startPlayground()
})

afterAll(async () => {
  const code = await playground?.stop()
  if (code !== 0) throw new Error(`The demo server did not exit cleanly (code ${code}).\n${playground.stderr()}`)
})

/** Opens a WebSocket to the chat room; resolves once open, or with the refused status. */
function connectChat(
  base: string,
  origin = base,
): Promise<{ socket: WebSocket; messages: Inbox } | { status: number }> {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/api/chat`, { origin })
  // Listening before 'open': the server's first messages can arrive in the same chunk as the handshake.
  const messages = inbox(socket)
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, messages }))
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 })
      response.resume()
      socket.terminate()
    })
    socket.once('error', reject)
  })
}

/**
 * Collects every JSON message from the moment it is called (one listener, so two messages that
 * arrive in one chunk are both kept); `next(type)` resolves with the first unread one of `type`.
 */
interface Inbox {
  next(type: string): Promise<Record<string, unknown>>
}

function inbox(socket: WebSocket): Inbox {
  const received: Record<string, unknown>[] = []
  const waiters: (() => void)[] = []
  socket.on('message', (data: Buffer) => {
    received.push(JSON.parse(data.toString()) as Record<string, unknown>)
    for (const wake of waiters.splice(0)) wake()
  })
  return {
    async next(type) {
      for (;;) {
        const index = received.findIndex((message) => message.type === type)
        if (index !== -1) return received.splice(index, 1)[0]!
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    },
  }
}

describe('demo server', () => {
  it('serves the built app, with fingerprinted assets cached for good and HTML revalidated', async () => {
    const html = await fetch(`${playground.url}/`)
    expect(html.status).toBe(200)
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(html.headers.get('cache-control')).toBe('no-cache')
    const text = await html.text()
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(text)?.[1]
    expect(asset).toBeDefined()
    const script = await fetch(`${playground.url}${asset}`)
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(script.headers.get('cache-control')).toContain('immutable')
    await script.body?.cancel()
    // Unknown paths get the app (it routes with the hash), never a file outside dist/.
    for (const path of ['/nope', '/%2e%2e/package.json', '/..%2f..%2fpackage.json']) {
      const response = await fetch(`${playground.url}${path}`)
      const body = await response.text()
      expect(body).not.toContain('sluice-monorepo')
      expect([200, 403]).toContain(response.status)
    }
    expect((await fetch(`${playground.url}/%E0%A4%A`)).status).toBe(400)
  })

  it('answers unknown API routes with a JSON 404', async () => {
    const response = await fetch(`${playground.url}/api/nope`)
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: 'No route for GET /api/nope' })
  })

  it('token stream: a full answer ends with [DONE]; bad requests get 400 / 413 naming the problem', async () => {
    const response = await fetch(`${playground.url}/api/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'short' }),
    })
    const messages = []
    for await (const message of readEventStream(response)) messages.push(message)
    expect(messages.at(-1)).toEqual({ event: 'message', data: '[DONE]', id: '' })
    expect(messages.slice(0, -1).every((m) => m.event === 'token')).toBe(true)
    expect(
      messages
        .slice(0, 3)
        .map((m) => m.data)
        .join(''),
    ).toBe('Here is a ')
    expect((await playground.stats()).tokens[0]?.outcome).toBe('completed')

    const post = (body: string) =>
      fetch(`${playground.url}/api/tokens`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
    const notJson = await post('{oops')
    expect(notJson.status).toBe(400)
    expect(await notJson.text()).toMatch(/not JSON/)
    const badPrompt = await post(JSON.stringify({ prompt: 42 }))
    expect(badPrompt.status).toBe(400)
    expect(await badPrompt.text()).toMatch(/"prompt"/)
    const tooLarge = await post(JSON.stringify({ prompt: 'x'.repeat(20_000) }))
    expect(tooLarge.status).toBe(413)
    expect(await tooLarge.text()).toMatch(/16384 bytes/)
  })

  it('rows: exactly the rows asked for, resumable after a cursor; a bad count is a 400', async () => {
    const rows: { id: number }[] = []
    for await (const row of readNdjson<{ id: number }>(await fetch(`${playground.url}/api/rows?count=5`)))
      rows.push(row)
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5])
    const rest: { id: number }[] = []
    for await (const row of readNdjson<{ id: number }>(await fetch(`${playground.url}/api/rows?count=5&after=3`))) {
      rest.push(row)
    }
    expect(rest).toEqual(rows.slice(3))
    const bad = await fetch(`${playground.url}/api/rows?count=-1`)
    expect(bad.status).toBe(400)
    expect(await bad.text()).toMatch(/"count"/)
  })

  it('download: exact Content-Length and Content-Disposition; a bad size is a 400', async () => {
    const response = await fetch(`${playground.url}/api/download?size=1000`)
    expect(response.headers.get('content-length')).toBe('960')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="sluice-sensors-0MB.csv"')
    const text = await response.text()
    expect(text.length).toBe(960)
    expect(text.split('\n')[0]).toMatch(/^row,sensor,reading,checksum/)
    expect(text.split('\n')[14]).toMatch(/^0000000014,sensor-/)
    expect((await fetch(`${playground.url}/api/download?size=huge`)).status).toBe(400)
  })

  it('chat: refuses a foreign Origin with 403; a same-origin socket gets the history and presence', async () => {
    const foreign = await connectChat(playground.url, 'https://evil.example')
    expect(foreign).toEqual({ status: 403 })

    const joined = await connectChat(playground.url)
    if (!('socket' in joined)) throw new Error(`refused with ${joined.status}`)
    const { socket, messages } = joined
    await expect(messages.next('history')).resolves.toMatchObject({ messages: expect.any(Array) })
    await expect(messages.next('presence')).resolves.toMatchObject({ count: expect.any(Number) })
    socket.send(JSON.stringify({ type: 'say', from: 'test', text: '  hello  ', localId: 'l-1' }))
    await expect(messages.next('message')).resolves.toMatchObject({
      message: { from: 'test', text: 'hello', localId: 'l-1' },
    })
    socket.close()
    await once(socket, 'close')
  })
})

describe('demo server shutdown', () => {
  it('SIGTERM ends open streams and sockets and exits 0', async () => {
    const server = await startPlayground()
    try {
      const feed = await fetch(`${server.url}/api/feed`)
      const events = readEventStream(feed)
      await events.next()
      const joined = await connectChat(server.url)
      if (!('socket' in joined)) throw new Error(`refused with ${joined.status}`)
      const closed = once(joined.socket, 'close')
      const code = await server.stop()
      const [closeCode, reason] = (await closed) as [number, Buffer]
      expect({ code, closeCode, reason: reason.toString(), stderr: server.stderr() }).toMatchObject({
        code: 0,
        closeCode: 1001,
        stderr: '',
      })
      // The SSE stream ended (cleanly, or cut with the process): the iterator settles, never hangs.
      await events.return(undefined)
    } finally {
      await server.stop()
    }
  })
})
