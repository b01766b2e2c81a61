// bundle-size: minified + gzipped size of each package's main entry and of minimal imports, next to
// the anchors, measured with size-limit itself (its preset-small-lib: esbuild, minified,
// tree-shaken, every dependency bundled except `ignore`, gzip). The Sluice entries and their
// budgets are the root `.size-limit.json` (what `npm test` checks); the anchors are measured the
// same way from a scratch config. Deterministic, so it runs once (not in rounds).

import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const title = 'bundle size — minified + gzip'
export const description =
  'Measured with size-limit (`@size-limit/preset-small-lib`: esbuild, minified, tree-shaken, every dependency bundled, gzip). The Sluice rows are the checks of the root `.size-limit.json` (run by `npm test`, with their budgets); the anchors are measured by the same tool. "Minimal import" means a bundle whose only code is `import { X } from ...` plus a use of X, so tree-shaking removes the rest. React is a peer dependency and is not counted; Node built-ins, `ws` and `redis` are not counted for the server kit.'

const root = fileURLToPath(new URL('../..', import.meta.url))
const work = join(root, 'bench', '.tmp', 'size')
const bin = join(root, 'node_modules', 'size-limit', 'bin.js')
const pkgFile = (p) => fileURLToPath(import.meta.resolve(p))
const REACT = ['react', 'react-dom']

/** Goals of issue 6, by `.size-limit.json` check name. */
const GOALS = {
  '@sluice/client { createEventStream }': { max: 3700, below: 'eventsource' },
  '@sluice/react { useEventStream }': { below: 'react-use-websocket' },
  '@sluice/react { useSocket }': { below: 'react-use-websocket' },
}

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

const run = promisify(execFile)

/** Runs size-limit --json in `cwd`; returns its array (it exits 1 when a limit fails, still with JSON). */
async function sizeLimit(cwd) {
  try {
    const { stdout } = await run(process.execPath, [bin, '--json'], { cwd, timeout: 300_000, maxBuffer: 1e7 })
    return JSON.parse(stdout)
  } catch (error) {
    try {
      return JSON.parse(error.stdout)
    } catch {
      // Not JSON: size-limit failed outright; its own message says why.
      throw new Error(`${error.stderr || error.stdout || error}`.trim().split('\n')[0])
    }
  }
}

/** One anchor in a scratch project (size-limit loads the plugins named in its package.json). */
async function measureAnchor(anchor, i) {
  const dir = join(work, String(i))
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ private: true, devDependencies: { '@size-limit/preset-small-lib': '*' } }),
  )
  const check = { name: anchor.name, path: relative(dir, anchor.path()), import: anchor.import, gzip: true }
  if (anchor.ignore) check.ignore = anchor.ignore
  writeFileSync(join(dir, '.size-limit.json'), JSON.stringify([check]))
  const [res] = await sizeLimit(dir)
  return res
}

const kb = (b) => `${(b / 1000).toFixed(2)} kB`
const cellOf = (res) =>
  typeof res?.size === 'number'
    ? kb(res.size)
    : `could not bundle: ${String(res?.message ?? res?.error ?? 'no result').slice(0, 160)}`

export async function standalone() {
  mkdirSync(work, { recursive: true })
  const anchors = {}
  const anchorRows = []
  for (const [i, a] of ANCHORS.entries()) {
    let res
    try {
      res = await measureAnchor(a, i)
    } catch (error) {
      res = { error: error.message }
    }
    if (a.id && typeof res?.size === 'number') anchors[a.id] = res.size
    anchorRows.push(`| ${a.name} | ${cellOf(res)} | | |`)
  }
  const checks = JSON.parse(readFileSync(join(root, '.size-limit.json'), 'utf8'))
  const results = await sizeLimit(root)
  const lines = ['| Entry | min + gzip | Budget in `.size-limit.json` | Goal (issue 6) |', '|---|---|---|---|']
  const goals = []
  for (const check of checks) {
    const res = results.find((r) => r.name === check.name)
    const size = res?.size
    const rowGoals = []
    const g = GOALS[check.name]
    if (g?.max) rowGoals.push({ text: `< ${kb(g.max)} (the issue's figure for \`eventsource\`)`, met: size < g.max })
    if (g?.below) {
      const ref = anchors[g.below]
      rowGoals.push({
        text: `< \`${g.below}\` measured here (${ref === undefined ? '?' : kb(ref)})`,
        met: ref !== undefined && size < ref,
      })
    }
    for (const x of rowGoals) goals.push({ label: check.name, ...x })
    const goalCell = rowGoals.map((x) => `${x.text}: **${x.met ? 'met' : 'NOT met'}**`).join('; ')
    const budget = `${check.limit ?? '–'}${res && res.passed === false ? ' (**over budget**)' : ''}`
    lines.push(`| **${check.name}** | ${cellOf(res)} | ${budget} | ${goalCell} |`)
  }
  return { markdown: [...lines, ...anchorRows].join('\n'), goals }
}
