import { useEventStream, useNdjson, useSocket } from '@sluice/react'
import { act, screen, waitFor } from '@testing-library/react'
import { hydrateRoot, type Root } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { WebSocket } from 'ws'
import { type SocketServer, type StreamServer, startSocketServer, startStreamServer } from './helpers.js'

let sse: StreamServer
let ndjson: StreamServer
let ws: SocketServer

beforeEach(async () => {
  sse = await startStreamServer({ onStream: (s) => s.send('hello', { id: '1' }) })
  ndjson = await startStreamServer({ kind: 'ndjson', onStream: (s) => s.line({ id: 1 }) })
  ws = await startSocketServer()
})
afterEach(async () => {
  await Promise.all([sse.close(), ndjson.close(), ws.close()])
})

function Page({ urls }: { urls: { sse: string; ndjson: string; ws: string } }) {
  const a = useEventStream(urls.sse, { throttle: 0 })
  const b = useNdjson<{ id: number }>(urls.ndjson, { throttle: 0 })
  const c = useSocket<{ n: number }>(urls.ws, { WebSocket, throttle: 0 })
  return (
    <ul>
      <li data-testid="sse">{`${a.status}:${a.data ?? '-'}`}</li>
      <li data-testid="ndjson">{`${b.status}:${b.data.length}`}</li>
      <li data-testid="ws">{`${c.status}:${c.data?.n ?? '-'}`}</li>
    </ul>
  )
}

test('server HTML hydrates without a mismatch, then the connections open', async () => {
  const urls = { sse: `${sse.url}/events`, ndjson: `${ndjson.url}/items`, ws: ws.url }
  const html = renderToString(<Page urls={urls} />)
  expect(html).toContain('connecting:-')
  const container = document.createElement('div')
  container.innerHTML = html
  document.body.append(container)

  const errors = vi.spyOn(console, 'error')
  const recoverable: unknown[] = []
  let root: Root | undefined
  await act(async () => {
    root = hydrateRoot(container, <Page urls={urls} />, { onRecoverableError: (error) => recoverable.push(error) })
  })
  await waitFor(() => expect(screen.getByTestId('sse').textContent).toBe('open:hello'))
  await waitFor(() => expect(screen.getByTestId('ndjson').textContent).toBe('open:1'))
  await waitFor(() => expect(screen.getByTestId('ws').textContent).toBe('open:-'))
  expect(recoverable).toEqual([])
  expect(errors).not.toHaveBeenCalled()
  errors.mockRestore()

  act(() => root?.unmount())
  await waitFor(() => expect(sse.live.size + ndjson.live.size + ws.live.size).toBe(0))
  container.remove()
})
