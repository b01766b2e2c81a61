import { get, type IncomingMessage, type ServerResponse } from 'node:http'
import type { StreamContext, StreamEndReason } from '@sluice/server-kit'
import { eventStreamResponse, sendEventStream, toNodeHandler } from '@sluice/server-kit'
import { createTestServer } from '@sluice/server-kit/testing'
import { describe, expect, it } from 'vitest'
import { expectNoLeaks, liveResources, rawGet, waitFor } from './helpers.js'

/** mulberry32: a tiny seeded PRNG, so the "random" abort points are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const CLIENTS = 200

describe('disconnect', () => {
  // A bounded load test: 200 connections, at most 12 events each; the timeout only allows for a
  // loaded CI machine (it asserts no speed).
  it(`runs every source's finally when ${CLIENTS} clients abort at random points, and leaks nothing`, {
    timeout: 30_000,
  }, async () => {
    const baseline = liveResources()
    const next = random(0x5eed)
    let started = 0
    let finished = 0
    const reasons: StreamEndReason[] = []
    const settled: string[] = []

    // Three kinds of source, so clients leave while the pump waits on each kind of thing: a timer
    // the source awaits (released through ctx.signal), a fast producer parked on backpressure, and
    // a source waiting for an event that never comes.
    async function* source(kind: number, { signal }: StreamContext<unknown>) {
      started++
      try {
        for (let n = 0; ; n++) {
          if (kind === 0) {
            await new Promise<void>((resolve) => {
              const done = () => {
                clearTimeout(timer)
                signal.removeEventListener('abort', done)
                resolve()
              }
              const timer = setTimeout(done, 1)
              signal.addEventListener('abort', done)
            })
          } else if (kind === 2 && n > 0) {
            await new Promise((resolve) => signal.addEventListener('abort', resolve))
          }
          yield { id: String(n), data: kind === 1 ? 'z'.repeat(65_536) : `event ${n}` }
        }
      } finally {
        finished++
      }
    }
    let nodeStreams = 0
    const onClose = (reason: StreamEndReason) => reasons.push(reason)
    const onNodeClose = (reason: StreamEndReason) => {
      nodeStreams++
      onClose(reason)
    }
    const fetchHandler = toNodeHandler((request) =>
      eventStreamResponse(request, (ctx) => source(Number(new URL(request.url).searchParams.get('kind')), ctx), {
        onClose,
      }),
    )
    const server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname === '/fetch') return fetchHandler(req, res)
      return sendEventStream(req, res, (ctx) => source(Number(url.searchParams.get('kind')), ctx), {
        onClose: onNodeClose,
      }).then(
        () => settled.push('resolved'),
        () => settled.push('rejected'),
      )
    })

    const clients = Array.from({ length: CLIENTS }, (_, i) => {
      // Parking a fast producer fills the kernel's buffers (~4 MiB a connection): 40 of those are
      // enough; the rest wait on a timer (kind 0) or on nothing (kind 2).
      const kind = i % 10 < 2 ? 1 : i % 3 === 0 ? 2 : 0
      const path = `/${i % 2 ? 'fetch' : 'node'}?kind=${kind}`
      // -1: abort before the response arrives; otherwise after that many events (kind 2 sends one).
      const abortAfter = Math.floor(next() * (kind === 2 ? 3 : 12)) - 1
      return new Promise<void>((resolve) => {
        const req = get(`${server.url}${path}`, { agent: false }, (res) => {
          let events = 0
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            events += chunk.split('\n\n').length - 1
            if (events < abortAfter) return
            if (kind === 1) {
              // Stop reading first, so the fast producer is parked on backpressure when we leave
              // (and does not push megabytes through loopback meanwhile).
              res.pause()
              setImmediate(() => req.destroy())
            } else {
              req.destroy()
            }
          })
          if (abortAfter <= 0) req.destroy()
        })
        req.on('close', () => resolve())
        // The client aborting is the point of the test; its socket error is expected.
        req.on('error', () => undefined)
        if (abortAfter < 0) setImmediate(() => req.destroy())
      })
    })
    await Promise.all(clients)

    // Every source that started has run its finally within 1 s of the last client leaving.
    await waitFor('every source finally to run', () => finished === started, 1_000)
    expect(started).toBeGreaterThan(CLIENTS / 2)
    await waitFor('every stream to report its end', () => reasons.length === started)
    expect(new Set(reasons)).toEqual(new Set(['disconnect']))
    // The Node helpers' promise resolved (never rejected) for every stream a client left.
    await waitFor('every sendEventStream promise to settle', () => settled.length === nodeStreams)
    expect(nodeStreams).toBeGreaterThan(0)
    expect(settled.every((outcome) => outcome === 'resolved')).toBe(true)

    await server.close()
    await expectNoLeaks(baseline)
  })

  it('returns an iterable source even when the client left before the stream started', async () => {
    const returned: string[] = []
    const reasons: StreamEndReason[] = []
    const server = await createTestServer((req: IncomingMessage, res: ServerResponse) => {
      // Like a channel subscription: it holds resources from creation, before the first pull.
      const subscription: AsyncIterableIterator<{ data: string }> = {
        [Symbol.asyncIterator]() {
          return this
        },
        next: async () => ({ done: false, value: { data: 'never sent' } }),
        return: async () => {
          returned.push(req.url ?? '')
          return { done: true, value: undefined }
        },
      }
      res.destroy() // the client is already gone
      return sendEventStream(req, res, subscription, { onClose: (reason) => reasons.push(reason) })
    })
    try {
      await rawGet(`${server.url}/gone`).catch(() => undefined)
      await waitFor('the source to be returned', () => returned.length === 1)
      expect(returned).toEqual(['/gone'])
      await waitFor('the stream to end', () => reasons.length === 1)
      expect(reasons).toEqual(['disconnect'])
    } finally {
      await server.close()
    }
  })

  it('releases the socket even when the source ignores ctx.signal and never settles', async () => {
    const baseline = liveResources()
    const reasons: StreamEndReason[] = []
    let pending = 0
    const server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendEventStream(
        req,
        res,
        async function* () {
          yield { data: 'ready' }
          pending++
          // A badly behaved source: blocked on something that never happens, ignoring the signal.
          await new Promise(() => undefined)
        },
        { onClose: (reason) => reasons.push(reason) },
      ),
    )
    const client = await rawGet(`${server.url}/`)
    await client.waitForText('data: ready\n\n')
    await waitFor('the source to block', () => pending === 1)
    client.abort()
    await waitFor('the stream to end', () => reasons.length === 1, 1_000)
    expect(reasons).toEqual(['disconnect'])
    await server.close()
    await expectNoLeaks(baseline)
  })
})
