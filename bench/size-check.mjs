// Bundle-size budget check: `node bench/size-check.mjs` reads the root `.size-limit.json` (the
// size-limit format: `name`, `path`, `import`, `ignore`, `limit`), measures every check the way
// size-limit's preset-small-lib does (see lib/size.mjs) and exits 1 when one is over its limit or
// cannot be bundled. It exists because size-limit 14 needs Node 22 and this project runs on Node 20;
// on Node 22+ `npx size-limit` reads the same file. Needs the packages built (`npm run build`).
//
// `node bench/size-check.mjs --write` regenerates `.size-limit.json` from bench/workloads/bundle-size.mjs.

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { measureSize, parseLimit, sizeErrorMessage } from './lib/size.mjs'
import { writeRootConfig } from './workloads/bundle-size.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))

if (process.argv.includes('--write')) {
  writeRootConfig()
  process.stdout.write('wrote .size-limit.json\n')
  process.exit(0)
}

const checks = JSON.parse(readFileSync(join(root, '.size-limit.json'), 'utf8'))
let failed = 0
let i = 0
for (const check of checks) {
  const label = check.name ?? `${check.path} ${check.import ?? ''}`
  try {
    const size = await measureSize(check, root, join(root, 'bench', '.tmp', 'size-check', String(i++)))
    const limit = check.limit === undefined ? undefined : parseLimit(check.limit)
    const over = limit !== undefined && size > limit
    if (over) failed++
    process.stdout.write(
      `${over ? '✗' : '✓'} ${label}: ${(size / 1000).toFixed(2)} kB gz (limit ${check.limit ?? 'none'})\n`,
    )
  } catch (error) {
    failed++
    process.stdout.write(`✗ ${label}: could not bundle: ${sizeErrorMessage(error)}\n`)
  }
}
if (failed > 0) {
  process.stdout.write(`${failed} size check(s) failed\n`)
  process.exitCode = 1
}
