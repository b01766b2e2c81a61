import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The non-Node runtimes this suite runs, both installed from npm as root dev dependencies. */
export type Runtime = 'bun' | 'deno'

/** The runtimes, for `describe.each`. */
export const runtimes: readonly Runtime[] = ['bun', 'deno']

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Absolute path of a fixture script under `test/runtimes/fixtures/`. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
}

const binaries: Record<Runtime, string> = {
  bun: `${root}node_modules/.bin/bun`,
  deno: `${root}node_modules/.bin/deno`,
}

/**
 * The command line that runs `script` under `runtime`.
 *
 * Deno runs with the narrowest permissions the fixtures need: network on loopback only, reads
 * inside the repository (the fixtures import the built packages from `node_modules/@sluice/*`,
 * which Deno resolves through their `package.json` like Node) and two environment variables (see
 * below). Bun picks `fixtures/tsconfig.json`, which has no `paths`, so `@sluice/*` resolves to
 * `dist/` as it would for a user instead of to the sources the root `tsconfig.json` maps it to.
 */
function command(runtime: Runtime, script: string, args: readonly string[]): [string, string[]] {
  const binary = binaries[runtime]
  if (runtime === 'bun') return [binary, ['run', script, ...args]]
  return [
    binary,
    [
      'run',
      '--no-prompt',
      '--allow-net=127.0.0.1',
      `--allow-read=${root}`,
      // No --allow-env: the fixtures import `@sluice/server-kit/fetch`, which never loads `ws` (the
      // root entry would, and ws reads environment variables at import time).
      script,
      ...args,
    ],
  ]
}

/** One line a fixture printed on stdout: a JSON object with a `type`, or the raw text. */
export interface RuntimeEvent {
  type: string
  [key: string]: unknown
}

interface Waiter {
  predicate: (event: RuntimeEvent) => boolean
  resolve: (event: RuntimeEvent) => void
  reject: (error: Error) => void
}

/** Bounds on what the harness keeps from a child: a runaway fixture fails the test, not the machine. */
const MAX_LINE = 1024 * 1024
const MAX_EVENTS = 100_000
const MAX_STDERR = 64 * 1024

/**
 * A runtime running one fixture as a child process in its own process group.
 *
 * It owns the child: {@link RuntimeProcess.close} kills the whole group (the runtime may start
 * helper processes) and waits for the exit. Every stdout line is parsed as a JSON event; waiting for
 * an event is bounded in time and fails at once, with the child's stderr, if the child exits.
 */
