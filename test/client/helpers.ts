import { createHook } from 'node:async_hooks'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Connection, ConnectionSnapshot, ConnectionStatus } from '@sluice/client'
import { WebSocketServer } from 'ws'

/** Bound on every wait in these tests: a wait that is not satisfied fails with a clear message. */
const WAIT_LIMIT_MS = 8_000

type AnyConnection = Connection<unknown, unknown>

/** Resolves with the first snapshot (current or future) that satisfies `predicate`. */
export function waitForSnapshot<T>(
  connection: Connection<unknown, T>,
  predicate: (snapshot: ConnectionSnapshot<T>) => boolean,
  what = 'the expected snapshot',
): Promise<ConnectionSnapshot<T>> {
  const now = connection.getSnapshot()
  if (predicate(now)) return Promise.resolve(now)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe()
      reject(new Error(`Timed out waiting for ${what}; last snapshot: ${describe(connection.getSnapshot())}`))
    }, WAIT_LIMIT_MS)
    const unsubscribe = connection.subscribe(() => {
      const snapshot = connection.getSnapshot()
      if (predicate(snapshot)) {
        clearTimeout(timer)
        unsubscribe()
        resolve(snapshot)
      } else if (snapshot.status === 'closed') {
        clearTimeout(timer)
        unsubscribe()
        reject(new Error(`Connection closed while waiting for ${what}: ${describe(snapshot)}`))
      }
    })
  })
}

/** Resolves when the connection reaches `status` (rejects if it closes first, unless waiting for closed). */
export function waitForStatus<T>(connection: Connection<unknown, T>, status: ConnectionStatus) {
  return waitForSnapshot(connection, (s) => s.status === status, `status "${status}"`)
}

function describe(snapshot: ConnectionSnapshot<unknown>): string {
  const { status, attempt, lastEventId, error } = snapshot
  return JSON.stringify({ status, attempt, lastEventId, error: error ? `${error.name}: ${error.message}` : undefined })
}

/** The next message delivered by the connection (through `listen`, so none is coalesced). */
export function nextMessage<M>(connection: Connection<M, unknown>): Promise<M> {
  return nextMessages(connection, 1).then((messages) => messages[0] as M)
}

/** The next `count` messages delivered by the connection, in order. */
export function nextMessages<M>(connection: Connection<M, unknown>, count: number): Promise<M[]> {
  return new Promise((resolve, reject) => {
    const received: M[] = []
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`Timed out after ${received.length} of ${count} messages`))
    }, WAIT_LIMIT_MS)
    const unlisten = connection.listen((message) => {
      received.push(message)
      if (received.length === count) {
        stop()
        resolve(received)
      }
    })
    const unsubscribe = connection.subscribe(() => {
      if (connection.getSnapshot().status === 'closed') {
        stop()
        reject(new Error(`Connection closed after ${received.length} of ${count} messages`))
      }
    })
    function stop() {
      clearTimeout(timer)
      unlisten()
      unsubscribe()
    }
  })
}

/** Every status the connection goes through from now on (for asserting transitions). */
export function recordStatuses(connection: AnyConnection): ConnectionStatus[] {
  const statuses: ConnectionStatus[] = [connection.getSnapshot().status]
  connection.subscribe(() => {
    const { status } = connection.getSnapshot()
    if (statuses[statuses.length - 1] !== status) statuses.push(status)
  })
  return statuses
}

/** A deferred value, resolved from a server handler and awaited by the test. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Resolves with the `n`-th value pushed, waiting for it if needed (bounded). */
export class Inbox<T> {
  readonly items: T[] = []
  #waiters: Array<{ count: number; resolve: () => void }> = []

