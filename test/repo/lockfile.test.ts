import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
// @ts-expect-error -- a plain .mjs script without types, run by hand after `npm install`
import { missingOptional, platformOf } from '../../scripts/complete-lockfile.mjs'

interface Missing {
  name: string
  version: string
  at: string
}

describe('package-lock.json', () => {
  it('lists every optional dependency, so `npm ci` accepts it on a fresh machine', () => {
    // The registry here serves only some platforms' builds of native packages; npm then leaves the
    // others out of the lockfile and `npm ci` refuses it. Fix: node scripts/complete-lockfile.mjs
    const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8'))
    const missing = (missingOptional(lock) as Missing[]).map(({ name, version, at }) => `${at}@${version} (${name})`)
    expect(missing, 'run: node scripts/complete-lockfile.mjs').toEqual([])
  })

  it('reads the platform of a native package from its name', () => {
    expect(platformOf('@biomejs/cli-linux-x64-musl')).toEqual({ cpu: ['x64'], libc: ['musl'], os: ['linux'] })
    expect(platformOf('@deno/win32-arm64')).toEqual({ cpu: ['arm64'], os: ['win32'] })
    expect(platformOf('@esbuild/openharmony-arm64')).toEqual({ cpu: ['arm64'], os: ['openharmony'] })
    expect(platformOf('fsevents')).toBeUndefined()
  })
})
