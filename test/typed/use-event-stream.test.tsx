// @vitest-environment jsdom
// useEventStream through a shared definition, and resuming an answer after a "reload" (unmount,
// then a new mount reading jsdom's real sessionStorage). Real node:http server on 127.0.0.1:0.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { defineEvents } from '@sluice/client'
import { useEventStream } from '@sluice/react'
import { createResumableStreams } from '@sluice/server-kit'
import { cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, expect, test } from 'vitest'
import { z } from 'zod'

const answer = defineEvents({
  token: z.string(),
  usage: z.object({ tokens: z.number().int() }),
})

const TOKENS = ['Once', ' upon', ' a', ' time', ',', ' a', ' stream', ' was', ' resumed', '.']

interface State {
  text: string
  usage: number | undefined
}

function Answer({ url }: { url: string }) {
  const { data, status, error } = useEventStream(`${url}/chat`, {
    method: 'POST',
    body: JSON.stringify({ prompt: 'story' }),
    events: answer,
    fetch: realmFetch,
    throttle: 0,
    resumable: { url: (id) => `${url}/chat/${id}`, storage: window.sessionStorage, key: 'story' },
    // Narrowed by event type: `message.data` is a string for tokens, `{ tokens }` for usage.
    reduce: (state: State, message) =>
      message.event === 'token'
        ? { ...state, text: state.text + message.data }
        : { ...state, usage: message.data.tokens },
    initialState: { text: '', usage: undefined },
  })
  return (
    <div>
      <p data-testid="text">{data.text}</p>
      <p data-testid="usage">{data.usage ?? '-'}</p>
      <p data-testid="status">{status}</p>
      <p data-testid="error">{error ? error.message : '-'}</p>
    </div>
  )
}

/**
 * A minimal Fetch-to-node:http bridge for this jsdom file only. server-kit's `toNodeHandler` checks
 * `chunk instanceof Uint8Array`, which fails when the test realm's `Uint8Array` is jsdom's (the
 * server-side cross-realm twin of what 79b7c9f fixed in the client's parsers; reported to the lead).
 * Bytes are written as they are; the client leaving cancels the body, which ends the source.
 */
function bridge(handler: (request: Request) => Response | Promise<Response>) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController()
    res.on('close', () => controller.abort())
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      signal: controller.signal,
      ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
    })
    const response = await handler(request)
    res.writeHead(response.status, Object.fromEntries(response.headers))
    if (response.body === null) return void res.end()
    const reader = response.body.getReader()
    controller.signal.addEventListener('abort', () => {
      // The client left: cancelling ends the server's source; a body that already ended has nothing to cancel.
      reader.cancel().catch((error: unknown) => error)
    })
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        res.write(value)
      }
    } catch (error) {
      // Cancelled because the client left: the response is gone, nothing to finish.
      if (!controller.signal.aborted) throw error
    }
    res.end()
  }
}

/**
 * Node's fetch yields Node-realm `Uint8Array` chunks, which the client's parser rejects under jsdom
 * (whose `Uint8Array` is another realm's); copied into this realm, as test/react/helpers.ts does.
 */
const realmFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init)
  if (response.body === null) return response
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => controller.enqueue(new Uint8Array(chunk)),
    }),
  )
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  cleanup()
  window.sessionStorage.clear()
  for (const close of closers.splice(0)) await close()
})

test('a typed, resumable answer survives an unmount mid-answer: the new mount resumes from sessionStorage', async () => {
  const streams = createResumableStreams({ events: answer })
  let permits = 0
  let wake: (() => void) | undefined
  const release = (count: number) => {
    permits += count
    wake?.()
  }
  let runs = 0
  const methods: string[] = []
  const http = createServer(
    bridge(async (request) => {
      methods.push(request.method)
      const { pathname } = new URL(request.url)
      if (request.method === 'POST') {
        await request.text() // the prompt
        return streams.start(request, async function* ({ signal }) {
          runs++
          for (const token of TOKENS) {
            while (permits === 0 && !signal.aborted) await new Promise<void>((resolve) => (wake = resolve))
            permits--
            yield { event: 'token', data: token }
          }
          yield { event: 'usage', data: { tokens: TOKENS.length } }
        })
      }
      return streams.resume(request, pathname.slice('/chat/'.length))
    }),
  )
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  closers.push(async () => {
    streams.close()
    wake?.()
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`

  const first = render(<Answer url={url} />)
  release(4)
  await waitFor(() => expect(screen.getByTestId('text').textContent).toBe('Once upon a time'))
  expect(window.sessionStorage.getItem('story')).toMatch(/"id":/)
  // The "reload": the component (and its connection) goes away; only sessionStorage is left.
  first.unmount()
  release(3)

  render(<Answer url={url} />)
  // The new mount starts from the stored position: it shows only what it receives from there on.
  await waitFor(() => expect(screen.getByTestId('text').textContent).toBe(', a stream'))
  release(TOKENS.length)
  await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('closed'))
  expect(screen.getByTestId('text').textContent).toBe(', a stream was resumed.')
  expect(screen.getByTestId('usage').textContent).toBe('10')
  expect(screen.getByTestId('error').textContent).toBe('-')
  expect(runs).toBe(1)
  expect(methods.filter((m) => m === 'POST')).toHaveLength(1)
  expect(methods.filter((m) => m === 'GET')).toHaveLength(1)
  expect(window.sessionStorage.getItem('story')).toBeNull()
})
