// Benchmark runner: `node bench/run.mjs [workload ...]` (or `npm run bench`, which builds first).
//
// Every measurement runs in a fresh `node --expose-gc` child with a time limit. Within a round the
// contestants of a variant run one after another in a rotating order (interleaved, so drift in the
// machine's load spreads over everyone), and each contestant's throughput is divided by the
// hand-written baseline's throughput from the SAME round. Over the rounds we report the median and
// the min–max of that ratio: this machine is shared and noisy, and a range that straddles a goal is
// not a pass. Every child reports a count and a checksum of what it parsed or received; the runner
// compares them with the values computed here from the same deterministic generator, so a wrong
// answer is reported as WRONG, never as fast.
//
// Environment:
//   BENCH_ROUNDS   rounds per variant (default 5)
//   BENCH_SCALE    multiplies the data sizes (default 1; e.g. 0.1 for a quick debugging run)
//   BENCH_ONLY     comma-separated workload names (same as the positional arguments)
//   BENCH_FILTER   regular expression on contestant ids (quick runs only)
//   BENCH_TIMEOUT  per-measurement time limit in ms, overriding each variant's default

import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { renderResults, stats } from './lib/report.mjs'
import { runChild } from './lib/spawn.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const tmp = join(here, '.tmp', 'results')
mkdirSync(tmp, { recursive: true })

/** Workloads in priority order (the order of RESULTS.md). */
export const WORKLOADS = [
  'sse-parse',
  'ndjson-parse',
  'sse-large',
  'server-throughput',
  'bundle-size',
  'slow-consumer',
  'fan-out',
  'react-renders',
]

const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const scale = Number(process.env.BENCH_SCALE ?? 1)
const filter = process.env.BENCH_FILTER ? new RegExp(process.env.BENCH_FILTER) : undefined
const timeoutOverride = process.env.BENCH_TIMEOUT ? Number(process.env.BENCH_TIMEOUT) : undefined
const only = [...process.argv.slice(2), ...(process.env.BENCH_ONLY?.split(',') ?? [])].filter(Boolean)
for (const name of only) {
  if (!WORKLOADS.includes(name)) throw new TypeError(`unknown workload "${name}"; known: ${WORKLOADS.join(', ')}`)
}
if (!(rounds >= 1 && rounds <= 50)) throw new RangeError('BENCH_ROUNDS must be between 1 and 50')
if (!(scale > 0 && scale <= 1)) throw new RangeError('BENCH_SCALE must be in (0, 1]')

/**
 * Runs one measurement child and resolves with its result, `{ status: 'timeout' }` or
 * `{ status: 'error', error }`. Never rejects: a crashing contestant is a row, not a crash.
 */
async function measure(workloadFile, variantId, contestantId, params, timeoutMs) {
  const { code, signal, out, err, timedOut } = await runChild(
    ['--expose-gc', join(here, 'lib', 'child.mjs'), workloadFile, variantId, contestantId, JSON.stringify(params)],
    { timeoutMs },
  )
  if (timedOut) return { status: 'timeout', timeoutMs }
  const line = out.split('\n').find((l) => l.startsWith('@@RESULT '))
  if (!line) {
    const firstError = err.split('\n').find((l) => /Error|error/.test(l)) ?? err.split('\n')[0] ?? ''
    return { status: 'error', error: `exit ${code ?? signal}: ${firstError.trim().slice(0, 200)}` }
  }
  return { status: 'ran', ...JSON.parse(line.slice('@@RESULT '.length)) }
}

/** Judges a child's result against the expected count and checksum. */
function verify(result, expected) {
  if (result.status !== 'ran') return result
  if (result.error) return { ...result, status: 'error' }
  if (expected) {
    if (result.count !== expected.count || result.checksum !== expected.checksum) {
      return {
        ...result,
        status: 'WRONG',
        why: `count ${result.count} / ${expected.count}, checksum ${result.checksum} / ${expected.checksum}`,
      }
    }
  } else if (result.ok !== true) {
    return { ...result, status: 'WRONG', why: result.why ?? 'not verified' }
  }
  return { ...result, status: 'ok' }
}

