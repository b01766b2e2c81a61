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
