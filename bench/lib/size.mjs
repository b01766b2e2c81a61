// Bundle-size measurement, done the way size-limit's preset-small-lib does it (rolldown: minified,
// tree-shaken, every dependency bundled except `ignore`; each output file gzipped at level 9; the
// empty-import overhead of 34 bytes subtracted), because size-limit 14 itself needs Node 22
// (`fs/promises.glob`) and this project supports Node 20. Reads the same check objects as
// `.size-limit.json` (`path`, `import`, `ignore`, `limit`).

import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'

/** size-limit's ROLLDOWN_EMPTY_PROJECT_IMPORT_GZIP: what an empty import costs after gzip. */
const EMPTY_IMPORT_GZIP = 34

const escapeRegexp = (s) => s.replace(/[|\\{}()[\]^$+*?.]/g, '\\$&').replace(/-/g, '\\x2d')

/**
 * Minified + gzipped bytes of `import <check.import> from <check.path>` (as size-limit's
 * `processImport` writes it: the import plus a `console.log` of what was imported).
 * @param {{ path: string, import: string, ignore?: string[] }} check  `path` relative to `cwd`
 * @param {string} cwd
 * @param {string} tmpDir scratch directory (created, then removed)
 */
export async function measureSize(check, cwd, tmpDir) {
  const { rolldown } = await import('rolldown')
  const file = resolve(cwd, check.path)
  mkdirSync(tmpDir, { recursive: true })
  try {
    const star = check.import === '*'
    const list = star ? 'all' : check.import.replace(/}|{/g, '').trim()
    const entry = join(tmpDir, 'index.js')
    writeFileSync(
      entry,
      `import ${star ? '* as all' : check.import} from ${JSON.stringify(file)}\nconsole.log(${list})\n`,
    )
    const bundle = await rolldown({
      input: entry,
      treeshake: true,
      ...(check.ignore?.length ? { external: new RegExp(`^(${check.ignore.map(escapeRegexp).join('|')})($|/)`) } : {}),
      onLog(_level, log) {
        // Rolldown only warns on an unresolved import and drops it, so the size would be too
        // small; fail instead, as size-limit does.
        if (log.code === 'UNRESOLVED_IMPORT')
          throw new Error(`Could not resolve ${JSON.stringify(log.exporter)} in ${log.id}`)
        if (log.code === 'MISSING_EXPORT') throw new Error(log.message)
      },
    })
    const { output } = await bundle.generate({ format: 'esm', minify: true, comments: { annotation: false } })
    await bundle.close()
    let size = 0
    for (const o of output) {
      const code = o.type === 'chunk' ? o.code : o.source
      if (o.type === 'chunk') size += gzipSync(code, { level: 9 }).length
    }
    return size - EMPTY_IMPORT_GZIP
  } finally {
    rmSync(tmpDir, { recursive: true, force: true })
  }
}

/** Parses a size-limit limit string ("3.7 kB", "4 KiB", "900 B"). */
export function parseLimit(s) {
  const m = /^([\d.]+)\s*(B|kB|KB|KiB|MB)?$/.exec(String(s).trim())
  if (!m) throw new TypeError(`cannot parse size limit "${s}"`)
  const unit = { B: 1, kB: 1000, KB: 1000, KiB: 1024, MB: 1e6 }[m[2] ?? 'B']
  return Number(m[1]) * unit
}

/** rolldown's errors are coloured and multi-line: the first meaningful line, without colours. */
export function sizeErrorMessage(error) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
  const text = String(error?.message ?? error).replace(/\x1b\[[0-9;]*m/g, '')
  const lines = text.split('\n')
  const line = lines.find((l) => /MISSING_EXPORT|Could not resolve|UNRESOLVED/.test(l)) ?? lines[0] ?? ''
  return line.trim().slice(0, 200)
}
