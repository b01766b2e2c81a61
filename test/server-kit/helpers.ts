/** Intent-revealing helpers for the server-kit stream tests. Not a test file. */
import { get, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'

/** Polls `predicate` until it holds; fails with `what` after `timeout` ms (a bound, not a sleep). */
export async function waitFor(what: string, predicate: () => boolean, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** A raw `http.get` whose body is collected as text, with waits on what has arrived. */
export interface RawResponse {
  readonly res: IncomingMessage
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** Body text received so far. */
  text(): string
  /** Resolves once the body contains `needle`. */
  waitForText(needle: string, timeout?: number): Promise<string>
  /** Resolves with the whole body when the response ends (or the connection closes). */
  ended: Promise<string>
  /** Destroys the connection (a client going away). */
  abort(): void
}

/** Opens `url` with `http.get` and resolves once the status and headers arrived. */
export function rawGet(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      const ended = new Promise<string>((resolveEnd) => {
        res.on('end', () => resolveEnd(body))
        res.on('close', () => resolveEnd(body))
        res.on('error', () => resolveEnd(body))
      })
      resolve({
        res,
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => body,
        async waitForText(needle, timeout) {
          await waitFor(`${JSON.stringify(needle)} in the body`, () => body.includes(needle), timeout)
          return body
        },
        ended,
        abort: () => req.destroy(),
      })
    })
    req.on('error', reject)
  })
}

const TRACKED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'Timeout'])

/** Sockets, servers and timers alive in this test file's process (see `process.getActiveResourcesInfo`). */
export function liveResources(): string[] {
  return process.getActiveResourcesInfo().filter((name) => TRACKED.has(name))
}

/** Waits until no socket, server or timer beyond `baseline` is left (they close asynchronously). */
export async function expectNoLeaks(baseline: readonly string[]): Promise<void> {
  const count = (list: readonly string[], name: string) => list.filter((entry) => entry === name).length
  const leaked = () => [...TRACKED].filter((name) => count(liveResources(), name) > count(baseline, name))
  try {
    await waitFor('sockets, servers and timers to be released', () => leaked().length === 0, 3_000)
  } catch {
    throw new Error(`Leaked: ${leaked().join(', ')} (now ${liveResources().join(', ')}; before ${baseline.join(', ')})`)
  }
}

/** Reads a whole body as text. */
export async function bodyText(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (stream === null) return ''
  let text = ''
  const decoder = new TextDecoder()
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>)
    text += decoder.decode(chunk, { stream: true })
  return text + decoder.decode()
}
