// Where the time goes in the in-process parse workloads: writes bench/PROFILES.md.
// `node bench/profile/report.mjs` (after `npm run build`; about a minute).
//
// Each contestant runs in its own fresh process (profile-child.mjs) under the V8 sampling profiler,
// one after another (never two at once: the machine has 2 cores). The input is generated before the
// profiler starts; summary.mjs sets the consumer's work (checksum, JSON.parse of SSE data) apart, so
// the tables show what parsing and delivering cost. The raw profiles stay in bench/.tmp/profiles/
// (open them in Chrome DevTools > Performance, or `node bench/profile/summary.mjs <file>`).
//
// Environment: PROFILE_REPS runs per contestant (default 5), PROFILE_INTERVAL_US sampling interval
// (default 500).

import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChild } from '../lib/spawn.mjs'
import { sseLabels } from '../lib/sse-clients.mjs'
import { summarize } from './summary.mjs'

const root = fileURLToPath(new URL('../..', import.meta.url))
const here = join(root, 'bench', 'profile')
const outDir = join(root, 'bench', '.tmp', 'profiles')
const reportFile = join(root, 'bench', 'PROFILES.md')
const reps = Number(process.env.PROFILE_REPS ?? 5)
const interval = Number(process.env.PROFILE_INTERVAL_US ?? 500)
if (!(Number.isInteger(reps) && reps >= 1 && reps <= 20)) throw new RangeError('PROFILE_REPS must be 1..20')
if (!(interval >= 50 && interval <= 10_000)) throw new RangeError('PROFILE_INTERVAL_US must be 50..10000')
const TOP = 12
/** Per child; a hung contestant becomes a row, not a hung report. */
const TIMEOUT_MS = 90_000

const WORKLOADS = [
  {
    id: 'sse-small',
    title: 'sse-small: 200,000 small events (JSON data, non-ASCII), 16 KiB chunks',
    contestants: ['baseline', 'sluice-read', 'sluice-connection', 'eventsource'],
    unit: 'events',
  },
  {
    id: 'ndjson-small',
    title: 'ndjson-small: 200,000 lines of ~100-byte objects, 16 KiB chunks',
    contestants: ['baseline', 'sluice-read'],
    unit: 'records',
  },
  {
    id: 'sse-large',
    title: 'sse-large: 500 events of ~64 KiB, each in `data:` lines of ~100 characters, 16 KiB chunks',
    contestants: ['baseline', 'sluice-read'],
    unit: 'events',
  },
]
const LABELS = {
  ...sseLabels,
  'ndjson-small/baseline': 'baseline (hand-written parser)',
  'ndjson-small/sluice-read': '**Sluice `readNdjson`**',
}
const labelOf = (w, c) => LABELS[`${w}/${c}`] ?? LABELS[c] ?? c

/** Runs one child; resolves with its JSON line, or `{ failed }` (never rejects). */
async function profileOne(what, who, file) {
  const { code, signal, out, err, timedOut } = await runChild(
    [join(here, 'profile-child.mjs'), what, who, String(reps), file, String(interval)],
    { timeoutMs: TIMEOUT_MS, cwd: root, maxOut: 1e5 },
  )
  if (timedOut) return { failed: `no result within ${TIMEOUT_MS} ms` }
  if (code !== 0) return { failed: `exit ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' ')}` }
  try {
    return JSON.parse(out.trim().split('\n').at(-1))
  } catch {
    return { failed: `no result line: ${out.slice(0, 200)}` }
  }
}

const ms = (us) => (us / 1000).toFixed(0)
const pct = (part, whole) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')
/** A place a reader recognises: the package or file, without the line. */
const areaOf = (row) => {
  if (!row.file) return row.fn.startsWith('(') ? row.fn : 'native (no JS frame)'
  const dep = row.file.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)\//)
  if (dep) return dep[1]
  if (row.file.startsWith('node:internal/webstreams')) return 'node:internal/webstreams'
  return row.file
}

function git(...args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim()
  } catch {
    return '?'
  }
}

const started = new Date()
const loadStart = load()
const commit = git('rev-parse', '--short', 'HEAD')
const dirty = git('status', '--porcelain', '--untracked-files=no') !== ''
rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })

const sections = []
for (const w of WORKLOADS) {
  const results = []
  for (const who of w.contestants) {
    const file = join(outDir, `${w.id}.${who}.cpuprofile`)
    const loadBefore = load()
    const res = await profileOne(w.id, who, file)
    process.stderr.write(`[profile] ${w.id} ${who}: ${res.failed ?? `${res.wallMs.toFixed(0)} ms`}\n`)
    if (res.failed) {
      results.push({ who, failed: res.failed })
      continue
    }
    results.push({ who, res, loadBefore, s: summarize(JSON.parse(readFileSync(file, 'utf8'))) })
  }
  sections.push({ w, results })
}
const loadEnd = load()
const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(0)

