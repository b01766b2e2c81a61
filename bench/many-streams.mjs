// One process, many streams: how many concurrent SSE streams one server process holds on one
// channel, what each costs in heap, and how long a broadcast takes to reach all of them.
//
//   bench/many-streams.sh [counts]       (raises the fd limit first; counts default 10000,25000,50000)
//   node bench/many-streams.mjs [counts]
//
// For each count and variant, a fresh server child (`--expose-gc`) and several client children,
// each client child on its own loopback source address (127.0.0.2, 127.0.0.3, ...) so that no
// address runs out of ephemeral ports (about 28k per address here). Variants:
//   - bare:    `res.writeHead(200, sse headers)` kept in a Set; a broadcast is a `res.write` loop.
//              What a hand-written SSE endpoint costs at the least; no keepalive.
//   - channel: `sendEventStream(req, res, ctx => channel.subscribe(ctx))` with the default keepalive
//              (server-kit 5 s), a broadcast is `channel.publish()`.
// Heap per connection = (heapUsed after every stream is open - heapUsed before) / count, both after
// two forced GCs. Latency = arrival time in the client - send time in the server (both
// performance.timeOrigin + now(), same machine), over every client and broadcast; every client
// checks it got every broadcast in order (count + checksum).
//
// Needs the built packages (npm run build, or npx tsc -p packages/server-kit/tsconfig.build.json).

import { fork } from 'node:child_process'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import { fileURLToPath } from 'node:url'

const self = fileURLToPath(import.meta.url)
const role = process.argv[2]

const BROADCASTS = 10
const CLIENT_PROCESSES_MAX = 8
const PER_CLIENT_PROCESS = 7_000
const now = () => performance.timeOrigin + performance.now()

if (role === 'server') await server(process.argv[3])
else if (role === 'client') await client()
else await main()

// ---------------------------------------------------------------------------------------------
async function server(variant) {
  const { createChannel, sendEventStream } = await import('@sluice/server-kit')
  const streams = new Set()
  const channel = createChannel({ store: undefined })
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
  http.maxConnections = Number.POSITIVE_INFINITY
  http.listen(0, '127.0.0.1', 4096)
  await once(http, 'listening')
  const heap = () => {
    globalThis.gc()
    globalThis.gc()
    return process.memoryUsage().heapUsed
  }
  const baseHeap = heap()
  const open = () => (variant === 'bare' ? streams.size : channel.subscriberCount)
  process.on('message', (message) => {
    if (message.type === 'count') process.send({ type: 'count', open: open() })
    else if (message.type === 'heap') process.send({ type: 'heap', baseHeap, heap: heap(), open: open() })
    else if (message.type === 'broadcast') {
      const data = JSON.stringify({ k: message.k, t: now() })
      const started = now()
      if (variant === 'bare') {
        const chunk = `data: ${data}\n\n`
        for (const res of streams) res.write(chunk)
      } else {
        channel.publish(data)
      }
      process.send({ type: 'broadcast', k: message.k, syncMs: now() - started })
    } else if (message.type === 'exit') process.exit(0)
  })
  process.send({ type: 'ready', port: http.address().port })
}

// ---------------------------------------------------------------------------------------------
async function client() {
  const { createParser } = await import('eventsource-parser')
  const [port, count, localAddress] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5]]
  const latencies = []
  const got = new Array(count).fill(0)
  let failures = 0
  let opened = 0
  let reportedOpen = false
  const perBroadcast = new Map()

  const openOne = (index) =>
    new Promise((resolve) => {
      const request = get(
        {
          host: '127.0.0.1',
          port,
          path: '/events',
          localAddress,
          agent: false,
          headers: { accept: 'text/event-stream' },
        },
        (response) => {
          opened++
          const parser = createParser({
            onEvent(event) {
              const at = now()
              const { k, t } = JSON.parse(event.data)
              if (k !== got[index]) failures++ // out of order or missing
              got[index] = k + 1
              latencies.push(at - t)
              const seen = (perBroadcast.get(k) ?? 0) + 1
              perBroadcast.set(k, seen)
              if (seen === count) process.send({ type: 'received', k })
            },
          })
          response.setEncoding('utf8')
          response.on('data', (chunk) => parser.feed(chunk))
          response.on('error', () => failures++)
          resolve()
        },
      )
      request.on('error', () => {
        failures++
        resolve()
      })
    })

  // Opened in waves so the server's accept backlog is not overrun.
  for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, (_, j) => openOne(i + j)))
  }
  if (!reportedOpen) {
    reportedOpen = true
    process.send({ type: 'open', opened, failures })
  }
  process.on('message', (message) => {
    if (message.type === 'report') {
      const expected = got.every((k) => k === message.broadcasts)
      process.send({ type: 'report', latencies, failures, complete: expected })
    } else if (message.type === 'exit') process.exit(0)
  })
}

