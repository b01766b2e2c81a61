// bundle-size: minified + gzipped size (measured as size-limit's rolldown preset does, every dependency
// bundled, peers ignored) of each package's main entry and of minimal imports, next to the anchors.
// Deterministic, so it runs once (not in rounds). Each entry is bundled on its own,
// so one entry that cannot be bundled (e.g. an export that does not exist yet) is a row, not a crash.

import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureSize, sizeErrorMessage } from '../lib/size.mjs'

export const title = 'bundle size — minified + gzip'
export const description =
  'Measured the way size-limit\'s `@size-limit/preset-small-lib` measures (rolldown, minified, tree-shaken, every dependency bundled, each file gzipped at level 9, the 34-byte empty-import overhead subtracted) by `bench/lib/size.mjs`, because **size-limit 14 does not run on Node 20** (it imports `glob` from `node:fs/promises`, added in Node 22). "Minimal import" means a bundle whose only code is `import { X } from ...` plus a use of X, so tree-shaking removes the rest. React is a peer dependency and is not counted; Node built-ins and `ws` are not counted for the server kit (it runs on servers; the number is for reference). The same Sluice entries, with budgets, are in the root `.size-limit.json`: `node bench/size-check.mjs` checks them on Node 20 (and `npx size-limit` reads the same file on Node 22+).'

const root = fileURLToPath(new URL('../..', import.meta.url))
const work = join(root, 'bench', '.tmp', 'size')
const pkgFile = (p) => fileURLToPath(import.meta.resolve(p))
const NODE_BUILTINS = [
  'node:http',
  'node:http2',
  'node:stream',
  'node:events',
  'node:crypto',
  'node:buffer',
  'node:net',
  'node:url',
  'ws',
]
const REACT = ['react', 'react-dom']

/** Sluice entries: also the checks of the root `.size-limit.json` (with `limit`). */
export const SLUICE_ENTRIES = [
  { name: '@sluice/client (whole entry)', path: 'packages/client/dist/index.js', import: '*', limit: '12 kB' },
  {
    name: '@sluice/client { createEventStream }',
    path: 'packages/client/dist/index.js',
    import: '{ createEventStream }',
    limit: '3.7 kB',
    goal: 3700,
    below: 'eventsource',
  },
  {
    name: '@sluice/client { readEventStream }',
    path: 'packages/client/dist/index.js',
    import: '{ readEventStream }',
    limit: '3 kB',
  },
  {
    name: '@sluice/client { readNdjson }',
    path: 'packages/client/dist/index.js',
    import: '{ readNdjson }',
    limit: '2.5 kB',
  },
  {
    name: '@sluice/client { createSocket }',
    path: 'packages/client/dist/index.js',
    import: '{ createSocket }',
    limit: '6 kB',
  },
  {
    name: '@sluice/react (whole entry)',
    path: 'packages/react/dist/index.js',
    import: '*',
    ignore: REACT,
    limit: '16 kB',
  },
  {
    name: '@sluice/react { useEventStream }',
    path: 'packages/react/dist/index.js',
    import: '{ useEventStream }',
    ignore: REACT,
    limit: '6.2 kB',
    below: 'react-use-websocket',
  },
  {
    name: '@sluice/react { useSocket }',
    path: 'packages/react/dist/index.js',
    import: '{ useSocket }',
    ignore: REACT,
    limit: '6.2 kB',
    below: 'react-use-websocket',
  },
  {
    name: '@sluice/server-kit (whole entry)',
    path: 'packages/server-kit/dist/index.js',
    import: '*',
    ignore: NODE_BUILTINS,
    limit: '14 kB',
  },
]

const ANCHORS = [
  {
    id: 'eventsource',
    name: '`eventsource` { EventSource }',
    path: () => pkgFile('eventsource'),
    import: '{ EventSource }',
  },
  {
    name: '`@microsoft/fetch-event-source` { fetchEventSource }',
    path: () => join(root, 'node_modules/@microsoft/fetch-event-source/lib/esm/index.js'),
    import: '{ fetchEventSource }',
  },
  {
    name: '`eventsource-parser` { createParser }',
    path: () => pkgFile('eventsource-parser'),
    import: '{ createParser }',
  },
  {
    id: 'react-use-websocket',
    name: '`react-use-websocket` (default hook)',
    path: () => pkgFile('react-use-websocket'),
    import: 'useWebSocket',
    ignore: REACT,
  },
  { name: '`partysocket` { WebSocket }', path: () => pkgFile('partysocket'), import: '{ WebSocket }' },
  { name: '`partysocket` (whole entry)', path: () => pkgFile('partysocket'), import: '*' },
]

let seq = 0
/** One entry, measured by `lib/size.mjs` (size-limit's method; size-limit itself needs Node 22). */
function measureEntry(entry) {
  const path = typeof entry.path === 'function' ? entry.path() : join(root, entry.path)
  return measureSize({ path, import: entry.import, ignore: entry.ignore }, root, join(work, String(seq++)))
}

const kb = (b) => `${(b / 1000).toFixed(2)} kB`

const clean = (error) => `could not bundle: ${sizeErrorMessage(error).replaceAll('|', '/')}`

export async function standalone() {
  mkdirSync(work, { recursive: true })
  const anchors = {}
  const anchorRows = []
  for (const a of ANCHORS) {
    let cell
    try {
      const size = await measureEntry(a)
      if (a.id) anchors[a.id] = size
      cell = kb(size)
    } catch (error) {
      cell = clean(error)
    }
    anchorRows.push(`| ${a.name} | ${cell} | | |`)
  }
  const allGoals = []
  const lines = ['| Entry | min + gzip | Budget in `.size-limit.json` | Goal |', '|---|---|---|---|']
  for (const e of SLUICE_ENTRIES) {
    let size
    let cell
    try {
      size = await measureEntry(e)
      cell = kb(size)
    } catch (error) {
      cell = clean(error)
    }
    const goals = []
    if (e.goal)
      goals.push({
        text: `< ${kb(e.goal)} (the issue's figure for \`eventsource\`)`,
        met: size !== undefined && size < e.goal,
      })
    if (e.below) {
      const ref = anchors[e.below]
      goals.push({
        text: `< \`${e.below}\` measured here (${ref === undefined ? '?' : kb(ref)})`,
        met: size !== undefined && ref !== undefined && size < ref,
      })
    }
    const goalCell = goals.map((g) => `${g.text}: **${g.met ? 'met' : 'NOT met'}**`).join('; ')
    lines.push(`| **${e.name}** | ${cell} | ${e.limit} | ${goalCell} |`)
    for (const g of goals) allGoals.push({ label: e.name, ...g })
  }
  return { markdown: [...lines, ...anchorRows].join('\n'), goals: allGoals }
}

/** Writes the root `.size-limit.json` from SLUICE_ENTRIES (run `node bench/workloads/bundle-size.mjs`). */
export function writeRootConfig() {
  const checks = SLUICE_ENTRIES.map((e) => ({
    name: e.name,
    path: e.path,
    import: e.import,
    ...(e.ignore ? { ignore: e.ignore } : {}),
    gzip: true,
    limit: e.limit,
  }))
  writeFileSync(join(root, '.size-limit.json'), `${JSON.stringify(checks, null, 2)}\n`)
}
