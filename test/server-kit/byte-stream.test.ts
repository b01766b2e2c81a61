import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { runInNewContext } from 'node:vm'
import type { StreamEndReason } from '@sluice/server-kit'
import { sendStream, streamResponse } from '@sluice/server-kit'
import { createTestServer, type TestServer } from '@sluice/server-kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { bodyText, rawGet, waitFor } from './helpers.js'

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('sendStream (plain bytes and text on node:http)', () => {
  it('streams strings and bytes as they are, with streaming headers and user headers over them', async () => {
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendStream(req, res, ['id,name\n', new TextEncoder().encode('1,ä\n'), '2,b\n'], {
        headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="x.csv"' },
      }),
    )
    const response = await rawGet(`${server.url}/export`)
    expect(await response.ended).toBe('id,name\n1,ä\n2,b\n')
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(response.headers['content-disposition']).toBe('attachment; filename="x.csv"')
    expect(response.headers['x-accel-buffering']).toBe('no')
  })

  it('defaults to application/octet-stream and takes a ReadableStream or a Node Readable', async () => {
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      req.url === '/web'
        ? sendStream(
            req,
            res,
            new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(new Uint8Array([104, 105]))
                controller.close()
              },
            }),
          )
        : sendStream(req, res, Readable.from(['no', 'de'])),
    )
    const web = await fetch(`${server.url}/web`)
    expect(web.headers.get('content-type')).toBe('application/octet-stream')
    expect(await web.text()).toBe('hi')
    expect(await (await fetch(`${server.url}/node`)).text()).toBe('node')
  })

  it('aborts the response when the source fails, so a truncated download never looks complete', async () => {
    const errors: unknown[] = []
    const reasons: StreamEndReason[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendStream(
        req,
        res,
        (async function* () {
          yield 'part one,'
          throw new Error('disk read failed')
        })(),
        { onError: (error) => errors.push(error), onClose: (reason) => reasons.push(reason) },
      ),
    )
    const response = await fetch(`${server.url}/`)
    await expect(response.text()).rejects.toThrow()
    await waitFor('the stream to end', () => reasons.length === 1)
    expect(reasons).toEqual(['error'])
    expect(String(errors[0])).toContain('disk read failed')
  })

  it('rejects a chunk that is neither a string nor bytes', async () => {
    const errors: unknown[] = []
    server = await createTestServer((req: IncomingMessage, res: ServerResponse) =>
      sendStream(req, res, [42 as unknown as string], { onError: (error) => errors.push(error) }),
    )
    await expect((await fetch(`${server.url}/`)).text()).rejects.toThrow()
    expect(errors[0]).toBeInstanceOf(TypeError)
    expect(String(errors[0])).toMatch(/string or a Uint8Array, got number/)
  })
})

describe('streamResponse (plain bytes and text on Fetch runtimes)', () => {
  it('streams the chunks with the given headers', async () => {
    const response = streamResponse(new Request('http://h/logs'), ['line 1\n', 'line 2\n'], {
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    })
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await bodyText(response.body)).toBe('line 1\nline 2\n')
  })

  it('takes Uint8Array chunks of another realm (jsdom globals next to Node streams, a vm context)', async () => {
    const foreign = runInNewContext('[new Uint8Array([104, 105]), new Uint8Array([33, 10])]') as Uint8Array[]
    expect(foreign[0]).not.toBeInstanceOf(Uint8Array)
    const response = streamResponse(new Request('http://h/bytes'), foreign)
    expect(await bodyText(response.body)).toBe('hi!\n')
  })

  it('errors the body when the source fails', async () => {
    const errors: unknown[] = []
    const response = streamResponse(
      new Request('http://h/'),
      (async function* () {
        yield 'a'
        throw new Error('boom')
      })(),
      { onError: (error) => errors.push(error) },
    )
    await expect(bodyText(response.body)).rejects.toThrow('The stream source failed')
    expect(String(errors[0])).toContain('boom')
  })
})
