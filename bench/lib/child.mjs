// One measurement, in a fresh process: `node --expose-gc bench/lib/child.mjs <workload> <variant>
// <contestant> <params-json>`. Prints one `@@RESULT <json>` line and exits; the parent enforces the
// time limit (it kills this process), so nothing here needs its own watchdog.

import { pathToFileURL } from 'node:url'

const [workloadPath, variantId, contestantId, paramsJson] = process.argv.slice(2)
if (!workloadPath || !variantId || !contestantId || !paramsJson) {
  throw new TypeError('usage: child.mjs <workload.mjs> <variant> <contestant> <params-json>')
}
const workload = await import(pathToFileURL(workloadPath).href)
const variant = workload.variants.find((v) => v.id === variantId)
const contestant = workload.contestants.find((c) => c.id === contestantId)
if (!variant || !contestant) throw new TypeError(`unknown variant ${variantId} or contestant ${contestantId}`)

const result = await contestant.run(JSON.parse(paramsJson), variant)
// Pipes are synchronous on Linux, so the line is out before exit. Exiting explicitly means a
// contestant that leaves a handle open (a reconnect timer, a socket) cannot hang the run; leaks
// are a test-suite concern, not a benchmark one.
process.stdout.write(`\n@@RESULT ${JSON.stringify(result)}\n`)
process.exit(0)
