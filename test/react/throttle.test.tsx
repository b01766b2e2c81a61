import { type Throttle, useEventStream, useSocket } from '@sluice/react'
import { cleanup, render, screen, waitFor } from '@testing-library/react'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { WebSocket } from 'ws'
import { type SocketServer, type StreamServer, startSocketServer, startStreamServer } from './helpers.js'

const TOTAL = 10_000
const BATCHES = 100
const BATCH_GAP_MS = 12 // 100 batches of 100 messages, one every 12 ms: ~1.2 s, ~8 000 messages/s
const EXPECTED_SUM = (TOTAL * (TOTAL - 1)) / 2

let server: SocketServer
let firstSentAt = 0
let lastSentAt = 0

beforeEach(async () => {
  server = await startSocketServer({
    onMessage: (socket) => {
      // Any message from the client starts the burst; paced by the server, bounded in count.
      let next = 0
      firstSentAt = Date.now()
      const timer = setInterval(() => {
        for (let i = 0; i < TOTAL / BATCHES; i++) socket.send(JSON.stringify({ n: next++ }))
        if (next >= TOTAL) {
          clearInterval(timer)
          lastSentAt = Date.now()
        }
      }, BATCH_GAP_MS)
      socket.once('close', () => clearInterval(timer))
    },
  })
})
afterEach(async () => {
  cleanup() // testing-library only registers its own cleanup when Vitest globals are on
  await server.close()
})

type Tally = { count: number; sum: number; inOrder: boolean; last: number }
let renders = 0

function Counter({ url, throttle }: { url: string; throttle: Throttle }) {
  renders++
  const { status, data, send } = useSocket<{ n: number }, string, Tally>(url, {
    WebSocket,
    throttle,
    onOpen: () => send('go'),
    reduce: (t, m) => ({ count: t.count + 1, sum: t.sum + m.n, inOrder: t.inOrder && m.n === t.last + 1, last: m.n }),
    initialState: { count: 0, sum: 0, inOrder: true, last: -1 },
  })
  return <p data-testid="tally">{`${status} ${data.count} ${data.sum} ${data.inOrder}`}</p>
}

function SseCounter({ url, throttle }: { url: string; throttle: Throttle }) {
  renders++
  const { status, data } = useEventStream(url, {
    throttle,
    parse: Number,
    done: (message) => message.event === 'end',
    reduce: (t: Tally, m) => ({
      count: t.count + 1,
      sum: t.sum + m.data,
      inOrder: t.inOrder && m.data === t.last + 1,
      last: m.data,
    }),
    initialState: { count: 0, sum: 0, inOrder: true, last: -1 },
  })
  return <p data-testid="tally">{`${status} ${data.count} ${data.sum} ${data.inOrder}`}</p>
}

describe('throttle at a high message rate', () => {
  test('SSE, throttle 50: renders stay near duration / 50 ms and every event is reduced', async () => {
    let sse: StreamServer | undefined
    try {
      sse = await startStreamServer({
        onStream: (stream) => {
          let next = 0
          firstSentAt = Date.now()
          const timer = setInterval(() => {
            let chunk = ''
            for (let i = 0; i < TOTAL / BATCHES; i++) chunk += `data: ${next++}\n\n`
            stream.res.write(chunk)
            if (next >= TOTAL) {
              clearInterval(timer)
              lastSentAt = Date.now()
              stream.send('', { event: 'end' })
            }
          }, BATCH_GAP_MS)
          void stream.closed.then(() => clearInterval(timer))
        },
      })
      renders = 0
      render(<SseCounter url={sse.url} throttle={50} />)
      await waitFor(
        () => expect(screen.getByTestId('tally').textContent).toBe(`closed ${TOTAL} ${EXPECTED_SUM} true`),
        {
          timeout: 10_000,
        },
      )
      const duration = lastSentAt - firstSentAt
      const bound = Math.ceil(duration / 50) + 10
      console.info(
        `SSE throttle 50: ${TOTAL} events over ${duration} ms -> ${renders} renders (bound ${bound}, ${Math.round(
          TOTAL / renders,
        )} events per render)`,
      )
      expect(renders).toBeLessThanOrEqual(bound)
    } finally {
      await sse?.close()
    }
  })

  for (const [throttle, interval] of [
    [50, 50],
    ['frame', 16],
  ] as const) {
    test(`throttle ${throttle}: renders stay near duration / ${interval} ms and every message is reduced`, async () => {
      renders = 0
      render(<Counter url={server.url} throttle={throttle} />)
      await waitFor(() => expect(screen.getByTestId('tally').textContent).toBe(`open ${TOTAL} ${EXPECTED_SUM} true`), {
        timeout: 10_000,
      })
      const duration = lastSentAt - firstSentAt
      // At most one data render per interval (plus the trailing one), a few lifecycle renders
      // (connecting, open), and slack for timer drift on a loaded machine.
      const bound = Math.ceil(duration / interval) + 10
      console.info(
        `throttle ${throttle}: ${TOTAL} messages over ${duration} ms -> ${renders} renders (bound ${bound}, ${Math.round(
          TOTAL / renders,
        )} messages per render)`,
      )
      expect(renders).toBeLessThanOrEqual(bound)
      expect(renders).toBeLessThan(TOTAL / 20)
    })
  }
})
