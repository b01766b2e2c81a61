import { getEventListeners, once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { HttpError, LimitExceededError } from '@sluice/client'
import { type DownloadStatus, useDownload } from '@sluice/react'
import { act, renderHook, waitFor } from '@testing-library/react'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CHUNK = 32 * 1024
const CHUNKS = 8
const SIZE = CHUNK * CHUNKS

/** Each stalled request's server-side end, so a test can wait for the server to see the abort. */
const stalled: { closed: Promise<void>; res: ServerResponse }[] = []

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (url.pathname === '/file') {
    res.writeHead(200, {
      'content-type': 'text/csv',
      'content-length': String(SIZE),
      'content-disposition': 'attachment; filename="data.csv"',
    })
    const write = (i: number): void => {
      if (i === CHUNKS) return void res.end()
      res.write(Buffer.alloc(CHUNK, 65 + i), () => write(i + 1))
    }
    write(0)
  } else if (url.pathname === '/stall') {
    // Half a body, then nothing until the client leaves (or the suite ends).
    res.writeHead(200, { 'content-length': String(SIZE) })
    res.write(Buffer.alloc(SIZE / 2))
    stalled.push({ res, closed: once(res, 'close').then(() => undefined) })
  } else {
    res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden')
  }
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
  for (const { res } of stalled) res.destroy()
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
})

describe('useDownload', () => {
  it('starts idle, reports progress, and ends done with the body and its file name', async () => {
    const statuses: DownloadStatus[] = []
    const { result } = renderHook(() => {
      const download = useDownload({ throttle: 0 })
      statuses.push(download.status)
      return download
    })
    expect(result.current.status).toBe('idle')

    let finished: Awaited<ReturnType<typeof result.current.start>>
    await act(async () => {
      finished = await result.current.start(`${base}/file`)
    })
    expect(result.current.status).toBe('done')
    expect(result.current.loaded).toBe(SIZE)
    expect(result.current.total).toBe(SIZE)
    expect(result.current.error).toBeUndefined()
    expect(result.current.result?.filename).toBe('data.csv')
    expect(result.current.result?.blob.size).toBe(SIZE)
    expect(finished!).toBe(result.current.result)
    expect(statuses).toContain('downloading')
  })

  it('abort() ends the request (the server sees it close) and reports aborted, not error', async () => {
    const { result } = renderHook(() => useDownload({ throttle: 0 }))
    let pending: Promise<unknown> = Promise.resolve()
    act(() => {
      pending = result.current.start(`${base}/stall`)
    })
    // Wait until half the body has been read, so the abort lands mid-body.
    await waitFor(() => expect(result.current.loaded).toBe(SIZE / 2))
    act(() => result.current.abort())
    expect(result.current.status).toBe('aborted')
    await expect(pending).resolves.toBeUndefined()
    await stalled.at(-1)!.closed
    expect(result.current.status).toBe('aborted')
    expect(result.current.error).toBeUndefined()
    expect(result.current.loaded).toBe(SIZE / 2)
  })

  it('unmounting aborts a running download', async () => {
    const signals: AbortSignal[] = []
    const recordingFetch: typeof fetch = (input, init) => {
      if (init?.signal) signals.push(init.signal)
      return fetch(input, init)
    }
    const { result, unmount } = renderHook(() => useDownload({ throttle: 0, fetch: recordingFetch }))
    act(() => {
      void result.current.start(`${base}/stall`)
    })
    await waitFor(() => expect(result.current.loaded).toBe(SIZE / 2))
    const before = stalled.length
    unmount()
    await stalled[before - 1]!.closed
    expect(signals).toHaveLength(1)
    expect(signals[0]!.aborted).toBe(true)
    // readWithProgress removed its abort listener once the read ended.
    expect(getEventListeners(signals[0]!, 'abort').length).toBe(0)
  })

  it('reports an HTTP failure as a typed error naming the status', async () => {
    const { result } = renderHook(() => useDownload())
    await act(async () => {
      await expect(result.current.start(`${base}/secret`)).resolves.toBeUndefined()
    })
    expect(result.current.status).toBe('error')
    expect(result.current.error).toBeInstanceOf(HttpError)
    expect((result.current.error as HttpError).status).toBe(403)
  })

  it('bounds memory with maxSize', async () => {
    const { result } = renderHook(() => useDownload({ maxSize: 1024 }))
    await act(async () => {
      await result.current.start(`${base}/file`)
    })
    expect(result.current.status).toBe('error')
    expect(result.current.error).toBeInstanceOf(LimitExceededError)
    expect((result.current.error as LimitExceededError).limit).toBe('maxSize')
  })

  it('a network failure is an error with code NETWORK_ERROR', async () => {
    // A port nobody listens on: take a free one, then close it.
    const probe = createServer()
    probe.listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const { port } = probe.address() as AddressInfo
    probe.close()
    await once(probe, 'close')

    const { result } = renderHook(() => useDownload())
    await act(async () => {
      await result.current.start(`http://127.0.0.1:${port}/file`)
    })
    expect(result.current.status).toBe('error')
    expect(result.current.error?.code).toBe('NETWORK_ERROR')
  })

  it('coalesces progress renders with throttle, always ending on the final count', async () => {
    let renders = 0
    const { result } = renderHook(() => {
      renders++
      return useDownload({ throttle: 10_000 })
    })
    await act(async () => {
      await result.current.start(`${base}/file`)
    })
    // idle, downloading, (at most one throttled progress), done: never one render per chunk.
    expect(renders).toBeLessThanOrEqual(5)
    expect(result.current.loaded).toBe(SIZE)
    expect(result.current.status).toBe('done')
  })

  it('keeps start and abort identities across renders', () => {
    const { result, rerender } = renderHook(() => useDownload())
    const { start, abort } = result.current
    rerender()
    expect(result.current.start).toBe(start)
    expect(result.current.abort).toBe(abort)
  })
})
