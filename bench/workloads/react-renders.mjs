// react-renders: 10,000 messages/s for 2 s from a loopback server into a React 19 component under
// jsdom (production React build), reducing every message into state. Counts renders (component
// calls) and commits, the client process's CPU time, and whether the final reduced state is
// complete (all 20,000 messages, in order: count and checksum).

import { fileURLToPath } from 'node:url'
import { HASH_SEED, mix } from '../lib/data.mjs'
import { now } from '../lib/measure.mjs'
import { startHelper } from '../lib/spawn.mjs'

export const title = 'react-renders — 10,000 messages/s for 2 s into a hook'
export const description =
  'A separate server process sends `{"s":n}` messages at 10,000/s for 2 s (10 ms batches) over SSE (Sluice) or WebSocket (react-use-websocket, on `ws`). The component reduces every message into `{ count, checksum }`; React 19 production build under jsdom (`pretendToBeVisual`, so `requestAnimationFrame` runs at ~60 Hz). "Verified" means the final reduced state holds every message in order; a state that missed messages is WRONG. CPU is the client process\'s user+system time from mount to the last message.'

const SERVER = fileURLToPath(new URL('../lib/paced-server.mjs', import.meta.url))
const RATE = 10_000
const SECONDS = 2

export const variants = [
  {
    id: 'r10k',
    label: '10,000 messages/s for 2 s',
    ratio: false,
    params: (scale) => ({ rate: RATE, seconds: Math.max(0.5, SECONDS * scale) }),
    rounds: 3,
    timeoutMs: 60_000,
    columns: [
      { key: 'renders', label: 'renders', kind: 'int' },
      { key: 'commits', label: 'commits', kind: 'int' },
      { key: 'finalCount', label: 'messages in final state', kind: 'int' },
      { key: 'cpuMs', label: 'client CPU', kind: 'ms' },
    ],
    goals: [
      {
        contestant: 'sluice-frame',
        text: 'final state complete and fewer renders than react-use-websocket (`onMessage`)',
        check: (s) => {
          const c = s['sluice-frame']
          const a = s['ruw-onmessage']
          if (!c?.allOk || !a) return false
          const ours = Math.max(...c.metric('renders'))
          const theirs = Math.min(...a.metric('renders'))
          return ours < theirs
        },
      },
    ],
    note: 'Sluice: `useEventStream(url, { parse: JSON.parse, reduce, initialState, throttle, done })`. react-use-websocket as its README shows it (`lastMessage` + a `useEffect` that reduces it) and with its `onMessage` option calling `setState(reduce)`. react-use-websocket commits every message with `flushSync`; with the README pattern the effect then sets state inside that synchronous commit, and at this rate React 19 aborts with error #185 ("Maximum update depth exceeded").',
  },
]

export function expected(params) {
  const total = Math.round(params.rate * params.seconds)
  let h = HASH_SEED
  for (let s = 0; s < total; s++) h = mix(h, s)
  return { count: total, checksum: h }
}

const initialState = { count: 0, checksum: HASH_SEED, last: -1 }
/** The reducer every contestant uses; out-of-order or missing messages change the checksum. */
const reduce = (state, s) => ({ count: state.count + 1, checksum: mix(state.checksum, s), last: s })

/**
 * Sets up jsdom and React, mounts `makeApp(React, hooks, report)`, and waits until the state holds
 * every message or nothing changed for 2 s after the server finished.
 */