  push(item: T): void {
    this.items.push(item)
    this.#waiters = this.#waiters.filter((w) => {
      if (this.items.length < w.count) return true
      w.resolve()
      return false
    })
  }

  /** Waits until at least `count` items arrived. */
  async waitFor(count: number): Promise<T[]> {
    if (this.items.length < count) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push({ count, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Timed out waiting for ${count} items, got ${this.items.length}`)),
            WAIT_LIMIT_MS,
          )
        }),
      ]).finally(() => clearTimeout(timer))
    }
    return this.items
  }
}

export interface TestHttpServer {
  server: Server
  url: string
  close(): Promise<void>
}

/** A real node:http server on 127.0.0.1, port 0. `close()` also ends open keep-alive / stream sockets. */
export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestHttpServer> {
  const server = createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (!server.listening) return
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
    },
  }
}

/** What a recording server saw of one request, once its body had arrived. */
export interface RecordedRequest {
  url: string
  method: string
  headers: IncomingMessage['headers']
  body: string
  /** `Last-Event-ID` decoded as the UTF-8 bytes the client sent (Node exposes them as Latin-1). */
  rawLastEventId: string | undefined
  /** When the body had arrived (performance.now()). */
  at: number
}

/**
 * A real node:http server that records every request (after its body) and then calls `handler`
 * with the 1-based request number.
 */
export async function startRecordingServer(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<TestHttpServer & { requests: Inbox<RecordedRequest> }> {
  const requests = new Inbox<RecordedRequest>()
  const s = await startHttpServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      const raw = req.headers['last-event-id']
      requests.push({
        url: req.url ?? '',
        method: req.method ?? '',
        headers: req.headers,
        body,
        rawLastEventId: typeof raw === 'string' ? Buffer.from(raw, 'latin1').toString('utf8') : undefined,
        at: performance.now(),
      })
      handler(req, res, requests.items.length)
    })
  })
  return { ...s, requests }
}

export interface TestWsServer {
  wss: WebSocketServer
  url: string
  close(): Promise<void>
}

/** A real `ws` server on 127.0.0.1, port 0. `close()` terminates the remaining clients. */
export async function startWsServer(setup: (wss: WebSocketServer) => void): Promise<TestWsServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  setup(wss)
  await once(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  return {
    wss,
    url: `ws://127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())))
    },
  }
}

/** Counts of `process.getActiveResourcesInfo()` by kind (timers, sockets, servers, ...). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  return counts
}

// async_hooks resource types that a connection may create and must release.
const TRACKED = new Set(['Timeout', 'TCPWRAP', 'TCPCONNECTWRAP', 'TCPSERVERWRAP', 'Immediate'])

/**
 * Proves that a test leaves nothing behind, two ways:
 * - `process.getActiveResourcesInfo()` must come back to the baseline taken when watching started,
 *   for every kind but `Timeout` (sockets, servers, connect requests...);
 * - timers: the worker's own RPC with the Vitest main process keeps short-lived `Timeout`s that
 *   come and go (a console.log creates one), so a count comparison could hide a leaked timer behind
 *   one of them. Timers are therefore tracked one by one with `async_hooks`: every timer created
 *   while watching must have fired or been cleared.
 */
export class ResourceWatch {
  readonly #baseline = activeResources()
  readonly #live = new Map<number, { type: string; stack: string }>()
  readonly #hook = createHook({
    init: (asyncId, type) => {
      if (!TRACKED.has(type)) return
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = 40
      // The code that created the resource: the frames below the hook and the timers module.
      const frames = (new Error().stack ?? '')
        .split('\n')
        .slice(1)
        .map((f) => f.trim())
        .filter((f) => !/helpers\.ts|node:internal\/async_hooks|node:internal\/timers|node:timers/.test(f))
      Error.stackTraceLimit = limit
      this.#live.set(asyncId, { type, stack: frames.slice(0, 3).join(' <- ') })
    },
    destroy: (asyncId) => {
      this.#live.delete(asyncId)
    },
  }).enable()

  #leftovers(): string[] {
    const extra: string[] = []
    for (const [kind, count] of activeResources()) {
      const before = this.#baseline.get(kind) ?? 0
      if (kind !== 'Timeout' && count > before) extra.push(`${kind} x${count - before}`)
    }
    for (const { type, stack } of this.#live.values()) {
      // Timers set by the client, partysocket, ws and the test servers are checked one by one; Node's
      // own (http keep-alive, undici's 1 s timer wheel) and Vitest's (hook timeouts, RPC) are released
      // by their owners on their own schedule; the sockets behind them are checked above.
      const creator = stack.split(' <- ')[0] ?? ''
      if (
        type === 'Timeout' &&
        !/^at (.*\()?(node:|.*node_modules[\\/](vitest|@vitest|tinypool|birpc)[\\/])/.test(creator)
      ) {
        extra.push(`${type} created at ${stack}`)
      }
    }
    return extra
  }

  /**
   * Waits (bounded, polling the state on `setImmediate` so the poll creates no timer itself) until
   * nothing beyond the baseline is active; rejects naming what is left. Stops watching.
   */
  async expectReleased(limitMs = 3_000): Promise<void> {
    const deadline = Date.now() + limitMs
    try {
      for (;;) {
        const extra = this.#leftovers()
        if (extra.length === 0) return
        if (Date.now() > deadline) throw new Error(`Resources left behind:\n  ${extra.join('\n  ')}`)
        await new Promise((resolve) => setImmediate(resolve))
      }
    } finally {
      this.#hook.disable()
    }
  }
}
