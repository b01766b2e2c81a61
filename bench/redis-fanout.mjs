// Fan-out through Redis across three instances, next to the single-process channel.
//
//   node bench/redis-fanout.mjs [messages] [subscribersPerInstance]     (defaults 6000, 100)
//
// - single: one server process, a channel on the default memory store; it publishes every message.
// - redis:  a redis-server started here (loopback, no persistence) and three server processes, each
//           with a channel on createRedisStore (same key); each publishes a third of the messages,
//           concurrently, so the stream interleaves all three.
// Both have the same total number of SSE subscribers (3 x subscribersPerInstance; in `single` they
// all connect to the one process), read by client processes with eventsource-parser. A publisher
// keeps at most 64 publishes in flight. Reported: throughput (messages published and delivered to
// every subscriber, per second, from the first publish to the last delivery), and the latency from
// publish to arrival (p50/p99 over every delivery). Every subscriber checks it received every
// message once and all subscribers saw the same order (count + checksum), else the row says WRONG.
//
// Needs the built packages and redis-server (Debian package) on the PATH.

import { fork, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const self = fileURLToPath(import.meta.url)
const role = process.argv[2]
const now = () => performance.timeOrigin + performance.now()
const INFLIGHT = 64
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

if (role === 'server') await server()
else if (role === 'client') await client()
else await main()

// ---------------------------------------------------------------------------------------------
async function server() {
  const { createChannel, sendEventStream } = await import('@sluice/server-kit')
  const { REDIS_URL, STREAM_KEY, INDEX } = process.env
  let channel
  let redis
  if (REDIS_URL) {
    const { createClient } = await import('redis')
    const { createRedisStore } = await import('@sluice/server-kit/redis')
    redis = createClient({ url: REDIS_URL })
    redis.on('error', (error) => console.error(`[redis-fanout ${INDEX}]`, error.message))
    await redis.connect()
    const store = createRedisStore({ client: redis, key: STREAM_KEY, maxLength: 100_000 })
    channel = createChannel({ store })
    await store.ready
  } else {
    channel = createChannel({ store: undefined })
  }
  const http = createServer((req, res) => {
    void sendEventStream(req, res, (ctx) => channel.subscribe(ctx))
  })
  http.listen(0, '127.0.0.1', 1024)
  await once(http, 'listening')
  process.on('message', async (message) => {
    if (message.type === 'count') process.send({ type: 'count', open: channel.subscriberCount })
    else if (message.type === 'publish') {
      let failed = 0
      const inflight = new Set()
      const interval = message.rate > 0 ? 1000 / message.rate : 0
      const start = now()
      for (let s = 0; s < message.count; s++) {
        if (interval > 0) {
          // Paced: message s leaves at start + s * interval (no drift from slow iterations).
          const wait = start + s * interval - now()
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        }
        const published = Promise.resolve(channel.publish(JSON.stringify({ p: Number(INDEX), s, t: now() })))
          .catch(() => {
            failed++
          })
          .finally(() => inflight.delete(published))
        inflight.add(published)
        if (inflight.size >= INFLIGHT) await Promise.race(inflight)
        // A memory store publishes synchronously: let the sockets drain between batches, as a real
        // publisher (requests, a queue consumer) would, instead of filling every subscriber's queue.
        if (s % INFLIGHT === INFLIGHT - 1) await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(inflight)
      process.send({ type: 'published', failed })
    } else if (message.type === 'exit') {
      channel.close()
      redis?.destroy()
      process.exit(0)
    }
  })
  process.send({ type: 'ready', port: http.address().port })
}

// ---------------------------------------------------------------------------------------------
async function client() {
  const { createParser } = await import('eventsource-parser')
  const [port, count, expected] = process.argv.slice(3).map(Number)
  // Latency histogram in 0.1 ms buckets up to 30 s: bounded memory whatever the message count.
  const histogram = new Uint32Array(300_000)
  const streams = []
  let done = 0
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const state = { received: 0, hash: createHash('sha256'), seen: new Set(), duplicates: 0 }
          streams.push(state)
          get({ host: '127.0.0.1', port, path: '/events', agent: false }, (response) => {
            const parser = createParser({
              onEvent(event) {
                const at = now()
                const { p, s, t } = JSON.parse(event.data)
                const key = `${p}:${s}`
                if (state.seen.has(key)) state.duplicates++
                state.seen.add(key)
                state.hash.update(`${event.id} ${key}\n`)
                histogram[Math.min(histogram.length - 1, Math.max(0, Math.round((at - t) * 10)))]++
                if (++state.received === expected) {
                  done++
                  if (done === count) process.send({ type: 'complete', at })
                }
              },
            })
            response.setEncoding('utf8')
            response.on('data', (chunk) => parser.feed(chunk))
            // A stream the server ended early (e.g. as a slow consumer) can never complete: report
            // it, so the run ends and says WRONG instead of waiting for the timeout.
            response.on('close', () => {
              if (state.received < expected) {
                state.ended = true
                if (++done === count) process.send({ type: 'complete', at: now() })
              }
            })
            resolve()
          }).on('error', reject)
        }),
    ),
  )
  process.send({ type: 'open' })
  process.on('message', (message) => {
    if (message.type !== 'report') return
    const checksums = new Set(streams.map((s) => s.hash.digest('hex')))
    process.send({
      type: 'report',
      histogram: Array.from(histogram.entries()).filter(([, n]) => n > 0),
      counts: streams.map((s) => s.received),
      duplicates: streams.reduce((sum, s) => sum + s.duplicates, 0),
      ended: streams.filter((s) => s.ended).length,
      checksums: [...checksums],
    })
  })
}

