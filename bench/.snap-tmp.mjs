// usage: node --expose-gc snap.mjs variant N  -> prints per-stream retained by constructor (self size) delta

import { fork } from 'node:child_process'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'

const [variant, Nstr] = process.argv.slice(2)
const N = Number(Nstr)
if (variant === 'client') {
  const port = Number(process.argv[4])
  let opened = 0
  for (let i = 0; i < N; i += 200) {
    await Promise.all(
      Array.from(
        { length: Math.min(200, N - i) },
        () =>
          new Promise((r) => {
            get({ host: '127.0.0.1', port, path: '/e', agent: false }, (res) => {
              opened++
              res.on('data', () => {})
              r()
            }).on('error', r)
          }),
      ),
    )
  }
  process.send('open')
  process.on('message', () => process.exit(0))
} else {
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
    } else void sendEventStream(req, res, (ctx) => channel.subscribe(ctx))
  })
  http.listen(0, '127.0.0.1', 4096)
  await once(http, 'listening')
  const heap = () => {
    gc()
    gc()
    return process.memoryUsage().heapUsed
  }
  const count = () => (variant === 'bare' ? streams.size : channel.subscriberCount)
  const base = heap()
  const snapAgg = () => {
    const file = v8.writeHeapSnapshot(`/tmp/hp/${variant}-${Date.now()}.heapsnapshot`)
    return file
  }
  const c = fork(fileURLToPath(import.meta.url), ['client', String(N), String(http.address().port)])
  await once(c, 'message')
  while (count() < N) await new Promise((r) => setTimeout(r, 50))
  await new Promise((r) => setTimeout(r, 200))
  const h = heap()
  console.log(variant, 'heap/conn', ((h - base) / N / 1024).toFixed(2), 'KB')
  if (process.env.SNAP) console.log(snapAgg())
  c.send('x')
  process.exit(0)
}