export class RuntimeProcess {
  readonly events: RuntimeEvent[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #child: ChildProcess
  #stderr = ''
  #stdoutRest = ''
  #waiters = new Set<Waiter>()
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  #failure: Error | undefined

  constructor(
    readonly runtime: Runtime,
    readonly script: string,
    args: readonly string[] = [],
    env: Record<string, string> = {},
  ) {
    const [file, argv] = command(runtime, script, args)
    if (!existsSync(file)) throw new Error(`${runtime} is not installed at ${file}; run npm install at the root`)
    this.#child = spawn(file, argv, {
      cwd: fileURLToPath(new URL('./fixtures/', import.meta.url)),
      // A new process group, so close() can signal the runtime and anything it started at once.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DO_NOT_TRACK: '1', ...env },
    })
    this.#child.stdout?.setEncoding('utf8')
    this.#child.stderr?.setEncoding('utf8')
    this.#child.stdout?.on('data', (chunk: string) => this.#onStdout(chunk))
    this.#child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-MAX_STDERR)
    })
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': it comes once the process has exited AND its stdio pipes are closed,
      // so a resolved `exited` means this process holds nothing of the child any more.
      this.#child.on('close', (code, signal) => {
        const exit = { code, signal }
        this.#exit = exit
        // Node closes the child's process handle with uv_close, whose callback runs in the close
        // phase of the current loop turn, after this event. A 0 ms timer runs in the next turn, so
        // once `exited` resolves this process holds no handle of the child at all.
        setTimeout(() => resolve(exit), 0)
        this.#failAll(new Error(`${this.#describe()} exited (code ${code}, signal ${signal})${this.#stderrTail()}`))
      })
      this.#child.on('error', (error) => {
        this.#exit = { code: null, signal: null }
        resolve(this.#exit)
        this.#failAll(new Error(`${this.#describe()} could not start: ${error.message}`))
      })
    })
  }

  /** Everything the child wrote on stderr so far (the last 64 KiB). */
  get stderr(): string {
    return this.#stderr
  }

  /**
   * The first event, already received or still to come, for which `predicate` holds.
   *
   * Rejects when `timeout` ms pass first, or when the child exits first, with the child's stderr in
   * the message so a crashing fixture explains itself in the test output.
   */
  waitFor(
    predicate: (event: RuntimeEvent) => boolean,
    { timeout = 10_000, what = 'an event' }: { timeout?: number; what?: string } = {},
  ): Promise<RuntimeEvent> {
    const seen = this.events.find(predicate)
    if (seen) return Promise.resolve(seen)
    if (this.#failure) return Promise.reject(this.#failure)
    return new Promise<RuntimeEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter)
        reject(new Error(`${this.#describe()}: no ${what} within ${timeout} ms${this.#stderrTail()}`))
      }, timeout)
      const waiter: Waiter = {
        predicate,
        resolve: (event) => {
          clearTimeout(timer)
          resolve(event)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
      this.#waiters.add(waiter)
    })
  }

  /** Waits for the event of the given `type` (and matching `fields`, if given). */
  waitForType(type: string, fields: Record<string, unknown> = {}, timeout?: number): Promise<RuntimeEvent> {
    return this.waitFor((event) => event.type === type && Object.entries(fields).every(([k, v]) => event[k] === v), {
      ...(timeout === undefined ? {} : { timeout }),
      what: `"${type}" event ${JSON.stringify(fields)}`,
    })
  }

  /**
   * Kills the process group (SIGTERM, then SIGKILL if it has not exited within 5 s) and waits for
   * the exit. Safe to call twice or after the child exited on its own.
   */
  async close(): Promise<void> {
    if (this.#exit) {
      await this.exited
      return
    }
    this.#signalGroup('SIGTERM')
    const killer = setTimeout(() => this.#signalGroup('SIGKILL'), 5_000)
    await this.exited
    clearTimeout(killer)
  }

  /**
   * Waits, bounded in time, for a child that is meant to finish on its own (a client script) and
   * fails with its stderr unless it exits with code 0.
   */
  async finished(timeout = 30_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeout)
    })
    const result = await Promise.race([this.exited, timedOut])
    clearTimeout(timer)
    if (result === 'timeout') {
      await this.close()
      throw new Error(`${this.#describe()} did not finish within ${timeout} ms${this.#stderrTail()}`)
    }
    if (result.code !== 0) {
      throw new Error(`${this.#describe()} failed (code ${result.code}, signal ${result.signal})${this.#stderrTail()}`)
    }
  }

  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child.pid
    if (pid === undefined || this.#exit) return
    try {
      process.kill(-pid, signal)
    } catch (error) {
      // ESRCH: the group is already gone between the check above and the kill; nothing to end.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
    }
  }

  #onStdout(chunk: string): void {
    this.#stdoutRest += chunk
    let newline = this.#stdoutRest.indexOf('\n')
    while (newline !== -1) {
      const line = this.#stdoutRest.slice(0, newline).trim()
      this.#stdoutRest = this.#stdoutRest.slice(newline + 1)
      if (line !== '') this.#onLine(line)
      newline = this.#stdoutRest.indexOf('\n')
    }
    if (this.#stdoutRest.length > MAX_LINE) {
      this.#failAll(new Error(`${this.#describe()} printed a line longer than ${MAX_LINE} characters`))
      void this.close()
    }
  }

  #onLine(line: string): void {
    let event: RuntimeEvent
    try {
      const parsed: unknown = JSON.parse(line)
      event =
        typeof parsed === 'object' && parsed !== null && typeof (parsed as RuntimeEvent).type === 'string'
          ? (parsed as RuntimeEvent)
          : { type: 'text', text: line }
    } catch {
      // Not JSON: a runtime warning or a stray console.log; keep it as text so nothing is lost.
      event = { type: 'text', text: line }
    }
    if (this.events.length >= MAX_EVENTS) {
      this.#failAll(new Error(`${this.#describe()} printed more than ${MAX_EVENTS} lines`))
      void this.close()
      return
    }
    this.events.push(event)
    if (event.type === 'fatal') {
      this.#failAll(new Error(`${this.#describe()} reported: ${String(event.message)}${this.#stderrTail()}`))
      return
    }
    for (const waiter of this.#waiters) {
      if (waiter.predicate(event)) {
        this.#waiters.delete(waiter)
        waiter.resolve(event)
      }
    }
  }

  #failAll(error: Error): void {
    this.#failure ??= error
    for (const waiter of this.#waiters) waiter.reject(error)
    this.#waiters.clear()
  }

  #describe(): string {
    return `${this.runtime} ${this.script.slice(this.script.lastIndexOf('/') + 1)}`
  }

  #stderrTail(): string {
    const text = this.#stderr.trim()
    return text === '' ? '' : `\n--- ${this.runtime} stderr ---\n${text.slice(-4_000)}`
  }
}

/** A fixture server running in a runtime, ready to take requests. */
export interface RuntimeServer {
  process: RuntimeProcess
  /** `http://127.0.0.1:<port>`, the port the server picked itself (it listens on port 0). */
  url: string
  /** The `ready` event: the runtime's version and where `@sluice/*` resolved from. */
  ready: RuntimeEvent
}

/**
 * Starts a fixture server under `runtime` and waits (bounded) for its `ready` line, which carries
 * the port it bound on 127.0.0.1. The caller owns the result: close it in `afterAll`.
 *
 * @example
 * const server = await startServer('bun', fixture('fetch-server.ts'))
 * afterAll(() => server.process.close())
 */
export async function startServer(
  runtime: Runtime,
  script: string,
  { timeout = 30_000, args = [] }: { timeout?: number; args?: string[] } = {},
): Promise<RuntimeServer> {
  const child = new RuntimeProcess(runtime, script, args)
  try {
    const ready = await child.waitForType('ready', {}, timeout)
    return { process: child, url: `http://127.0.0.1:${String(ready.port)}`, ready }
  } catch (error) {
    await child.close()
    throw error
  }
}