async function runWorkload(name) {
  const file = join(here, 'workloads', `${name}.mjs`)
  const workload = await import(pathToFileURL(file).href)
  const started = new Date()
  const section = {
    name,
    title: workload.title,
    description: workload.description,
    notes: workload.notes ?? [],
    scale,
    rounds,
    date: started.toISOString(),
    variants: [],
  }
  if (workload.standalone) {
    // Not a timed race (e.g. bundle size): computed once, deterministic.
    const out = await workload.standalone({ scale })
    section.standalone = typeof out === 'string' ? out : out.markdown
    section.goals = typeof out === 'string' ? [] : out.goals
    return section
  }
  for (const variant of workload.variants) {
    const params = variant.params(scale)
    const expected = workload.expected ? await workload.expected(params, variant) : undefined
    const ids = workload.contestants
      .filter((c) => (variant.contestants ? variant.contestants.includes(c.id) : true))
      .filter((c) => !filter || c.kind === 'baseline' || filter.test(c.id))
      .map((c) => c.id)
    const vr = { id: variant.id, label: variant.label, params, expected, contestants: {} }
    for (const id of ids) vr.contestants[id] = []
    const timeoutMs = timeoutOverride ?? variant.timeoutMs ?? 60_000
    // A variant may need fewer rounds (e.g. memory behaviour rather than speed).
    const variantRounds = Math.min(rounds, variant.rounds ?? rounds)
    for (let r = 0; r < variantRounds; r++) {
      // Rotate the order each round so no contestant always runs first (cold disk cache) or last.
      const order = ids.map((_, i) => ids[(i + r) % ids.length])
      const roundResults = {}
      for (const id of order) {
        const c = workload.contestants.find((x) => x.id === id)
        // Some anchors take most of a minute per run on one variant (e.g. quadratic on the 20 MB
        // line); the variant may limit them to fewer rounds, which the table shows as n/m.
        const maxRounds = variant.contestantRounds?.[id] ?? c.rounds
        if (maxRounds !== undefined && r >= maxRounds) continue
        const res = verify(await measure(file, variant.id, id, params, c.timeoutMs ?? timeoutMs), expected)
        roundResults[id] = res
        log(name, variant.id, r, id, res)
      }
      const base = roundResults.baseline
      const baseTp = base?.status === 'ok' ? throughput(base) : undefined
      for (const [id, res] of Object.entries(roundResults)) {
        const tp = res.status === 'ok' ? throughput(res) : undefined
        vr.contestants[id].push({
          ...res,
          throughput: tp,
          ratio: tp !== undefined && baseTp ? tp / baseTp : undefined,
        })
      }
    }
    const st = Object.fromEntries(Object.entries(vr.contestants).map(([id, rs]) => [id, stats(rs)]))
    vr.goals = (variant.goals ?? []).map((g) => ({ contestant: g.contestant, text: g.text, met: g.check(st, params) }))
    vr.labels = Object.fromEntries(workload.contestants.map((c) => [c.id, c.label]))
    vr.columns = variant.columns
    vr.unit = variant.unit
    vr.note = typeof variant.note === 'function' ? variant.note(params, expected) : variant.note
    vr.ratio = variant.ratio
    vr.rounds = variantRounds
    section.variants.push(vr)
  }
  return section
}

function throughput(res) {
  if (res.units === undefined || !res.ms) return undefined
  return res.units / (res.ms / 1000)
}

function log(workload, variant, round, id, res) {
  const tp = throughput(res)
  const detail =
    res.status === 'ok'
      ? `${tp === undefined ? '' : `${tp.toFixed(0)}/s `}${res.ms?.toFixed(0) ?? '?'} ms`
      : (res.why ?? res.error ?? '')
  process.stderr.write(`[${workload}/${variant} r${round + 1}] ${id}: ${res.status} ${detail}\n`)
}

const machine = {
  nproc: os.availableParallelism?.() ?? os.cpus().length,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${os.release()}`,
  load: os.loadavg().map((l) => l.toFixed(2)),
}

/** The commit under test (plus a mark when the working tree differs), for the record. */
function commitUnderTest() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', '../packages'], {
      cwd: here,
      encoding: 'utf8',
    }).trim()
    return dirty ? `${head} (+ uncommitted changes in packages/)` : head
  } catch (error) {
    return `unknown (${error.message.split('\n')[0]})`
  }
}
const commit = commitUnderTest()

const selected = only.length > 0 ? WORKLOADS.filter((w) => only.includes(w)) : WORKLOADS
for (const name of selected) {
  let section
  try {
    section = await runWorkload(name)
  } catch (error) {
    // A workload whose module cannot load (e.g. a package not built yet) is reported, not fatal.
    section = {
      name,
      title: name,
      scale,
      rounds,
      date: new Date().toISOString(),
      failed: String(error?.stack ?? error),
    }
    process.stderr.write(`[${name}] failed: ${section.failed}\n`)
  }
  section.machine = { ...machine, load: os.loadavg().map((l) => l.toFixed(2)) }
  section.commit = commit
  writeFileSync(join(tmp, `${name}.json`), JSON.stringify(section, null, 2))
}

// RESULTS.md is composed from the latest saved run of every workload; each section states its own
// date, rounds and scale, so a partial re-run never passes for a full one.
const sections = []
for (const name of WORKLOADS) {
  if (!readdirSync(tmp).includes(`${name}.json`)) continue
  sections.push(JSON.parse(readFileSync(join(tmp, `${name}.json`), 'utf8')))
}
writeFileSync(join(here, 'RESULTS.md'), renderResults(sections, machine))
process.stderr.write(`wrote ${join(here, 'RESULTS.md')}\n`)
