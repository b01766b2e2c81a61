// Statistics over rounds, goal helpers and the RESULTS.md renderer.

/** @param {number[]} xs */
export function median(xs) {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Summary of one contestant's rounds in one variant. */
export function stats(rounds) {
  const ok = rounds.filter((r) => r.status === 'ok')
  const ratios = rounds.map((r) => r.ratio).filter((x) => x !== undefined)
  const tps = ok.map((r) => r.throughput).filter((x) => x !== undefined)
  return {
    rounds,
    ran: rounds.length,
    okCount: ok.length,
    allOk: rounds.length > 0 && ok.length === rounds.length,
    medianThroughput: median(tps),
    ratios,
    medianRatio: median(ratios),
    minRatio: ratios.length ? Math.min(...ratios) : undefined,
    maxRatio: ratios.length ? Math.max(...ratios) : undefined,
    metric: (key) => rounds.map((r) => r[key] ?? r.extra?.[key]).filter((x) => x !== undefined && x !== null),
  }
}

/**
 * Goal: every round verified and the whole min–max range of the ratio to the baseline at or above
 * `min` (a range that straddles the goal is not a pass).
 */
export function ratioAtLeast(contestant, min) {
  return {
    contestant,
    text: `≥ ${min} × baseline`,
    check: (s) => {
      const c = s[contestant]
      return Boolean(c?.allOk && c.ratios.length === c.ran && c.minRatio >= min)
    },
  }
}

/** Goal: `a` has a higher throughput than `b` in every round (paired by round). */
export function fasterThan(a, b, label) {
  return {
    contestant: a,
    text: `ahead of ${label ?? b} in every round`,
    check: (s) => {
      const x = s[a]
      const y = s[b]
      if (!x?.allOk || !y) return false
      // Rounds are paired by index: both ran in the same round, interleaved.
      return x.rounds.every((r, i) => {
        const o = y.rounds[i]
        return r.status === 'ok' && (o?.status !== 'ok' || r.throughput > o.throughput)
      })
    },
  }
}

/** Goal: metric `key` (bytes) stays at or below `limit(params)` in every round. */
export function metricAtMost(contestant, key, limitOf, text) {
  return {
    contestant,
    text,
    check: (s, params) => {
      const c = s[contestant]
      const xs = c?.metric(key) ?? []
      return Boolean(c?.allOk && xs.length === c.ran && Math.max(...xs) <= limitOf(params))
    },
  }
}

const fmtNum = (x) => {
  if (x === undefined || Number.isNaN(x)) return '–'
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`
  if (x >= 1e4) return `${(x / 1e3).toFixed(0)} k`
  if (x >= 100) return x.toFixed(0)
  return x.toFixed(2)
}
const fmtRatio = (x) => (x === undefined ? '–' : x.toFixed(2))

/** Formats a column value by its declared kind. */
export function fmt(kind, x) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–'
  switch (kind) {
    case 'MB':
      return `${(x / 1e6).toFixed(1)} MB`
    case 'KB':
      return `${(x / 1e3).toFixed(1)} KB`
    case 'ms':
      return `${x.toFixed(1)} ms`
    case 'x':
      return `${x.toFixed(2)}×`
    case 'int':
      return String(Math.round(x))
    case 'bool':
      return x ? 'yes' : 'no'
    default:
      return String(x)
  }
}

function verifiedCell(c) {
  if (c.ran === 0) return 'not run'
  if (c.allOk) return `✓ ${c.okCount}/${c.ran}`
  const counts = {}
  for (const r of c.rounds) counts[r.status] = (counts[r.status] ?? 0) + 1
  const parts = Object.entries(counts).map(([k, n]) => `${k === 'ok' ? '✓' : k} ${n}/${c.ran}`)
  const first = c.rounds.find((r) => r.status !== 'ok')
  const why = first?.why ?? first?.error ?? (first?.status === 'timeout' ? `> ${first.timeoutMs / 1000} s` : '')
  return `${parts.join(', ')}${why ? ` (${String(why).replaceAll('|', '/').slice(0, 120)})` : ''}`
}

function renderVariant(v, sectionRounds) {
  v.stats = Object.fromEntries(Object.entries(v.contestants).map(([id, rs]) => [id, stats(rs)]))
  const lines = []
  lines.push(`#### ${v.label}`, '')
  const ran = Math.max(0, ...Object.values(v.stats).map((c) => c.ran))
  const rounds = v.rounds ?? ran
  if (v.note) lines.push(v.note, '')
  if (rounds < sectionRounds)
    lines.push(`This variant ran ${rounds} round(s) (it measures memory or renders, not speed).`, '')
  const cols = v.columns ?? []
  const showRatio = v.ratio !== false
  const head = ['Contestant', v.unit ? `Median ${v.unit}` : undefined]
  if (showRatio) head.push('× baseline (median)', '× baseline (min–max)')
  head.push('Verified', ...cols.map((c) => c.label), 'Goal')
  const header = head.filter((h) => h !== undefined)
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`)
  for (const [id, c] of Object.entries(v.stats)) {
    const label = v.labels[id] ?? id
    const goals = (v.goals ?? []).filter((g) => g.contestant === id)
    const goalCell = goals.map((g) => `${g.text}: **${g.met ? 'met' : 'NOT met'}**`).join('; ')
    const row = [label]
    if (v.unit) row.push(fmtNum(c.medianThroughput))
    if (showRatio) {
      row.push(id === 'baseline' ? '1.00' : fmtRatio(c.medianRatio))
      row.push(
        id === 'baseline' ? '–' : c.minRatio === undefined ? '–' : `${fmtRatio(c.minRatio)}–${fmtRatio(c.maxRatio)}`,
      )
    }
    row.push(verifiedCell(c))
    for (const col of cols) {
      const xs = c.metric(col.key)
      if (xs.length === 0) row.push('–')
      else if (col.kind === 'text' || col.kind === 'bool')
        row.push([...new Set(xs.map((x) => fmt(col.kind, x)))].join(' / '))
      else if (xs.length === 1 || col.single) row.push(fmt(col.kind, col.agg === 'max' ? Math.max(...xs) : median(xs)))
      else
        row.push(`${fmt(col.kind, median(xs))} (${fmt(col.kind, Math.min(...xs))}–${fmt(col.kind, Math.max(...xs))})`)
    }
    row.push(goalCell)
    lines.push(`| ${row.join(' | ')} |`)
  }
  lines.push('')
  return lines
}

/** Renders RESULTS.md from the saved sections. */
export function renderResults(sections, machine) {
  const out = []
  out.push('# Sluice benchmarks', '')
  out.push(
    'Generated by `npm run bench` (`bench/run.mjs`); do not edit by hand. Every measurement ran in a fresh',
    '`node --expose-gc` child process; contestants were interleaved within each round; each ratio is the',
    "contestant's throughput divided by the hand-written baseline's throughput in the same round (higher is",
    'better; the baseline is the practical speed limit). A goal is met only when the whole min–max range',
    'clears it and every round was verified (count and checksum against the deterministic generator).',
    '',
    `Machine: ${machine.nproc} CPUs (${machine.cpu}), ${machine.memGiB} GiB RAM, Node ${machine.node}, ${machine.platform}.`,
    'The machine was shared with other jobs while this ran (see the load average per section), so',
    'absolute numbers are noisy; the same-round ratios are the figures to read.',
    '',
  )
  // Every goal of the issue in one place, each linked to the table it comes from.
  out.push('## Goals', '', '| Workload | Contestant | Goal | Result |', '|---|---|---|---|')
  for (const s of sections) {
    const quick = s.scale !== 1 ? ' (quick run)' : ''
    if (s.failed) out.push(`| ${s.name}${quick} | – | – | **could not run** |`)
    for (const g of s.goals ?? [])
      out.push(`| ${s.name}${quick} | ${g.label} | ${g.text} | **${g.met ? 'met' : 'NOT met'}** |`)
    for (const v of s.variants ?? []) {
      for (const g of v.goals ?? []) {
        const label = (v.labels?.[g.contestant] ?? g.contestant).replaceAll('**', '')
        out.push(`| ${s.name}: ${v.label}${quick} | ${label} | ${g.text} | **${g.met ? 'met' : 'NOT met'}** |`)
      }
    }
  }
  out.push(
    '',
    'Where the time goes for a speed goal that is not met: [PROFILES.md](PROFILES.md) (`npm run bench:profile`: CPU profiles of the in-process parse workloads, self time per function); where the bytes go for a bundle goal: the per-module breakdown in the bundle-size section below.',
  )
  out.push('')
  for (const s of sections) {
    out.push(`## ${s.title ?? s.name}`, '')
    const quick = s.scale !== 1 ? ` — **QUICK RUN at scale ${s.scale}: not a result**` : ''
    const rounds = s.standalone ? 'measured once (deterministic)' : `${s.rounds} round(s)`
    const commit = s.commit ? `, code at commit ${s.commit}` : ''
    out.push(
      `Run ${s.date}${commit}, ${rounds}, load average ${s.machine?.load?.join(' / ') ?? '?'} at the end${quick}.`,
      '',
    )
    if (s.description) out.push(s.description, '')
    if (s.failed) {
      out.push('**The workload could not run:**', '', '```', s.failed.slice(0, 1500), '```', '')
      continue
    }
    if (s.standalone) {
      out.push(s.standalone, '')
      continue
    }
    for (const v of s.variants) out.push(...renderVariant(v, s.rounds))
    for (const n of s.notes ?? []) out.push(`- ${n}`)
    if (s.notes?.length) out.push('')
  }
  return out.join('\n')
}
