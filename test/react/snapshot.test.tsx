// Between two publishes `getSnapshot()` returns the very same object, however many messages were
// folded meanwhile: React neither re-renders nor warns ("The result of getSnapshot should be
// cached", "Maximum update depth exceeded", the AI SDK's bug), and no message is lost from the
// reduced state. Real node:http server on 127.0.0.1:0.

import { useEventStream } from '@sluice/react'
import { cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, expect, test, vi } from 'vitest'
import { type StreamServer, startStreamServer, trackTimers } from './helpers.js'

let server: StreamServer | undefined

afterEach(async () => {
  vi.restoreAllMocks()
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server?.close()
  server = undefined
})

const COUNT = 2000
let renders = 0
let handled = 0

function Sum({ url, throttle }: { url: string; throttle: number }) {
  renders++
  const { data, status } = useEventStream(url, {
    throttle,
    parse: Number,
    reduce: (sum: number, message) => sum + message.data,
    initialState: 0,
    onMessage: () => {
      handled++
    },
  })
  return <p data-testid="sum">{`${status} ${data}`}</p>
}

test('messages folded between publishes change nothing React can see; the next publish shows every one', async () => {
  server = await startStreamServer({
    onStream: (s) => {
      let chunk = ''
      for (let i = 1; i <= COUNT; i++) chunk += `data: ${i}\n\n`
      s.res.write(chunk)
    },
  })
  const errors = vi.spyOn(console, 'error')
  const timers = trackTimers()
  renders = 0
  handled = 0
  // A throttle far longer than the test: after `open`, nothing may be published.
  const view = render(<Sum url={server.url} throttle={120_000} />)
  await waitFor(() => expect(handled).toBe(COUNT))
  const rendersAtOpen = renders
  expect(screen.getByTestId('sum').textContent).toBe('open 0')
  // A short wait only to show that the folded messages do not render.
  await new Promise((resolve) => setTimeout(resolve, 100))
  expect(renders).toBe(rendersAtOpen)
  expect(rendersAtOpen).toBeLessThanOrEqual(3) // connecting, open (React may render a commit twice in dev)
  expect(timers.pending(100_000)).toHaveLength(1) // the one throttle timer waiting to publish (the client's idle timer is 60 s)

  // A lower throttle (no reconnect: throttle is not a connection option) publishes the next change.
  view.rerender(<Sum url={server.url} throttle={0} />)
  const stream = await server.nth(1)
  stream.send('1')
  await waitFor(() => expect(screen.getByTestId('sum').textContent).toBe(`open ${(COUNT * (COUNT + 1)) / 2 + 1}`))
  expect(server.accepted.length).toBe(1)
  expect(errors).not.toHaveBeenCalled()
  // Lowering the throttle rescheduled the pending publish: no 2-minute timer is left behind.
  expect(timers.pending(100_000)).toEqual([])
  view.unmount()
})

let rateRenders = 0
function Tally({ url }: { url: string }) {
  rateRenders++
  const { data, status } = useEventStream(url, {
    throttle: 'frame',
    parse: Number,
    done: (message) => message.event === 'end',
    reduce: (t: { count: number; sum: number }, message) => ({ count: t.count + 1, sum: t.sum + message.data }),
    initialState: { count: 0, sum: 0 },
  })
  return <p data-testid="tally">{`${status} ${data.count} ${data.sum}`}</p>
}

test("10 000 messages per second for a second: 'frame' renders at most ~60 times per second, every message folded", async () => {
  const TOTAL = 10_000
  const PER_MS = 10 // 10 000 per second, paced on the clock (not on timer ticks, which drift)
  let startedAt = 0
  let endedAt = 0
  server = await startStreamServer({
    onStream: (s) => {
      let sent = 0
      startedAt = Date.now()
      const timer = setInterval(() => {
        const due = Math.min(TOTAL, (Date.now() - startedAt) * PER_MS)
        let chunk = ''
        while (sent < due) chunk += `data: ${++sent}\n\n`
        if (chunk) s.res.write(chunk)
        if (sent >= TOTAL) {
          clearInterval(timer)
          endedAt = Date.now()
          s.send('', { event: 'end' })
        }
      }, 4)
      void s.closed.then(() => clearInterval(timer))
    },
  })
  rateRenders = 0
  render(<Tally url={server.url} />)
  await waitFor(
    () => expect(screen.getByTestId('tally').textContent).toBe(`closed ${TOTAL} ${(TOTAL * (TOTAL + 1)) / 2}`),
    {
      timeout: 10_000,
    },
  )
  const seconds = (endedAt - startedAt) / 1000
  const rate = Math.round(TOTAL / seconds)
  console.info(
    `frame at ${rate} msg/s: ${TOTAL} messages in ${seconds} s -> ${rateRenders} renders (${Math.round(rateRenders / seconds)}/s)`,
  )
  // One render per 16 ms frame at most, plus the lifecycle renders (connecting, open, closed) and
  // slack. The rate reached is logged, not asserted: speed belongs to the benchmarks.
  expect(rateRenders).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / 16) + 10)
})
