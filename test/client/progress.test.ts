import { getEventListeners, once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import {
  filenameFromContentDisposition,
  HttpError,
  LimitExceededError,
  type Progress,
  readWithProgress,
} from '@sluice/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CHUNK = 64 * 1024
const CHUNKS = 16

/** Resolves when the server has seen the request's socket close (the client let go). */
let serverSawClose: Promise<void> = Promise.resolve()
/** Lets the test release the stalled endpoint from outside. */
let resumeStalled: (() => void) | undefined

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (url.pathname === '/file') {
    // A known length, written in several chunks so progress is reported more than once.
    res.writeHead(200, {
      'content-type': 'text/csv',
      'content-length': String(CHUNK * CHUNKS),
      'content-disposition': 'attachment; filename="report.csv"',
    })
    const write = (i: number): void => {
      if (i === CHUNKS) return void res.end()
      res.write(Buffer.alloc(CHUNK, 97 + (i % 26)), () => write(i + 1))
    }
    write(0)
    return
  }
  if (url.pathname === '/chunked') {
    // No Content-Length: the total is unknown.
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.write('hello ')
    res.end('world')
    return
  }
  if (url.pathname === '/gzip') {
    const body = gzipSync(Buffer.alloc(100_000, 120))
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(body.byteLength) })
    res.end(body)
    return
  }
  if (url.pathname === '/stall') {
    // Sends a first chunk, then waits (bounded by the test) so an abort lands mid-body.
    serverSawClose = once(res, 'close').then(() => undefined)
    res.writeHead(200, { 'content-length': '1000000' })
    res.write(Buffer.alloc(1000))
    resumeStalled = () => res.end()
    return
  }
  if (url.pathname === '/missing') {
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not here')
    return
  }
  res.writeHead(500).end()
}

let server: Server
let base: string

beforeAll(async () => {
  server = createServer(handler)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  resumeStalled?.()
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
})

describe('readWithProgress', () => {
  it('reads the whole body, reporting monotonically growing progress and the announced total', async () => {
    const seen: Progress[] = []
    const result = await readWithProgress(await fetch(`${base}/file`), { onProgress: (p) => seen.push(p) })

    expect(result.blob.size).toBe(CHUNK * CHUNKS)
    expect(result.blob.type).toBe('text/csv')
    expect(result.filename).toBe('report.csv')
    expect(result.progress).toEqual({ loaded: CHUNK * CHUNKS, total: CHUNK * CHUNKS })
    expect(seen[0]).toEqual({ loaded: 0, total: CHUNK * CHUNKS })
    expect(seen.at(-1)).toEqual({ loaded: CHUNK * CHUNKS, total: CHUNK * CHUNKS })
    expect(seen.length).toBeGreaterThan(2)
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.loaded).toBeGreaterThan(seen[i - 1]!.loaded)
    // The bytes are the ones sent, in order.
    const bytes = new Uint8Array(await result.blob.arrayBuffer())
    expect(bytes[0]).toBe(97)
    expect(bytes[CHUNK * 3]).toBe(100)
  })

  it('reports an unknown total without Content-Length', async () => {
    const seen: Progress[] = []
    const result = await readWithProgress(await fetch(`${base}/chunked`), { onProgress: (p) => seen.push(p) })
    expect(await result.blob.text()).toBe('hello world')
    expect(result.filename).toBeUndefined()
    expect(seen.every((p) => p.total === undefined)).toBe(true)
    expect(seen.at(-1)?.loaded).toBe(11)
  })

  it('does not trust Content-Length of an encoded body (it counts compressed bytes)', async () => {
    const result = await readWithProgress(await fetch(`${base}/gzip`))
    expect(result.blob.size).toBe(100_000)
    expect(result.progress.total).toBeUndefined()
  })

  it('aborting mid-body rejects with the reason and closes the connection', async () => {
    const controller = new AbortController()
    const response = await fetch(`${base}/stall`)
    const reading = readWithProgress(response, {
      signal: controller.signal,
      // Abort once the first chunk has arrived, so the abort lands while a read is pending.
      onProgress: ({ loaded }) => {
        if (loaded > 0) controller.abort(new Error('user cancelled'))
      },
    })
    await expect(reading).rejects.toThrow('user cancelled')
    await serverSawClose
    expect(response.bodyUsed).toBe(true)
  })

  it('rejects at once with an already aborted signal', async () => {
    const response = await fetch(`${base}/chunked`)
    await expect(readWithProgress(response, { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early')
    await response.body?.cancel()
  })

  it('rejects a non-ok response with HttpError naming the status', async () => {
    const error = await readWithProgress(await fetch(`${base}/missing`)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HttpError)
    expect((error as HttpError).status).toBe(404)
    expect((error as HttpError).message).toMatch(/404/)
  })

  it('bounds memory: an announced or actual body larger than maxSize throws LimitExceededError', async () => {
    const announced = await readWithProgress(await fetch(`${base}/file`), { maxSize: 1000 }).catch((e: unknown) => e)
    expect(announced).toBeInstanceOf(LimitExceededError)
    expect((announced as LimitExceededError).limit).toBe('maxSize')
    expect((announced as LimitExceededError).max).toBe(1000)

    const actual = await readWithProgress(await fetch(`${base}/chunked`), { maxSize: 5 }).catch((e: unknown) => e)
    expect(actual).toBeInstanceOf(LimitExceededError)
    expect((actual as LimitExceededError).message).toMatch(/maxSize \(5 bytes\)/)
  })

  it('rejects a nonsensical maxSize with a TypeError that names it', async () => {
    const response = await fetch(`${base}/chunked`)
    await expect(readWithProgress(response, { maxSize: 0 })).rejects.toThrow(TypeError)
    await response.body?.cancel()
  })

  it('removes its abort listener whether it completes or is aborted (the reader is the only other resource)', async () => {
    const completed = new AbortController()
    await readWithProgress(await fetch(`${base}/file`), { signal: completed.signal })
    expect(getEventListeners(completed.signal, 'abort')).toHaveLength(0)

    const aborted = new AbortController()
    const response = await fetch(`${base}/stall`)
    const reading = readWithProgress(response, { signal: aborted.signal })
    aborted.abort()
    await expect(reading).rejects.toThrow()
    await serverSawClose
    expect(getEventListeners(aborted.signal, 'abort')).toHaveLength(0)
  })
})

describe('filenameFromContentDisposition', () => {
  it('prefers filename* (RFC 6266), unquotes filename, and returns undefined when none', () => {
    expect(filenameFromContentDisposition(`attachment; filename="a.csv"; filename*=UTF-8''%C3%A9t%C3%A9.csv`)).toBe(
      'été.csv',
    )
    expect(filenameFromContentDisposition('attachment; filename="say \\"hi\\".txt"')).toBe('say "hi".txt')
    expect(filenameFromContentDisposition('attachment; filename=plain.bin')).toBe('plain.bin')
    expect(filenameFromContentDisposition('inline')).toBeUndefined()
    expect(filenameFromContentDisposition(null)).toBeUndefined()
  })
})
