// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function, top N.
// `node bench/profile/summary.mjs <file.cpuprofile> [N]`

import { readFileSync } from 'node:fs'

const [file, n = '25'] = process.argv.slice(2)
if (!file) throw new TypeError('usage: summary.mjs <file.cpuprofile> [N]')
const prof = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(prof.nodes.map((x) => [x.id, x]))
const self = new Map()
const dt = prof.timeDeltas
for (let i = 0; i < prof.samples.length; i++) {
  const node = byId.get(prof.samples[i])
  const f = node.callFrame
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|packages|bench)\//, '$1/')}:${f.lineNumber + 1}`
  self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0))
}
const total = [...self.values()].reduce((a, b) => a + b, 0)
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n))
for (const [k, v] of rows)
  console.log(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`)
