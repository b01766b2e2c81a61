import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { vi } from 'vitest'
import { type WebSocket, WebSocketServer } from 'ws'

/** What a test server saw, in order: `open /path` and `close /path` lines. */
export type ServerLog = string[]

/** One accepted HTTP stream, from the server's side. */
export interface StreamRequest {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly url: string
  readonly headers: IncomingMessage['headers']
  /** Writes one SSE message (`data` lines from `data`, split on line breaks). */
  send(data: string, fields?: { event?: string; id?: string }): void
  /** Writes one NDJSON line. */
  line(value: unknown): void
  /** Resolves when the client has gone (or the server dropped it). */
  readonly closed: Promise<void>
}

/** A real `node:http` server on 127.0.0.1:0 that streams SSE or NDJSON as each test tells it. */
export interface StreamServer {
  readonly url: string
  readonly log: ServerLog
  /** Streams currently open. */
  readonly live: ReadonlySet<StreamRequest>
  /** Every stream ever accepted, in order. */
  readonly accepted: readonly StreamRequest[]
  /** Resolves with the `n`-th (1-based) accepted stream. */
  nth(n: number): Promise<StreamRequest>
  /** Destroys every open socket (a crash, a proxy timeout): clients see a network error. */
  drop(): void
  /** Stops listening and drops everything: new attempts are refused until `restart()`. */
  stop(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
  close(): Promise<void>
}

export interface StreamServerOptions {
  /** `'sse'` (default) or `'ndjson'`: the content type and framing. */
  readonly kind?: 'sse' | 'ndjson'
  /** Called for each accepted stream, after the status and headers were sent. */
  readonly onStream?: (stream: StreamRequest) => void
  /** Answer a request differently (e.g. with an error status); return `true` when handled. */
  readonly intercept?: (req: IncomingMessage, res: ServerResponse) => boolean
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** Starts a {@link StreamServer}. */
export async function startStreamServer(options: StreamServerOptions = {}): Promise<StreamServer> {
  const kind = options.kind ?? 'sse'
  const log: ServerLog = []
  const live = new Set<StreamRequest>()
  const accepted: StreamRequest[] = []
  const sockets = new Set<Socket>()
  const waiters: Array<() => void> = []

  const server = createServer((req, res) => {
    if (options.intercept?.(req, res)) return
    const url = req.url ?? '/'
    res.writeHead(200, {
      'content-type': kind === 'sse' ? 'text/event-stream' : 'application/x-ndjson',
      'cache-control': 'no-cache',
    })
    res.flushHeaders()
    let markClosed: () => void = () => undefined
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve
    })
    const stream: StreamRequest = {
      req,
      res,
      url,
      headers: req.headers,
      send(data, fields = {}) {
        let text = ''
        if (fields.event !== undefined) text += `event: ${fields.event}\n`
        if (fields.id !== undefined) text += `id: ${fields.id}\n`
        for (const line of data.split('\n')) text += `data: ${line}\n`
        res.write(`${text}\n`)
      },
      line(value) {
        res.write(`${JSON.stringify(value)}\n`)
      },
      closed,
    }
    live.add(stream)
    accepted.push(stream)
    log.push(`open ${url}`)
    res.on('close', () => {
      live.delete(stream)
      log.push(`close ${url}`)
      markClosed()
    })
    for (const wake of waiters.splice(0)) wake()
    options.onStream?.(stream)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const port = await listen(server)

  const drop = () => {
    for (const socket of sockets) socket.destroy()
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      drop()
    })
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    live,
    accepted,
    async nth(n) {
      while (accepted.length < n) {
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
      return accepted[n - 1] as StreamRequest
    },
    drop,
    stop,
    restart: async () => {
      await listen(server, port)
    },
    close: () => (server.listening ? stop() : Promise.resolve()),
  }
}

/** A real `ws` server on 127.0.0.1:0 that logs and counts connections; echoes unless told otherwise. */
export interface SocketServer {
  readonly url: string
  readonly log: ServerLog
  readonly live: ReadonlySet<WebSocket>
  /** Total connections ever accepted. */
  opened: number
  /** Messages received (parsed JSON), in order. */
  readonly received: unknown[]
  broadcast(value: unknown): void
  close(): Promise<void>
}

export async function startSocketServer(
  options: { echo?: boolean; onMessage?: (socket: WebSocket, value: unknown) => void } = {},
): Promise<SocketServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const live = new Set<WebSocket>()
  const state: SocketServer = {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    log: [],
    live,
    opened: 0,
    received: [],
    broadcast(value) {
      for (const socket of live) socket.send(JSON.stringify(value))
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of live) socket.terminate()
        wss.close(() => resolve())
      }),
  }
  wss.on('connection', (socket, req) => {
    const path = req.url ?? '/'
    state.opened++
    live.add(socket)
    state.log.push(`open ${path}`)
    socket.on('close', () => {
      live.delete(socket)
      state.log.push(`close ${path}`)
    })
    socket.on('message', (raw) => {
      const value: unknown = JSON.parse(String(raw))
      state.received.push(value)
      if (options.onMessage) options.onMessage(socket, value)
      else if (options.echo !== false) socket.send(JSON.stringify(value))
    })
  })
  return state
}

