import { readEventStream, readNdjson } from '@sluice/client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { fixture, type Runtime, type RuntimeServer, runtimes, startServer } from './harness.js'

/**
 * Silent streams on real runtimes: keepalive, and the response head of a stream with no body yet.
 *
 * Keepalive. Bun.serve closes a connection that has been silent for 10 s (its
 * default `idleTimeout`); server-kit's default keepalive (a comment line, or a blank NDJSON line,
 * every 5 s of silence) must keep a stream open whose source says nothing for 25 s. The control
 * case, keepAlive off under Bun, shows that the keepalive is what keeps it open.
 *
 * Every case waits ~25 s of real silence (the subject of the test, not a synchronisation), so they
 * all run at once: the file takes ~25 s, not 2 min.
 */

const SILENCE = 25_000

// All nine cases wait at once (Vitest's default is 5 concurrent tests); they are idle waits on
// sockets, not CPU work.
vi.setConfig({ maxConcurrency: 16 })

const servers = new Map<Runtime, RuntimeServer>()

beforeAll(async () => {
  const started = await Promise.all(runtimes.map((runtime) => startServer(runtime, fixture('fetch-server.ts'))))
  for (const server of started) servers.set(server.process.runtime, server)
}, 60_000)

afterAll(async () => {
  await Promise.all([...servers.values()].map((server) => server.process.close()))
})

function serverFor(runtime: Runtime): RuntimeServer {
  const server = servers.get(runtime)
  if (!server) throw new Error(`${runtime} server did not start`)
  return server
}

interface Outcome {
  /** The `alive` message's payload (the silence the source kept, in ms), if it arrived. */
  alive: number | undefined
  keepalives: number
  /** How the stream ended when it did not end normally: the fetch or read error. */
  error: string | undefined
}

/** Reads `/silent` as SSE, counting keepalive comments, until the stream ends or fails. */
async function readSilentSse(server: RuntimeServer, query: string): Promise<Outcome> {
  const outcome: Outcome = { alive: undefined, keepalives: 0, error: undefined }
  try {
    const response = await fetch(`${server.url}/silent?ms=${SILENCE}&${query}`)
    const messages = readEventStream(response, { onComment: () => (outcome.keepalives += 1) })
    for await (const message of messages) if (message.event === 'alive') outcome.alive = Number(message.data)
  } catch (error) {
    outcome.error = String(error)
  }
  return outcome
}

describe.concurrent('silent streams (all at once: each waits on real silence)', () => {
  it.each(runtimes)('%s: SSE silent for 25 s stays open with the default keepalive', async (runtime) => {
    const server = serverFor(runtime)
    const token = `sse-default-${runtime}`
    const outcome = await readSilentSse(server, `token=${token}`)
    expect(outcome.error).toBeUndefined()
    // The source kept its 25 s of silence, then its message still reached the client.
    expect(outcome.alive).toBeGreaterThanOrEqual(SILENCE)
    expect(outcome.keepalives).toBeGreaterThanOrEqual(1)
    const ended = await server.process.waitForType('finally', { token })
    expect(ended.aborted).toBe(false)
  })

  it.each(runtimes)(
    '%s: NDJSON silent for 25 s stays open with the default keepalive (blank lines)',
    async (runtime) => {
      const server = serverFor(runtime)
      const token = `ndjson-default-${runtime}`
      const response = await fetch(`${server.url}/silent?ms=${SILENCE}&token=${token}&format=ndjson`)
      const values: unknown[] = []
      for await (const value of readNdjson(response)) values.push(value)
      expect(values).toEqual([{ alive: expect.any(Number) }])
      expect((values[0] as { alive: number }).alive).toBeGreaterThanOrEqual(SILENCE)
      const ended = await server.process.waitForType('finally', { token })
      expect(ended.aborted).toBe(false)
    },
  )

  it('bun: with keepAlive off, Bun closes the silent stream at its idle timeout (the control case)', async () => {
    const server = serverFor('bun')
    const token = 'sse-off-bun'
    const outcome = await readSilentSse(server, `token=${token}&keepAlive=off`)
    // The connection was cut before the source spoke: the client saw an error, never `alive`, and
    // no comment but the opening one (server-kit's first bytes, which make Bun send the head).
    expect(outcome.alive).toBeUndefined()
    expect(outcome.keepalives).toBe(1)
    expect(outcome.error).toBeDefined()
    // Bun says why, and the source learned that its client was gone (its wait was aborted).
    expect(server.process.stderr).toMatch(/timed out a request after 10 seconds/)
    const ended = await server.process.waitForType('finally', { token })
    expect(ended.aborted).toBe(true)
  })

  // Bun sends the response head only with the first body chunk
  // (https://github.com/oven-sh/bun/pull/33660), so server-kit opens every SSE stream with a comment,
  // and every NDJSON stream whose keepalive is on with an empty line (readers skip it). These cases
  // guard that: SSE with keepalive OFF (the opening comment alone must open it) and NDJSON with its
  // default keepalive, both on a channel nobody publishes to, so the source itself never writes.
  const headerCases = runtimes.flatMap((runtime) => (['sse', 'ndjson'] as const).map((format) => ({ runtime, format })))
  for (const { runtime, format } of headerCases) {
    it(`${runtime}: ${format} status and headers are sent at once, before the source yields anything`, async () => {
      const server = serverFor(runtime)
      const channel = `headers-${format}-${runtime}`
      const keepAlive = format === 'sse' ? '&keepAlive=off' : ''
      const controller = new AbortController()
      const response = await fetch(`${server.url}/${format}?channel=${channel}&token=${channel}${keepAlive}`, {
        signal: controller.signal,
      })
      expect(response.status).toBe(200)
      const subscribed = await server.process.waitForType('subscribed', { token: channel })
      expect(subscribed.lastEventId).toBeNull()
      controller.abort()
      await server.process.waitFor((e) => e.type === 'finally' && e.token === channel && e.sent === 0)
    })
  }
})
