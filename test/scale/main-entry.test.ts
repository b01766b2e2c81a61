import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/** Every module reachable from `entry` through relative imports, and the bare specifiers they import. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    const text = readFileSync(file, 'utf8')
    // Static `import ... from '...'` / `export ... from '...'`, and dynamic `import('...')`.
    for (const [, a, b] of text.matchAll(/(?:from\s*'([^']+)')|(?:import\(\s*'([^']+)'\s*\))/g)) {
      const specifier = (a ?? b)!
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
      else packages.add(specifier)
    }
  }
  visit(entry)
  return { files, packages }
}

describe('@sluice/server-kit main entry', () => {
  it('never reaches the Redis store or the redis client: one process needs no Redis', () => {
    const { files, packages } = importGraph(
      fileURLToPath(new URL('../../packages/server-kit/src/index.ts', import.meta.url)),
    )
    expect(files.size).toBeGreaterThan(5)
    expect([...files].filter((file) => file.includes('/src/redis/'))).toEqual([])
    expect([...packages].filter((name) => name === 'redis' || name.startsWith('@redis/'))).toEqual([])
  })

  it('the redis subpath does reach the redis store (the check above can see it)', () => {
    const { files } = importGraph(
      fileURLToPath(new URL('../../packages/server-kit/src/redis/index.ts', import.meta.url)),
    )
    expect([...files].some((file) => file.endsWith('/src/redis/store.ts'))).toBe(true)
  })
})
