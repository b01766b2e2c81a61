import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it, vi } from 'vitest'

// If anything in the client imports React, importing the client fails with this error.
vi.mock('react', () => {
  throw new Error('@sluice/client imported react')
})
vi.mock('react-dom', () => {
  throw new Error('@sluice/client imported react-dom')
})

it('imports, creates connections and closes them without React', async () => {
  const client = await import('@sluice/client')
  expect(typeof client.createEventStream).toBe('function')
  expect(typeof client.createNdjsonStream).toBe('function')
  expect(typeof client.createSocket).toBe('function')
  // A connection to a closed port, closed at once: only the import and construction paths matter here.
  const conn = client.createEventStream('http://127.0.0.1:9/never', { signal: AbortSignal.abort() })
  expect(conn.getSnapshot().status).toBe('closed')
})

it('no client source file imports react', () => {
  const root = fileURLToPath(new URL('../../packages/client/src', import.meta.url))
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'))
  expect(files.length).toBeGreaterThan(5)
  const offenders = files.filter((file) =>
    /(from|import)\s*\(?\s*['"]react(-dom)?(\/[^'"]*)?['"]/.test(readFileSync(join(root, file), 'utf8')),
  )
  expect(offenders).toEqual([])
  const manifest = JSON.parse(readFileSync(join(root, '..', 'package.json'), 'utf8')) as Record<string, unknown>
  const deps = { ...(manifest.dependencies as object), ...(manifest.peerDependencies as object) }
  expect(Object.keys(deps)).not.toContain('react')
})