// ---------------------------------------------------------------------------------------------
function nextMessage(child, type, timeoutMs = 300_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage)
      reject(new Error(`timed out waiting for "${type}"`))
    }, timeoutMs)
    function onMessage(message) {
      if (message.type !== type) return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(message)
    }
    child.on('message', onMessage)
  })
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function measure(variant, count) {
  const srv = fork(self, ['server', variant], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const children = [srv]
  try {
    const { port } = await nextMessage(srv, 'ready', 30_000)
    const processes = Math.min(CLIENT_PROCESSES_MAX, Math.ceil(count / PER_CLIENT_PROCESS) + 1)
    const clients = []
    const started = now()
    for (let i = 0; i < processes; i++) {
      const share = Math.floor(count / processes) + (i < count % processes ? 1 : 0)
      const c = fork(self, ['client', String(port), String(share), `127.0.0.${2 + i}`], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      children.push(c)
      clients.push({ child: c, share })
    }
    const opened = await Promise.all(clients.map(({ child }) => nextMessage(child, 'open')))
    const openFailures = opened.reduce((sum, o) => sum + o.failures, 0)
    // Every stream is registered on the server side (headers sent, subscription made).
    for (;;) {
      srv.send({ type: 'count' })
      const { open } = await nextMessage(srv, 'count')
      if (open >= count - openFailures) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const openMs = now() - started
    srv.send({ type: 'heap' })
    const heap = await nextMessage(srv, 'heap')
    const syncMs = []
    for (let k = 0; k < BROADCASTS; k++) {
      const received = Promise.all(
        clients.map(({ child, share }) =>
          share === 0 ? undefined : nextMessage(child, 'received', 60_000).catch(() => undefined),
        ),
      )
      srv.send({ type: 'broadcast', k })
      syncMs.push((await nextMessage(srv, 'broadcast')).syncMs)
      await received
    }
    const reports = await Promise.all(
      clients.map(({ child }) => {
        child.send({ type: 'report', broadcasts: BROADCASTS })
        return nextMessage(child, 'report')
      }),
    )
    const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b)
    return {
      variant,
      count,
      open: heap.open,
      openFailures,
      openMs: Math.round(openMs),
      heapPerConnection: (heap.heap - heap.baseHeap) / heap.open,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      syncMsMedian: syncMs.sort((a, b) => a - b)[Math.floor(syncMs.length / 2)],
      complete: reports.every((r) => r.complete) && latencies.length === heap.open * BROADCASTS,
      failures: reports.reduce((sum, r) => sum + r.failures, 0),
    }
  } finally {
    for (const child of children) child.kill('SIGKILL')
  }
}

async function main() {
  const counts = (process.argv[2] ?? '10000,25000,50000').split(',').map(Number)
  const fdLimit = Number(process.env.FD_LIMIT ?? Number.POSITIVE_INFINITY)
  const rows = []
  for (const count of counts) {
    // The server holds one descriptor per stream, plus a few: over the limit it cannot be measured.
    if (count + 256 > fdLimit) {
      rows.push({ count, skipped: `needs ${count + 256} file descriptors; this machine's limit is ${fdLimit}` })
      console.error(`[many-streams] ${count}: skipped (fd limit ${fdLimit})`)
      continue
    }
    for (const variant of ['bare', 'channel']) {
      const row = await measure(variant, count)
      rows.push(row)
      console.error(`[many-streams] ${JSON.stringify(row)}`)
    }
  }
  console.log('\n| streams | variant | open | heap/conn | vs bare | broadcast p50 | p99 | publish (sync) | complete |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const row of rows) {
    if (row.skipped) {
      console.log(`| ${row.count} | — | — | — | — | — | — | — | skipped: ${row.skipped} |`)
      continue
    }
    const bare = rows.find((r) => r.count === row.count && r.variant === 'bare')
    const ratio = bare && !bare.skipped ? (row.heapPerConnection / bare.heapPerConnection).toFixed(2) : '—'
    console.log(
      `| ${row.count} | ${row.variant} | ${row.open} | ${(row.heapPerConnection / 1024).toFixed(1)} KB | ${ratio}x | ` +
        `${row.p50.toFixed(0)} ms | ${row.p99.toFixed(0)} ms | ${row.syncMsMedian.toFixed(1)} ms | ` +
        `${row.complete && row.failures === 0 ? 'yes' : `NO (${row.failures} failures)`} |`,
    )
  }
}
