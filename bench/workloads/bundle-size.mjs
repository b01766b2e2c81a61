// bundle-size: minified + gzipped size of each package's main entry and of minimal imports, next to
// the anchors, measured with size-limit itself (its preset-small-lib: esbuild, minified,
// tree-shaken, every dependency bundled except `ignore`, gzip). The Sluice entries and their
// budgets are the root `.size-limit.json` (what `npm test` checks); the anchors are measured the
// same way from a scratch config. Deterministic, so it runs once (not in rounds). The entries whose
// goals are not met are then rebuilt with esbuild's metafile to show which module the bytes come from.

import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'

export const title = 'bundle size — minified + gzip'
export const description =
  'Measured with size-limit (`@size-limit/preset-small-lib`: esbuild, minified, tree-shaken, every dependency bundled, gzip). The Sluice rows are the checks of the root `.size-limit.json` (run by `npm test`, with their budgets); the anchors are measured by the same tool. "Minimal import" means a bundle whose only code is `import { X } from ...` plus a use of X, so tree-shaking removes the rest. React is a peer dependency and is not counted; Node built-ins, `ws` and `redis` are not counted for the server kit. For the entries whose goals are not met, "Where the bytes go" breaks each bundle down per source module.'

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

/** The checks whose goals are not met today: their bundles are broken down per source module. */
const ATTRIBUTED = [
  '@sluice/client { createEventStream }',
  '@sluice/react { useEventStream }',
  '@sluice/react { useSocket }',
]

/**
 * What each module of those bundles carries, keyed by its path without `packages/` and without the
 * `src`/`dist` part and extension (the react bundles take `@sluice/client` from its sources, see
 * the attribution note). Written by reading the module: one line each, so a reader sees what would
 * have to go to reach a goal. A module missing here shows "–" (update this table when adding one).
 */
const FEATURES = {
  'client/connection/connection':
    'ConnectionCore: status snapshot + subscribe/listen, bounded per-loop `for await` buffers, attempt lifecycle, backoff and minUptime timers, abort signal and `online` listeners',
  'client/connection/http':
    'fetch attempt: request validation, async/fresh headers, media-type and status classification (5xx/408/429 retry, 204 close), idle timeout, network-error mapping',
  'client/connection/retry':
    'RetryPolicy: exponential full-jitter backoff, maxAttempts, minUptime reset; `Retry-After` parsing (HTTP entries only)',
  'client/connection/decode': '`parse` then Standard Schema validation (sync or async), errors as ValidationError',
  'client/connection/machine': 'the one reducer of connection status transitions (connecting/open/reconnecting/closed)',
  'client/errors':
    'the error classes this entry throws (of SluiceError, Http, ContentType, NdjsonSyntax, LimitExceeded, Timeout, Validation), each with its message',
  'client/define': 'only what the connection keeps of `defineEvents` typed decoding (the rest is shaken out)',
  'client/resume': 'resumable streams: load/store the resume point in sessionStorage-like storage',
  'client/event-stream':
    'createEventStream: request building, non-GET retry rule, resumable-stream protocol (id header, start/end events, storage), typed events, `done` predicate, Last-Event-ID tracking per handled message',
  'client/parse/event-stream':
    'readEventStream: per-chunk decode and feed of eventsource-parser, `maxMessageSize` cut, spec last-event-id buffer (id moves), `retry`/comment callbacks',
  'client/parse/event-stream-scan':
    'byte-level line scan next to eventsource-parser: `maxMessageSize` in bytes, `id:` of data-less blocks, BOM split across chunks',
  'client/parse/chunks':
    'one owner of the stream reader (Response or stream, string chunks encoded, cancel on every exit), BatchIterator (abort signal)',
  'client/parse/limit': 'validation of size-limit options',
  'client/socket':
    'createSocket: WebSocket lookup, bounded send queue, serialize/parse, heartbeat ping/pong timeout, connect timeout, close/error classification, typed envelopes',
  'eventsource-parser':
    'spec SSE line parser (fields, CR/LF/CRLF, `retry`, comments, BOM); the whole createParser is one closure, so nothing is shaken out',
  partysocket:
    'ReconnectingWebSocket: Event/CloseEvent/ErrorEvent shims, URL/protocol providers, connect timeout, listener swapping; its own backoff, retry counter, message queue and debug logging ship although Sluice sets `maxRetries: 0` (class methods are not tree-shaken)',
  'react/store':
    'StreamStore (`useSyncExternalStore`): folds every message, publishes throttled snapshots (`frame` via requestAnimationFrame or a 16 ms timer, or N ms)',
  'react/use-connection':
    'the base hook: option split, connection identity as effect dependency, callback refs, `throwOnError`, memoised result',
  'react/options':
    'connection identity by value: stable serialisation of options (plain objects, bytes, Blob/FormData/class ids via WeakMap), which options are refs',
  'react/shared':
    'shared connections by `key` (registry, members, StrictMode-safe deferred dispose), `pauseWhenHidden` visibilitychange listener',
  'react/types': 'the set of option names only the hooks read',
  'react/use-event-stream':
    'useEventStream: resume-point tracking across replaced connections, default fold (last message)',
  'react/use-socket': 'useSocket: default fold (last message), `send`',
}

/** The esbuild that size-limit's esbuild plugin uses (a dependency of that plugin, not of the repo). */
async function loadEsbuild() {
  const req = createRequire(join(root, 'node_modules', '@size-limit', 'esbuild', 'package.json'))
  return (await import(pathToFileURL(req.resolve('esbuild')).href)).default
}