/** Resources that are not ours to check (stdio and the test runner's channel to its parent). */
const AMBIENT = new Set(['TTYWrap', 'PipeWrap', 'ProcessWrap', 'SignalWrap', 'FSReqCallback'])

/** Counts of active handles and requests by type, minus the ambient ones. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) {
    if (!AMBIENT.has(type)) counts[type] = (counts[type] ?? 0) + 1
  }
  return counts
}

function leaks(baseline: Record<string, number>): string[] {
  const now = activeResources()
  const found: string[] = []
  for (const type of new Set([...Object.keys(now), ...Object.keys(baseline)])) {
    if ((now[type] ?? 0) > (baseline[type] ?? 0)) found.push(`${type}: ${now[type]} now, ${baseline[type] ?? 0} before`)
  }
  return found
}

/**
 * Waits (at most `timeout` ms) until the active resources are back to `baseline`: sockets close a
 * few ticks after `close()`. Polls with its own one-shot timer, which is never pending while it
 * counts (testing-library's `waitFor` keeps an interval alive during its check, so it cannot).
 */
export async function expectResourcesBackTo(baseline: Record<string, number>, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    const found = leaks(baseline)
    if (found.length === 0) return
    if (Date.now() > deadline) throw new Error(`resources still active: ${found.join('; ')}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

// Node's fetch (undici) keeps its own keep-alive timers for pooled sockets; only timers set by
// Sluice's code (the hooks and the client) are ours to account for.
const fromPackages = () => /[\\/]packages[\\/](react|client)[\\/]src[\\/]/.test(new Error().stack ?? '')

/**
 * Tracks every `setTimeout` / `setInterval` that Sluice's code creates from now on until it fires
 * (one-shot) or is cleared. Node's resource list only counts timers by type, and Vitest's and
 * undici's own timers come and go, so a count cannot show that one particular timer was released;
 * this can. The spies are undone by the test file's `vi.restoreAllMocks()`.
 */
export function trackTimers(): { pending(minDelay: number): number[] } {
  const live = new Map<unknown, number>()
  const realSetTimeout = globalThis.setTimeout
  const realClearTimeout = globalThis.clearTimeout
  const realSetInterval = globalThis.setInterval
  const realClearInterval = globalThis.clearInterval
  type Callback = (...args: unknown[]) => void
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: Callback, ms?: number, ...args: unknown[]) => {
    const handle = realSetTimeout(() => {
      live.delete(handle)
      callback(...args)
    }, ms)
    if (fromPackages()) live.set(handle, ms ?? 0)
    return handle
  }) as typeof setTimeout)
  vi.spyOn(globalThis, 'clearTimeout').mockImplementation((handle) => {
    live.delete(handle)
    realClearTimeout(handle)
  })
  vi.spyOn(globalThis, 'setInterval').mockImplementation(((callback: Callback, ms?: number, ...args: unknown[]) => {
    const handle = realSetInterval(callback, ms, ...args)
    if (fromPackages()) live.set(handle, ms ?? 0)
    return handle
  }) as typeof setInterval)
  vi.spyOn(globalThis, 'clearInterval').mockImplementation((handle) => {
    live.delete(handle)
    realClearInterval(handle)
  })
  return { pending: (minDelay) => [...live.values()].filter((delay) => delay >= minDelay) }
}
