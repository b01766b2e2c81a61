import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleForBrowser, dist, reexport } from './bundle.js'
import { type CaseOutcome, deliveries, parseCases } from './client-cases.js'

/**
 * The client in a real browser: the built `@sluice/client`, bundled for the browser (as an app's
 * bundler would), loaded as a module by headless Chromium from this Node server, runs the same
 * parsing cases as Bun and Deno and a `createEventStream` that resumes across server drops.
 */

const CHROMIUM = '/usr/bin/chromium'
const EVENTS = 9
const PER_RESPONSE = 3

type Client = typeof import('@sluice/client')

let server: Server
let base: string
let browser: Browser
let page: Page
const pageErrors: string[] = []
const lastEventIds: (string | null)[] = []
const ndjsonCursors: (string | null)[] = []

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install the distribution's chromium package`)
  const bundle = await bundleForBrowser(reexport([dist('client/dist/index.js')]))
  expect(bundle.nodeImports).toEqual([])
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      response.end(
        '<!doctype html><script type="module">import * as sluice from "/sluice.js"; window.sluice = sluice</script>',
      )
      return
    }
    if (path === '/favicon.ico') {
      response.writeHead(204).end()
      return
    }
    if (path === '/sluice.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
      response.end(bundle.code)
      return
    }
    if (path === '/drop-sse') {
      const header = request.headers['last-event-id']
      lastEventIds.push(typeof header === 'string' ? header : null)
      if (lastEventIds.length > 10) {
        response.writeHead(400).end()
        return
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      const from = Number(header ?? 0)
      if (from >= EVENTS) {
        response.end('data: [DONE]\n\n')
        return
      }
      for (let id = from + 1; id <= Math.min(from + PER_RESPONSE, EVENTS); id += 1) {
        response.write(`id: ${id}\ndata: ${id}\n\n`)
      }
      response.end()
      return
    }
    if (path === '/drop-ndjson') {
      // NDJSON has no Last-Event-ID: the client's resume hook puts the cursor in the query.
      const after = new URL(request.url ?? '/', 'http://127.0.0.1').searchParams.get('after')
      ndjsonCursors.push(after)
      if (ndjsonCursors.length > 10) {
        response.writeHead(400).end()
        return
      }
      response.writeHead(200, { 'content-type': 'application/x-ndjson' })
      const from = Number(after ?? 0)
      for (let id = from + 1; id <= Math.min(from + PER_RESPONSE, EVENTS); id += 1) {
        response.write(`${JSON.stringify({ id })}\n`)
      }
      response.end()
      return
    }
    const found = parseCases.find((c) => path === `/case/${c.name}`)
    if (!found) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': found.kind === 'sse' ? 'text/event-stream' : 'application/x-ndjson' })
    for (let offset = 0; offset < found.bytes.length; offset += 5) {
      response.write(found.bytes.subarray(offset, offset + 5))
    }
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  })
  page = await browser.newPage()
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })
  await page.goto(base)
  await page.waitForFunction(() => 'sluice' in window, undefined, { timeout: 10_000 })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
})

