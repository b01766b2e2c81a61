import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@sluice/server-kit'
import { afterEach, describe, expect, it } from 'vitest'
import { deferred, rawGet, waitFor } from './helpers.js'

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

async function listen(handler: Parameters<typeof toNodeHandler>[0], options?: Parameters<typeof toNodeHandler>[1]) {
  server = createServer(toNodeHandler(handler, options))
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('toNodeHandler (Request -> Response on node:http)', () => {
  it('builds the Request: method, URL with host and query, headers, streamed body', async () => {
    const url = await listen(async (request) => {
      const body = await request.text()
      return Response.json({
        method: request.method,
        url: request.url,
        accept: request.headers.get('accept'),
        multi: request.headers.get('x-multi'),
        body,
      })
    })
    const { port } = new URL(url)
    const response = await fetch(`${url}/path?q=1`, {
      method: 'POST',
      headers: [
        ['accept', 'application/json'],
        ['x-multi', 'a'],
        ['x-multi', 'b'],
      ],
      body: 'x'.repeat(100_000),
    })
    expect(await response.json()).toEqual({
      method: 'POST',
      url: `http://127.0.0.1:${port}/path?q=1`,
      accept: 'application/json',
      multi: 'a, b',
      body: 'x'.repeat(100_000),
    })
  })

  it('lets a handler cancel the request body and still answer', async () => {
    const url = await listen(async (request) => {
      const reader = request.body!.getReader()
      const first = await reader.read()
      await reader.cancel()
      return new Response(`read ${first.value?.byteLength ?? 0} bytes, then stopped`)
    })
    const response = await fetch(`${url}/upload`, { method: 'PUT', body: 'y'.repeat(1_000_000) })
    expect(response.status).toBe(200)
    expect(await response.text()).toMatch(/^read \d+ bytes, then stopped$/)
  })

  it('writes status, statusText and every set-cookie header', async () => {
    const url = await listen(() => {
      const headers = new Headers({ 'content-type': 'text/plain' })
      headers.append('set-cookie', 'a=1; Path=/')
      headers.append('set-cookie', 'b=2; Path=/')
      return new Response('created', { status: 201, statusText: 'Made It', headers })
    })
    const response = await rawGet(`${url}/`)
    expect(response.status).toBe(201)
    expect(response.res.statusMessage).toBe('Made It')
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/'])
    expect(await response.ended).toBe('created')
  })

  it('sends no body for HEAD and 204, and releases the unread body', async () => {
    let cancelled = 0
    const body = () =>
      new ReadableStream({
        pull: (controller) => controller.enqueue(new TextEncoder().encode('never')),
        cancel: () => {
          cancelled++
        },
      })
    const url = await listen((request) => {
      const { pathname } = new URL(request.url)
      if (pathname === '/empty') return new Response(null, { status: 204 })
      if (pathname === '/cached') return new Response(null, { status: 304, headers: { etag: '"v1"' } })
      return new Response(body())
    })
    const head = await fetch(`${url}/`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const empty = await fetch(`${url}/empty`)
    expect(empty.status).toBe(204)
    const cached = await rawGet(`${url}/cached`)
    expect(cached.status).toBe(304)
    expect(cached.headers.etag).toBe('"v1"')
    await waitFor('the HEAD body to be cancelled', () => cancelled === 1)
  })

  it('answers 400 to a request no URL can be built from, without calling the handler', async () => {
    let calls = 0
    const url = await listen(() => {
      calls++
      return new Response('x')
    })
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${url}/`, { headers: { host: 'bad host name' } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(400)
    expect(calls).toBe(0)
  })

  it('throws for an invalid sendTimeout when created, not per request', () => {
    expect(() => toNodeHandler(() => new Response('x'), { sendTimeout: -1 })).toThrow(/`sendTimeout`/)
  })

  it('answers 500 when the handler throws, and reports the error', async () => {
    const errors: unknown[] = []
    const url = await listen(
      () => {
        throw new Error('handler bug')
      },
      { onError: (error) => errors.push(error) },
    )
    const response = await fetch(`${url}/`)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('')
    expect(String(errors[0])).toContain('handler bug')
  })

  it('does not report a handler that gave up because the client left', async () => {
    const errors: unknown[] = []
    const started = deferred()
    let aborted = false
    const url = await listen(
      async (request) => {
        started.resolve()
        await new Promise((_, reject) =>
          request.signal.addEventListener('abort', () => {
            aborted = true
            reject(request.signal.reason)
          }),
        )
        return new Response('never')
      },
      { onError: (error) => errors.push(error) },
    )
    const req = httpRequest(`${url}/slow`)
    req.on('error', () => undefined)
    req.end()
    await started.promise
    req.destroy()
    await waitFor('the Request signal to abort', () => aborted)
    expect(errors).toEqual([])
  })

  it('aborts the connection when the body errors mid-stream', async () => {
    const errors: unknown[] = []
    const url = await listen(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('partial'))
              controller.error(new Error('upstream failed'))
            },
          }),
        ),
      { onError: (error) => errors.push(error) },
    )
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${url}/`, (res) => {
        res.on('data', () => undefined)
        res.on('end', () => resolve('complete'))
        res.on('aborted', () => resolve('aborted'))
        res.on('error', () => resolve('aborted'))
      })
      req.on('error', () => resolve('aborted'))
      req.end()
    })
    expect(outcome).toBe('aborted')
    expect(String(errors[0])).toContain('upstream failed')
  })
})
