import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixture, type Runtime, RuntimeProcess, runtimes } from './harness.js'

/**
 * `createEventStream` from the built `@sluice/client`, run by Bun and by Deno against this Node
 * server, which ends the response after every 3 events (ids 1..9) and then sends `data: [DONE]`.
 */

const EVENTS = 9
const PER_RESPONSE = 3
let server: Server
/** The `Last-Event-ID` of every request, per runtime (`null`: header absent). */
const lastEventIds = new Map<string, (string | null)[]>()
const children = new Map<Runtime, RuntimeProcess>()

beforeAll(async () => {
  server = createServer((request, response) => {
    const runtime = new URL(request.url ?? '/', 'http://127.0.0.1').pathname.split('/')[2] ?? ''
    const header = request.headers['last-event-id']
    const sent = lastEventIds.get(runtime) ?? []
    sent.push(typeof header === 'string' ? header : null)
    lastEventIds.set(runtime, sent)
    // Bounded: a client that reconnects in a loop fails the test instead of spinning.
    if (sent.length > 10 || request.headers.accept !== 'text/event-stream') {
      response.writeHead(400).end()
      return
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    const from = Number(header ?? 0)
    if (from >= EVENTS) {
      response.end('data: [DONE]\n\n')
      return
    }
    for (let id = from + 1; id <= Math.min(from + PER_RESPONSE, EVENTS); id += 1) {
      response.write(`id: ${id}\nevent: tick\ndata: ${id}\n\n`)
    }
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  for (const runtime of runtimes) {
    children.set(
      runtime,
      new RuntimeProcess(runtime, fixture('event-stream-checks.ts'), [`${base}/drop-sse/${runtime}`]),
    )
  }
  // Each script exits by itself once its connection closed: a leaked timer or socket would keep
  // the runtime alive and fail this bounded wait.
  await Promise.all([...children.values()].map((child) => child.finished(45_000)))
}, 60_000)

afterAll(async () => {
  await Promise.all([...children.values()].map((child) => child.close()))
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
})

describe.each(runtimes)('createEventStream under %s', (runtime) => {
  it('runs the built package (dist/)', () => {
    const ready = children.get(runtime)?.events.find((event) => event.type === 'ready')
    expect(String(ready?.resolved)).toMatch(/\/packages\/client\/dist\/index\.js$/)
  })

  it('resumes after each server drop with Last-Event-ID: every event once, in order, then closes on done', () => {
    const result = children.get(runtime)?.events.find((event) => event.type === 'event-stream')
    expect(result).toBeDefined()
    const ids = Array.from({ length: EVENTS }, (_, i) => String(i + 1))
    expect(result?.messages).toEqual(ids.map((id) => ({ event: 'tick', data: id, id })))
    expect(lastEventIds.get(runtime)).toEqual([null, '3', '6', '9'])
    expect(result?.status).toBe('closed')
    expect(result?.error).toBeNull()
    expect(result?.lastEventId).toBe('9')
    // Went through the state machine: open, reconnecting after each drop, closed on done.
    const statuses = result?.statuses as string[]
    expect(statuses[0]).toBe('connecting')
    expect(statuses.at(-1)).toBe('closed')
    expect(statuses.filter((status) => status === 'open').length).toBe(4)
  })
})