// ---------------------------------------------------------------------------------------------
function nextMessage(child, type, timeoutMs = 120_000) {
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

async function freePort() {
  const probe = createNetServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address()
  probe.close()
  await once(probe, 'close')
  return port
}

async function startRedis() {
  const port = await freePort()
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let out = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000)
    proc.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        proc.stdout.resume()
        resolve()
      }
    })
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)))
  })
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') }
}

function percentileOf(histogram, total, p) {
  let seen = 0
  for (const [bucket, n] of histogram) {
    seen += n
    if (seen >= (p / 100) * total) return bucket / 10
  }
  return Number.NaN
}

async function measure(variant, messages, perInstance, round, rate) {
  const children = []
  let redis
  try {
    const instanceCount = variant === 'redis' ? 3 : 1
    const env = { ...process.env }
    if (variant === 'redis') {
      redis = await startRedis()
      env.REDIS_URL = redis.url
      env.STREAM_KEY = `bench:${process.pid}:${round}`
    }
    const servers = []
    for (let i = 0; i < instanceCount; i++) {
      const child = fork(self, ['server'], {
        env: { ...env, INDEX: String(i) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      children.push(child)
      servers.push({ child, port: (await nextMessage(child, 'ready', 30_000)).port })
    }
    const subscribers = 3 * perInstance
    // One client process per 100 subscribers' worth of instance; in `single` all go to one server.
    const clients = []
    for (let i = 0; i < 3; i++) {
      const target = servers[i % servers.length]
      const child = fork(self, ['client', String(target.port), String(perInstance), String(messages)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      children.push(child)
      clients.push(child)
    }
    await Promise.all(clients.map((c) => nextMessage(c, 'open', 60_000)))
    for (const { child } of servers) {
      for (;;) {
        child.send({ type: 'count' })
        const { open } = await nextMessage(child, 'count')
        if (open >= subscribers / servers.length) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    const complete = Promise.all(clients.map((c) => nextMessage(c, 'complete')))
    const started = now()
    const shares = servers.map(
      (_, i) => Math.floor(messages / servers.length) + (i < messages % servers.length ? 1 : 0),
    )
    const published = await Promise.all(
      servers.map(({ child }, i) => {
        child.send({ type: 'publish', count: shares[i], rate: rate / servers.length })
        return nextMessage(child, 'published')
      }),
    )
    const finished = Math.max(...(await complete).map((c) => c.at))
    const reports = await Promise.all(
      clients.map((c) => {
        c.send({ type: 'report' })
        return nextMessage(c, 'report')
      }),
    )
    const merged = new Map()
    for (const r of reports) for (const [bucket, n] of r.histogram) merged.set(bucket, (merged.get(bucket) ?? 0) + n)
    const histogram = [...merged.entries()].sort((a, b) => a[0] - b[0])
    const total = histogram.reduce((sum, [, n]) => sum + n, 0)
    const checksums = new Set(reports.flatMap((r) => r.checksums))
    const ok =
      published.every((p) => p.failed === 0) &&
      reports.every((r) => r.counts.every((n) => n === messages) && r.duplicates === 0 && r.ended === 0) &&
      checksums.size === 1 &&
      total === messages * subscribers
    return {
      variant,
      round,
      rate,
      messages,
      subscribers,
      ms: finished - started,
      throughput: messages / ((finished - started) / 1000),
      p50: percentileOf(histogram, total, 50),
      p99: percentileOf(histogram, total, 99),
      ok,
    }
  } finally {
    for (const child of children) child.kill('SIGKILL')
    redis?.stop()
  }
}

async function main() {
  const messages = Number(process.argv[2] ?? 6000)
  const perInstance = Number(process.argv[3] ?? 100)
  // Burst: as fast as the publishers go (throughput). Paced: a steady 200 msg/s in total, far
  // below saturation, for the latency a user sees (under saturation latency is only queueing).
  const modes = [
    { name: 'burst', rate: 0, messages },
    { name: 'paced 200 msg/s', rate: 200, messages: Math.min(messages, 1000) },
  ]
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const lines = []
  for (const mode of modes) {
    const rows = []
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved: the machine's load drifts over the run.
      for (const variant of round % 2 === 0 ? ['single', 'redis'] : ['redis', 'single']) {
        const row = await measure(variant, mode.messages, perInstance, round, mode.rate)
        rows.push(row)
        console.error(`[redis-fanout ${mode.name}] ${JSON.stringify(row)}`)
      }
    }
    lines.push(
      '',
      `${mode.name}: ${mode.messages} messages to ${3 * perInstance} SSE subscribers, median of ${ROUNDS} rounds (min–max)`,
      '',
      '| variant | throughput (msg/s to all) | deliveries/s | p50 | p99 | verified |',
      '|---|---|---|---|---|---|',
    )
    for (const variant of ['single', 'redis']) {
      const mine = rows.filter((r) => r.variant === variant)
      const tp = mine.map((r) => r.throughput)
      lines.push(
        `| ${variant === 'single' ? 'one process, memory store' : 'three instances, Redis store'} | ` +
          `${median(tp).toFixed(0)} (${Math.min(...tp).toFixed(0)}–${Math.max(...tp).toFixed(0)}) | ` +
          `${(median(tp) * 3 * perInstance).toFixed(0)} | ${median(mine.map((r) => r.p50)).toFixed(1)} ms | ` +
          `${median(mine.map((r) => r.p99)).toFixed(1)} ms | ${mine.every((r) => r.ok) ? 'yes' : 'WRONG'} |`,
      )
    }
  }
  console.log(lines.join('\n'))
}