/** `packages/client/src/parse/chunks.ts` -> `client/parse/chunks`; dependencies by package name. */
function moduleKey(input) {
  const dep = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)
  if (dep) return dep[1]
  return input.replace(/^packages\/([^/]+)\/(?:src|dist)\/(.*)\.[cm]?[jt]sx?$/, '$1/$2')
}

/**
 * One check's bundle built exactly as size-limit builds it (same esbuild, same options, same
 * `import ...; console.log(...)` entry, same level-9 gzip and the same empty-project correction), with
 * esbuild's metafile giving each source module's bytes in the minified output.
 */
async function attribute(esbuild, check) {
  const target = join(root, check.path)
  const list = check.import === '*' ? 'all' : check.import.replace(/[{}]/g, '').trim()
  const imports = check.import === '*' ? '* as all' : check.import
  const result = await esbuild.build({
    stdin: {
      contents: `import ${imports} from ${JSON.stringify(target)}\nconsole.log(${list})\n`,
      resolveDir: root,
      sourcefile: 'size-entry.js',
    },
    bundle: true,
    external: check.ignore,
    metafile: true,
    minifyIdentifiers: true,
    minifySyntax: true,
    minifyWhitespace: true,
    treeShaking: true,
    outdir: join(work, 'attribution'),
    write: false,
    logLevel: 'silent',
  })
  const js = result.outputFiles[0].contents
  const [output] = Object.values(result.metafile.outputs)
  // size-limit subtracts what an empty project with the same entry costs (@size-limit/esbuild).
  const empty = Buffer.from(js).toString().includes('Dynamic require of ') ? 182 : 46
  const gzip = gzipSync(js, { level: 9 }).length - empty
  const modules = Object.entries(output.inputs)
    .filter(([input, { bytesInOutput }]) => bytesInOutput > 0 && input !== 'size-entry.js')
    .map(([input, { bytesInOutput }]) => ({ input, key: moduleKey(input), bytes: bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
  const inModules = modules.reduce((a, m) => a + m.bytes, 0)
  return { minified: js.length, gzip, modules, glue: js.length - inModules }
}

function attributionMarkdown(name, a, sizeLimitSize, goal) {
  const share = (bytes) => (bytes / a.minified) * a.gzip
  const pct = (bytes) => `${((bytes / a.minified) * 100).toFixed(1)}%`
  const check =
    sizeLimitSize === a.gzip
      ? `same figure as size-limit (${kb(a.gzip)})`
      : `size-limit said ${sizeLimitSize === undefined ? '?' : kb(sizeLimitSize)}: **the two builds differ**`
  const gap =
    goal !== undefined && a.gzip >= goal ? `; ${kb(a.gzip - goal)} above the strictest goal (${kb(goal)})` : ''
  const out = [
    `#### ${name}: ${kb(a.minified)} minified, ${kb(a.gzip)} min + gzip (${check})${gap}`,
    '',
    '| Module | Minified bytes | Share | ≈ gzip | What it carries |',
    '|---|---:|---:|---:|---|',
  ]
  for (const m of a.modules)
    out.push(`| \`${m.input}\` | ${m.bytes} | ${pct(m.bytes)} | ${kb(share(m.bytes))} | ${FEATURES[m.key] ?? '–'} |`)
  out.push(
    `| esbuild glue (runtime helpers, the entry) | ${a.glue} | ${pct(a.glue)} | ${kb(share(a.glue))} | not source code |`,
    '',
  )
  return out
}

/** Where the bytes of the bundles whose goals are not met go (deterministic, a few hundred ms). */
async function attributions(results, goalOf) {
  const esbuild = await loadEsbuild()
  const checks = JSON.parse(readFileSync(join(root, '.size-limit.json'), 'utf8'))
  const out = [
    '### Where the bytes go',
    '',
    `Each bundle below is rebuilt exactly as size-limit builds it (its esbuild ${esbuild.version}, same options and entry, gzip level 9, the same empty-project correction; the header says whether the figure equals size-limit's). "Minified bytes" is esbuild's metafile \`bytesInOutput\` of each source module; "≈ gzip" is an **estimate**: the module's share of the minified bytes applied to the bundle's min + gzip figure (gzip does not compress every module equally: an estimate, not a measurement; the column adds up to the bundle's figure). The \`@sluice/react\` bundles contain \`@sluice/client\` compiled from \`packages/client/src\`: esbuild follows the \`paths\` of the root \`tsconfig.json\`, for size-limit as here, so the react budgets measure the client's sources, not its \`dist\`. React itself is not counted.`,
    '',
  ]
  for (const name of ATTRIBUTED) {
    const check = checks.find((c) => c.name === name)
    if (!check) {
      out.push(`#### ${name}: not in \`.size-limit.json\` any more`, '')
      continue
    }
    const a = await attribute(esbuild, check)
    out.push(...attributionMarkdown(name, a, results.find((r) => r.name === name)?.size, goalOf(name)))
  }
  return out.join('\n')
}

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
  let breakdown
  try {
    breakdown = await attributions(results, (name) => {
      const g = GOALS[name]
      const refs = [g?.max, anchors[g?.below]].filter((x) => x !== undefined)
      return refs.length ? Math.min(...refs) : undefined
    })
  } catch (error) {
    // The breakdown explains the table; the table itself must not be lost with it.
    breakdown = `### Where the bytes go\n\nCould not build the breakdown: ${String(error?.message ?? error).split('\n')[0]}`
  }
  return { markdown: [...lines, ...anchorRows, '', breakdown].join('\n'), goals }
}