async function mount(params, path, makeApp) {
  const { JSDOM } = await import('jsdom')
  const dom = new JSDOM('<!doctype html><div id="root"></div>', { pretendToBeVisual: true, url: 'http://127.0.0.1/' })
  // The hooks read these browser globals at run time only (never at import time).
  globalThis.window = dom.window
  globalThis.document = dom.window.document
  globalThis.requestAnimationFrame = dom.window.requestAnimationFrame.bind(dom.window)
  globalThis.cancelAnimationFrame = dom.window.cancelAnimationFrame.bind(dom.window)
  globalThis.IS_REACT_ACT_ENVIRONMENT = false
  const React = await import('react')
  const { createRoot } = await import('react-dom/client')
  const server = await startHelper(SERVER, [String(params.rate), String(params.seconds)])
  const url = `http://127.0.0.1:${server.ready}${path}`
  const total = Math.round(params.rate * params.seconds)
  const stats = { renders: 0, commits: 0, state: initialState }
  let settle
  const settled = new Promise((r) => {
    settle = r
  })
  let lastChange = now()
  const report = (state) => {
    if (state !== stats.state) lastChange = now()
    stats.state = state
    if (state.count >= total) settle()
  }
  const App = makeApp(React, url, stats, report)
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const root = createRoot(document.getElementById('root'))
  root.render(React.createElement(App))
  // Bounded wait: complete, or quiet for 2 s once the stream had time to finish, or 30 s overall.
  const quiet = setInterval(() => {
    if (now() - t0 > params.seconds * 1000 + 2000 && now() - lastChange > 2000) settle()
    if (now() - t0 > 30_000) settle()
  }, 50)
  await settled
  clearInterval(quiet)
  const cpu = process.cpuUsage(cpu0)
  const ms = now() - t0
  root.unmount()
  await server.stop()
  dom.window.close()
  const s = stats.state
  return {
    count: s.count,
    checksum: s.checksum,
    finalCount: s.count,
    renders: stats.renders,
    commits: stats.commits,
    cpuMs: (cpu.user + cpu.system) / 1000,
    ms,
  }
}

const sluice = (throttle) => async (params) => {
  const { useEventStream } = await import('@sluice/react')
  return mount(params, '/sse', (React, url, stats, report) => () => {
    stats.renders++
    const { data } = useEventStream(url, {
      parse: JSON.parse,
      done: (m) => m.event === 'end',
      retry: false,
      throttle,
      initialState,
      reduce: (state, m) => reduce(state, m.data.s),
    })
    React.useLayoutEffect(() => {
      stats.commits++
      report(data)
    })
    return React.createElement('output', null, String(data.count))
  })
}

const ruw = (mode) => async (params) => {
  const mod = await import('react-use-websocket')
  const useWebSocket = mod.default.default ?? mod.default
  // react-use-websocket uses the global WebSocket (browsers have one; Node 20 does not).
  globalThis.WebSocket = (await import('ws')).WebSocket
  return mount(params, '/ws', (React, url, stats, report) => () => {
    stats.renders++
    const [state, setState] = React.useState(initialState)
    const onMessage =
      mode === 'onmessage'
        ? (e) => {
            const m = JSON.parse(e.data)
            if (m !== 'end') setState((st) => reduce(st, m.s))
          }
        : undefined
    const { lastMessage } = useWebSocket(url, onMessage ? { onMessage } : {})
    React.useEffect(() => {
      if (mode !== 'lastmessage' || !lastMessage) return
      const m = JSON.parse(lastMessage.data)
      if (m !== 'end') setState((st) => reduce(st, m.s))
    }, [lastMessage])
    React.useLayoutEffect(() => {
      stats.commits++
      report(state)
    })
    return React.createElement('output', null, String(state.count))
  })
}

export const contestants = [
  {
    id: 'sluice-frame',
    label: "**Sluice `useEventStream` (`throttle: 'frame'`, the default)**",
    kind: 'sluice',
    run: sluice('frame'),
  },
  { id: 'sluice-50', label: '**Sluice `useEventStream` (`throttle: 50`)**', kind: 'sluice', run: sluice(50) },
  {
    id: 'ruw-lastmessage',
    label: '`react-use-websocket` (`lastMessage` + `useEffect`, as in its README)',
    kind: 'anchor',
    run: ruw('lastmessage'),
  },
  {
    id: 'ruw-onmessage',
    label: '`react-use-websocket` (`onMessage` → `setState`)',
    kind: 'anchor',
    run: ruw('onmessage'),
  },
]
