// Adds the lockfile entries npm leaves out for other platforms' optional packages.
//
// Why: the registry this project is installed from serves only the Linux builds of some native
// packages (@biomejs/cli-*, @deno/*). `npm install` then writes no lockfile entry for the others,
// and `npm ci` refuses the lockfile ("Missing: @biomejs/cli-win32-x64@ from lock file") even on
// Linux, where it would skip them anyway. An entry with the platform fields is what npm writes when
// it can see them; `npm ci` skips it on every other platform without fetching anything.
//
// Run after `npm install` changes the lockfile: `node scripts/complete-lockfile.mjs` (the test
// test/repo/lockfile.test.ts fails while an entry is missing).
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const OS = ['aix', 'android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'openharmony', 'sunos', 'win32']
const CPU = ['arm', 'arm64', 'ia32', 'loong64', 'mips64el', 'ppc64', 'riscv64', 's390x', 'x64']
const LIBC = ['glibc', 'musl']

/** `@biomejs/cli-linux-x64-musl` -> { os: ['linux'], cpu: ['x64'], libc: ['musl'] }. */
export function platformOf(name) {
  const parts = name.slice(name.lastIndexOf('/') + 1).split('-')
  const os = parts.find((part) => OS.includes(part))
  const cpu = parts.find((part) => CPU.includes(part))
  const libc = parts.find((part) => LIBC.includes(part))
  if (os === undefined || cpu === undefined) return undefined
  return { cpu: [cpu], ...(libc ? { libc: [libc] } : {}), os: [os] }
}

/** The lockfile paths Node's resolution would look in for `name` required from `path`, nearest first. */
function lookupPaths(path, name) {
  const paths = []
  let dir = path
  for (;;) {
    paths.push(`${dir ? `${dir}/` : ''}node_modules/${name}`)
    if (dir === '') return paths
    const up = dir.lastIndexOf('/node_modules/')
    dir = up === -1 ? '' : dir.slice(0, up)
  }
}

/**
 * Optional dependencies declared in the lockfile that have no entry npm could resolve, each with the
 * place npm puts it: next to the package that declares it.
 */
export function missingOptional(lock) {
  const missing = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
      if (lookupPaths(path, name).some((candidate) => lock.packages[candidate])) continue
      const siblings = path.lastIndexOf('node_modules/')
      const at = `${siblings === -1 ? '' : path.slice(0, siblings)}node_modules/${name}`
      missing.push({ name, version, dev: entry.dev === true, at })
    }
  }
  return missing
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = fileURLToPath(new URL('../package-lock.json', import.meta.url))
  const lock = JSON.parse(readFileSync(file, 'utf8'))
  const added = []
  for (const { name, version, dev, at } of missingOptional(lock)) {
    const platform = platformOf(name)
    if (platform === undefined) throw new Error(`${name}: cannot tell its platform from the name; add it by hand`)
    lock.packages[at] = { version, ...platform, ...(dev ? { dev: true } : {}), optional: true }
    added.push(`${name}@${version}`)
  }
  lock.packages = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
  )
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
  process.stdout.write(added.length ? `added ${added.join(', ')}\n` : 'nothing missing\n')
}