const out = [
  '# Where the time goes: CPU profiles of the in-process parse workloads',
  '',
  `Generated by \`node bench/profile/report.mjs\` (do not edit by hand) on ${started.toISOString()}, code at commit ${commit}${dirty ? ' **with uncommitted changes**' : ''}, built packages as they were in \`dist/\`. Machine: ${os.availableParallelism?.() ?? os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}; load average ${loadStart} at the start, ${loadEnd} at the end (${seconds} s). The machine is shared: absolute milliseconds are noisy, the shares within one profile are the figures to read, and "CPU" next to "wall" shows how much of the wall time the process really ran.`,
  '',
  `How: every contestant runs in a fresh \`node\` process (\`bench/profile/profile-child.mjs\`, one at a time), which builds the input first (the same generators and sizes as \`bench/profile/parse.mjs\`), warms up on a 1/10-size input like the benchmark's children (not profiled), then runs the contestant ${reps} time(s) over the same chunks under the V8 inspector's sampling profiler (one sample every ${interval} µs), checking every run's count and checksum against the generator's. The profile is summarised by \`bench/profile/summary.mjs\`: self time per function. **Set apart** from the table (not parse or deliver cost): *input generation* (samples under a \`bench/lib\` generator: none, since the input is built before the profiler starts; the line is there to show it), *consumer* (the checksum callbacks and, in sse-small, the \`JSON.parse\` of every message's data that each contestant does alike, as a named frame) and *idle*. The percentages are of the rest, "parse + deliver": reading the stream, decoding, splitting, dispatching, the async iteration, GC. Native code without a JS frame (e.g. \`decode\` = \`TextDecoder.decode\`) is charged to its own row; a native call made from JS without its own frame is charged to its caller. Profiling costs time itself (it slows the process down): compare contestants within this file, not with RESULTS.md. Raw profiles: \`bench/.tmp/profiles/<workload>.<contestant>.cpuprofile\` (not committed).`,
  '',
]

for (const { w, results } of sections) {
  out.push(`## ${w.title}`, '')
  const base = results.find((r) => r.who === 'baseline' && r.s)
  // The profile's samples are wall-clock: on a shared machine a descheduled process charges the wait
  // to whatever it was running. The per-run figures below are CPU time instead (process.cpuUsage over
  // the profiled runs), split by the profile's shares, which swings much less with the load.
  const cpuSplit = (r) => {
    const perRun = r.res.cpuMs / r.res.runs.length / r.s.total
    return { work: r.s.work * perRun, consumer: r.s.consumer * perRun }
  }
  const b = base ? cpuSplit(base) : undefined
  out.push(
    `| Contestant | Verified | Wall per run (median) | Wall / CPU, all ${reps} runs | Parse + deliver, CPU per run | ÷ baseline | Consumer, CPU per run | ÷ baseline, with consumer | Top function (% of parse + deliver) |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
  )
  for (const r of results) {
    if (r.failed) {
      out.push(
        `| ${labelOf(w.id, r.who)} | **failed** | | | | | | | ${r.failed.replaceAll('|', '\\|').slice(0, 200)} |`,
      )
      continue
    }
    const c = cpuSplit(r)
    const top = r.s.rows[0]
    out.push(
      `| ${labelOf(w.id, r.who)} | ${r.res.verified ? 'yes' : `**WRONG** (${r.res.wrong})`} | ${median(r.res.runs).toFixed(0)} ms | ${r.res.wallMs.toFixed(0)} / ${r.res.cpuMs.toFixed(0)} ms | ${c.work.toFixed(0)} ms | ${b ? (c.work / b.work).toFixed(2) : '–'} | ${c.consumer.toFixed(0)} ms | ${b ? ((c.work + c.consumer) / (b.work + b.consumer)).toFixed(2) : '–'} | \`${top?.fn ?? '–'}\` ${top ? pct(top.us, r.s.work) : ''} |`,
    )
  }
  out.push(
    '',
    "The CPU figures are the process's CPU time over the profiled runs (GC threads included) split by the shares of the profile; the ratios are indicative (one process per contestant, run one after another: they moved by up to 2× between runs on a loaded machine). The measured ratios are those of RESULTS.md.",
  )
  out.push('')
  for (const r of results) {
    if (r.failed) continue
    const { s, res } = r
    out.push(`### ${w.id} · ${labelOf(w.id, r.who)}`, '')
    out.push(
      `${res.runs.length} run(s) of ${res.count.toLocaleString('en-US')} ${w.unit} (${(res.inputBytes / 1e6).toFixed(1)} MB in ${res.chunks} chunks)${res.verified ? ', verified' : ', **WRONG**'}; load average ${r.loadBefore} before. Sampled (wall clock) ${ms(s.total)} ms: **parse + deliver ${ms(s.work)} ms**; set apart: consumer ${ms(s.consumer)} ms (${pct(s.consumer, s.total)}), input generation ${ms(s.generation)} ms, idle ${ms(s.idle)} ms.`,
      '',
    )
    const areas = new Map()
    for (const row of s.rows) areas.set(areaOf(row), (areas.get(areaOf(row)) ?? 0) + row.us)
    const byArea = [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([a, us]) => `\`${a}\` ${pct(us, s.work)}`)
    out.push(`By file: ${byArea.join(' · ')}`, '')
    out.push('| Self | % of parse + deliver | Function | Where |', '|---:|---:|---|---|')
    for (const row of s.rows.slice(0, TOP))
      out.push(
        `| ${ms(row.us)} ms | ${pct(row.us, s.work)} | \`${row.fn}\` | ${row.where ? `\`${row.where}\`` : '(native)'} |`,
      )
    const rest = s.rows.slice(TOP).reduce((a, row) => a + row.us, 0)
    out.push(`| ${ms(rest)} ms | ${pct(rest, s.work)} | ${Math.max(0, s.rows.length - TOP)} other functions | |`, '')
  }
}

writeFileSync(reportFile, `${out.join('\n').trimEnd()}\n`)
process.stderr.write(`wrote ${reportFile} in ${seconds} s\n`)
