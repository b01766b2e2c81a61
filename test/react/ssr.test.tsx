// @vitest-environment node
// No DOM here: `window`, `document`, `requestAnimationFrame` do not exist, as on a real server.

import { useEventStream, useNdjson, useSocket } from '@sluice/react'
import { renderToString } from 'react-dom/server'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { type SocketServer, type StreamServer, startSocketServer, startStreamServer } from './helpers.js'

let sse: StreamServer
let ndjson: StreamServer
let ws: SocketServer

beforeAll(async () => {
  sse = await startStreamServer()
  ndjson = await startStreamServer({ kind: 'ndjson' })
  ws = await startSocketServer()
})
afterAll(async () => {
  await Promise.all([sse.close(), ndjson.close(), ws.close()])
})

function Page({ urls }: { urls: { sse: string | null; ndjson: string | null; ws: string | null } }) {
  const a = useEventStream(urls.sse, { headers: { 'x-a': '1' }, reduce: (n: number) => n + 1, initialState: 0 })
  const b = useNdjson<{ id: number }>(urls.ndjson)
  const c = useSocket<{ n: number }>(urls.ws, { key: 'ssr-socket' })
  return (
    <ul>
      <li>{`sse:${a.status}:${a.data}:${a.attempt}:${a.lastEventId}`}</li>
      <li>{`ndjson:${b.status}:${b.data.length}`}</li>
      <li>{`ws:${c.status}:${String(c.data)}`}</li>
    </ul>
  )
}

describe('server rendering', () => {
  test('runs without any browser global', () => {
    expect(typeof window).toBe('undefined')
    expect(typeof document).toBe('undefined')
    expect(typeof requestAnimationFrame).toBe('undefined')
  })

  test('renderToString renders the initial state, opens nothing and logs nothing', async () => {
    const errors = vi.spyOn(console, 'error')
    const warnings = vi.spyOn(console, 'warn')
    const html = renderToString(<Page urls={{ sse: `${sse.url}/a`, ndjson: `${ndjson.url}/b`, ws: ws.url }} />)
    expect(html).toContain('sse:connecting:0:0:')
    expect(html).toContain('ndjson:connecting:0')
    expect(html).toContain('ws:connecting:undefined')

    const idle = renderToString(<Page urls={{ sse: null, ndjson: null, ws: null }} />)
    expect(idle).toContain('sse:idle:0:0:')
    expect(idle).toContain('ndjson:idle:0')
    expect(idle).toContain('ws:idle:undefined')

    // A short wait only to show that nothing happens: no request, no socket.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(sse.accepted.length).toBe(0)
    expect(ndjson.accepted.length).toBe(0)
    expect(ws.opened).toBe(0)
    expect(errors).not.toHaveBeenCalled()
    expect(warnings).not.toHaveBeenCalled()
    errors.mockRestore()
    warnings.mockRestore()
  })
})
