// Helper processes of a measurement (servers, client fleets). Each one is tied to its parent's
// stdin: when the measurement exits or is killed, the pipe closes and the helper exits too.

import { spawn } from 'node:child_process'
import { once } from 'node:events'

/**
 * Starts `node <script> ...args` and resolves once it prints a line starting with `readyPrefix`
 * (the rest of that line is returned). Rejects if it exits first or stays silent for `timeoutMs`.
 */
export async function startHelper(
  script,
  args = [],
  { readyPrefix = 'PORT ', timeoutMs = 30_000, execArgv = [] } = {},
) {
  const child = spawn(process.execPath, [...execArgv, script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  let buf = ''
  const lines = []
  const waiters = []
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (d) => {
    buf += d
    let nl = buf.indexOf('\n')
    while (nl >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      lines.push(line)
      for (const w of [...waiters]) w()
      nl = buf.indexOf('\n')
    }
  })
  const exited = once(child, 'exit')
  /** Resolves with the first (new) line starting with `prefix`, rejecting on exit or timeout. */
  const waitLine = (prefix, ms = timeoutMs) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const i = lines.findIndex((l) => l.startsWith(prefix))
        if (i < 0) return false
        const [line] = lines.splice(i, 1)
        cleanup()
        resolve(line.slice(prefix.length))
        return true
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`helper ${script} printed no "${prefix}" line within ${ms} ms`))
      }, ms)
      const onExit = () => {
        cleanup()
        reject(new Error(`helper ${script} exited before printing "${prefix}"`))
      }
      const cleanup = () => {
        clearTimeout(timer)
        child.off('exit', onExit)
        const k = waiters.indexOf(check)
        if (k >= 0) waiters.splice(k, 1)
      }
      if (check()) return
      waiters.push(check)
      child.once('exit', onExit)
    })
  const ready = await waitLine(readyPrefix)
  return {
    child,
    ready,
    waitLine,
    send: (line) => child.stdin.write(`${line}\n`),
    async stop() {
      child.stdin.end()
      await exited
    },
  }
}

/**
 * Runs `node ...args` to its end (a measurement or profiling child): output captured up to a bound
 * (a chatty child cannot grow the parent's memory), killed after `timeoutMs`. Resolves
 * `{ code, signal, out, err, timedOut }`; never rejects.
 */
export function runChild(args, { timeoutMs, cwd, maxOut = 1e6 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production' },
      ...(cwd === undefined ? {} : { cwd }),
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      if (out.length < maxOut) out += d
    })
    child.stderr.on('data', (d) => {
      if (err.length < 1e5) err += d
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, err, timedOut })
    })
  })
}