describe('@sluice/client in Chromium', () => {
  it('loads the bundled client as a module, with no page error', async () => {
    expect(browser.version()).toMatch(/^\d+\.\d+/)
    const exported = await page.evaluate(() => Object.keys((window as unknown as { sluice: object }).sluice))
    expect(exported).toEqual(expect.arrayContaining(['readEventStream', 'readNdjson', 'createEventStream']))
    expect(pageErrors).toEqual([])
  })

  it.each(parseCases.map((c) => [c.name, c] as const))('%s', async (name, parseCase) => {
    const outcomes = await page.evaluate(
      async ({ name, kind, options, sizes }) => {
        const { readEventStream, readNdjson } = (window as unknown as { sluice: Client }).sluice
        const chunked = (body: Uint8Array, size: number) => {
          let offset = 0
          return new ReadableStream<Uint8Array>({
            pull(controller) {
              if (offset >= body.length) return controller.close()
              controller.enqueue(body.slice(offset, offset + size))
              offset += size
            },
          })
        }
        const parse = async (input: Response | ReadableStream<Uint8Array>) => {
          const items: unknown[] = []
          const retries: number[] = []
          let error: { name: string; code: string; lineNumber?: number; limit?: string } | null = null
          try {
            if (kind === 'sse') {
              for await (const m of readEventStream(input, { onRetry: (ms) => retries.push(ms), ...options })) {
                items.push(m)
              }
            } else {
              for await (const value of readNdjson(input, options)) items.push(value)
            }
          } catch (caught) {
            const e = caught as { name: string; code: string; lineNumber?: number; limit?: string }
            error = { name: e.name, code: e.code }
            if (e.lineNumber !== undefined) error.lineNumber = e.lineNumber
            if (e.limit !== undefined) error.limit = e.limit
          }
          return { items, retries, error }
        }
        const results: [string | number, unknown][] = [['network', await parse(await fetch(`/case/${name}`))]]
        const bytes = new Uint8Array(await (await fetch(`/case/${name}`)).arrayBuffer())
        for (const size of sizes) results.push([size, await parse(chunked(bytes, size))])
        return results
      },
      {
        name,
        kind: parseCase.kind,
        options: parseCase.options ?? {},
        sizes: deliveries.filter((d): d is Exclude<typeof d, 'network'> => d !== 'network'),
      },
    )
    expect(outcomes.map(([delivery]) => delivery)).toEqual([...deliveries])
    for (const [delivery, outcome] of outcomes) {
      expect({ delivery, ...(outcome as CaseOutcome) }).toEqual({ delivery, ...parseCase.expected })
    }
  })

  // Guards a bug this test found: browsers' fetch throws "Illegal invocation" when called as a method
  // of another object (`attempt.fetch(...)`); Node, Bun and Deno do not check `this`.
  it('createEventStream resumes after each server drop with Last-Event-ID, then closes on done', async () => {
    const result = await page.evaluate(async () => {
      const { createEventStream } = (window as unknown as { sluice: Client }).sluice
      const connection = createEventStream('/drop-sse', {
        done: (message) => message.data === '[DONE]',
        retry: { initialDelay: 10, maxDelay: 50 },
      })
      // Bounded: a connection that keeps failing is closed after 10 s, which ends the loop, so the
      // test reports what went wrong instead of timing out.
      const timer = setTimeout(() => connection.close(), 10_000)
      const messages: { data: string; id: string }[] = []
      for await (const message of connection) messages.push({ data: message.data, id: message.id })
      clearTimeout(timer)
      const { status, error, lastEventId } = connection.getSnapshot()
      return { messages, status, lastEventId, error: error ? error.message : null }
    })
    const ids = Array.from({ length: EVENTS }, (_, i) => String(i + 1))
    expect(result.messages).toEqual(ids.map((id) => ({ data: id, id })))
    expect(lastEventIds).toEqual([null, '3', '6', '9'])
    expect(result).toMatchObject({ status: 'closed', lastEventId: '9', error: null })
    expect(pageErrors).toEqual([])
  })

  // The same guard for createNdjsonStream (it shares the HTTP attempt code).
  it('createNdjsonStream resumes through its resume hook after each server end', async () => {
    const result = await page.evaluate(async (total) => {
      const { createNdjsonStream } = (window as unknown as { sluice: Client }).sluice
      const connection = createNdjsonStream<{ id: number }>('/drop-ndjson', {
        retry: { initialDelay: 10, maxDelay: 50 },
        // Stops after the last item: returning false from resume closes the connection.
        resume: (last) =>
          last === undefined ? '/drop-ndjson' : last.id < total ? `/drop-ndjson?after=${last.id}` : false,
      })
      const timer = setTimeout(() => connection.close(), 10_000)
      const items: number[] = []
      for await (const item of connection) items.push(item.id)
      clearTimeout(timer)
      const { status, error } = connection.getSnapshot()
      return { items, status, error: error ? error.message : null }
    }, EVENTS)
    expect(result.items).toEqual(Array.from({ length: EVENTS }, (_, i) => i + 1))
    expect(ndjsonCursors).toEqual([null, '3', '6'])
    expect(result).toMatchObject({ status: 'closed', error: null })
    expect(pageErrors).toEqual([])
  })
})
