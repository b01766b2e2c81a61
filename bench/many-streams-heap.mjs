// A quick local variant of many-streams.mjs for iterating on per-stream memory: heap per open SSE
// connection only (no broadcast latency), at a count one machine's fd limit always allows.
//
//   node bench/many-streams-heap.mjs [count=2000] [--snapshot]
//
// For each variant (bare `res` kept in a Set; `sendEventStream` + a channel subscription with the
// default keepalive), a fresh server child (`--expose-gc`) opens `count` streams from a client
// child on loopback, then reports (heapUsed with every stream open - heapUsed before) / count,
// both after two forced GCs. Both variants run in the same invocation so a loaded machine affects
// them alike. `--snapshot` also writes a V8 heap snapshot of each server (for a diff by constructor).
// Needs the built packages (npx tsc -p packages/server-kit/tsconfig.build.json).

import { fork } from 'node:child_process'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import { fileURLToPath } from 'node:url'
import { writeHeapSnapshot } from 'node:v8'

const self = fileURLToPath(import.meta.url)
const [role, ...rest] = process.argv.slice(2)

if (role === 'server') await server(rest[0], rest[1] === 'snapshot')
else if (role === 'client') await client(Number(rest[0]), Number(rest[1]))
else await main()

async function server(variant, snapshot) {
  const { createChannel, sendEventStream } = await import('@sluice/server-kit')
  const channel = createChannel()
  const streams = new Set()
  const http = createServer((req, res) => {
    if (variant === 'bare') {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      })
      res.flushHeaders()
      streams.add(res)
      res.on('close', () => streams.delete(res))
    } else {
      void sendEventStream(req, res, (ctx) => channel.subscribe(ctx))
    }
  })
  http.listen(0, '127.0.0.1', 4096)
  await once(http, 'listening')
  const heap = () => {
    globalThis.gc()
    globalThis.gc()
    return process.memoryUsage().heapUsed
  }
  const open = () => (variant === 'bare' ? streams.size : channel.subscriberCount)
  const before = heap()
  process.on('message', (message) => {
    if (message.type === 'count') process.send({ type: 'count', open: open() })
    else if (message.type === 'heap') {
      const after = heap()
      const file = snapshot ? writeHeapSnapshot(`many-streams-${variant}.heapsnapshot`) : undefined
      process.send({ type: 'heap', perConnection: (after - before) / open(), open: open(), file })
    }
  })
  process.send({ type: 'ready', port: http.address().port })
}

async function client(port, count) {
  let failures = 0
  for (let i = 0; i < count; i += 200) {
    await Promise.all(
      Array.from(
        { length: Math.min(200, count - i) },
        () =>
          new Promise((resolve) => {
            const request = get({ host: '127.0.0.1', port, path: '/events', agent: false }, (response) => {
              response.resume()
              resolve()
            })
            request.on('error', () => {
              failures++
              resolve()
            })
          }),
      ),
    )
  }
  process.send({ type: 'open', failures })
}

function next(child, type, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), timeoutMs)
    child.on('message', function onMessage(message) {
      if (message.type !== type) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(message)
    })
  })
}

async function measure(variant, count, snapshot) {
  const srv = fork(self, ['server', variant, snapshot ? 'snapshot' : ''], { execArgv: ['--expose-gc'] })
  const children = [srv]
  try {
    const { port } = await next(srv, 'ready')
    const cli = fork(self, ['client', String(port), String(count)])
    children.push(cli)
    const { failures } = await next(cli, 'open')
    // Bounded: every stream is registered on the server (or the wait times out).
    const deadline = Date.now() + 60_000
    for (;;) {
      srv.send({ type: 'count' })
      if ((await next(srv, 'count')).open >= count - failures) break
      if (Date.now() > deadline) throw new Error('streams did not all open within 60 s')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    srv.send({ type: 'heap' })
    return { variant, failures, ...(await next(srv, 'heap')) }
  } finally {
    for (const child of children) child.kill('SIGKILL')
  }
}

async function main() {
  const count = Number(role ?? 2000)
  const snapshot = process.argv.includes('--snapshot')
  const bare = await measure('bare', count, snapshot)
  const kit = await measure('channel', count, snapshot)
  for (const row of [bare, kit]) {
    console.log(
      `${row.variant.padEnd(8)} open ${row.open}  heap/conn ${(row.perConnection / 1024).toFixed(2)} KB  ` +
        `${(row.perConnection / bare.perConnection).toFixed(2)}x${row.file ? `  ${row.file}` : ''}`,
    )
  }
}
