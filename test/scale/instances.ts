import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createEventStream, type EventStreamConnection, type FetchLike } from '@sluice/client'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = fileURLToPath(new URL('./fixtures/instance.mjs', import.meta.url))

/**
 * Builds `@sluice/client`, then `@sluice/server-kit` (which is type-checked against the client's
 * dist/), as `npm run build` does: the instances run the built packages as an application would,
 * through the packages' `exports`.
 */
export async function buildPackages(): Promise<void> {
  const tsc = `${root}node_modules/.bin/tsc`
  const run = promisify(execFile)
  for (const pkg of ['client', 'server-kit']) {
    await run(tsc, ['-p', `packages/${pkg}/tsconfig.build.json`], { cwd: root }).catch((error: { stdout?: string }) => {
      throw new Error(`building ${pkg} failed:\n${error.stdout ?? String(error)}`)
    })
  }
}

/** One server instance: a child process running fixtures/instance.mjs. */
export interface Instance {
  readonly name: string
  readonly port: number
  readonly child: ChildProcess
  alive: boolean
  /** Kills it (SIGKILL: a crash, no goodbye to its clients) and waits for it to exit. */
  kill(): Promise<void>
  /** What it wrote to stderr (bounded), for failure messages. */
  stderr(): string
}

/** Starts an instance and resolves once it listens (its live reader is ready); bounded. */
export function startInstance(name: string, env: Record<string, string>, timeoutMs = 20_000): Promise<Instance> {
  const child = spawn(process.execPath, [fixture], {
    cwd: root,
    env: { ...process.env, ...env, INSTANCE: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`instance ${name} did not start within ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    let stdout = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /LISTENING (\d+)/.exec(stdout)
      if (match === null) return
      clearTimeout(timer)
      child.stdout?.removeAllListeners('data')
      child.stdout?.resume()
      const instance: Instance = {
        name,
        port: Number(match[1]),
        child,
        alive: true,
        async kill() {
          instance.alive = false
          if (child.exitCode !== null || child.signalCode !== null) return
          const exited = new Promise((done) => child.once('exit', done))
          child.kill('SIGKILL')
          await exited
        },
        stderr: () => stderr,
      }
      resolve(instance)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`instance ${name} exited (${code ?? signal}) before listening:\n${stderr}`))
    })
  })
}

/** Publishes through an instance's HTTP endpoint; resolves with the id, or the error code on 503. */
export async function publish(
  instance: Instance,
  data: unknown,
): Promise<{ ok: true; id: string } | { ok: false; code: string }> {
  const response = await fetch(`http://127.0.0.1:${instance.port}/publish`, {
    method: 'POST',
    body: JSON.stringify(data),
  })
  const body = (await response.json()) as { id: string } | { code: string }
  return 'id' in body ? { ok: true, id: body.id } : { ok: false, code: body.code }
}

/** A message as a client received it. */
export interface Received {
  readonly id: string
  readonly event: string
  readonly data: string
}

/** An SSE client of the instances (the real `@sluice/client` connection). */
export interface TestClient {
  readonly connection: EventStreamConnection<string>
  readonly received: Received[]
  /** How many times the stream opened (1 + reconnections). */
  opens: number
  /** The instances it was connected to, in order. */
  readonly servedBy: string[]
}

/**
 * A client that starts on `instances[home]` and, like a client behind a load balancer without
 * sticky sessions, goes to the next instance when one refuses the connection. It resumes with
 * `Last-Event-ID` (the client does that on every reconnection).
 */
export function connectClient(instances: readonly Instance[], home: number): TestClient {
  let index = home
  const servedBy: string[] = []
  const failover: FetchLike = async (input, init) => {
    let lastError: unknown
    for (let tries = 0; tries < instances.length; tries++) {
      const target = instances[index % instances.length]!
      const url = new URL(input instanceof Request ? input.url : String(input))
      url.port = String(target.port)
      try {
        const response = await fetch(url, init)
        servedBy.push(target.name)
        return response
      } catch (error) {
        if (init?.signal?.aborted) throw error
        lastError = error
        index++
      }
    }
    throw lastError
  }
  const received: Received[] = []
  const client: TestClient = {
    connection: createEventStream(`http://127.0.0.1:${instances[home]!.port}/events`, {
      fetch: failover,
      retry: { initialDelay: 50, maxDelay: 500 },
      onOpen: () => {
        client.opens++
      },
      onMessage: (message) => {
        received.push({ id: message.id, event: message.event, data: message.data })
      },
    }),
    received,
    opens: 0,
    servedBy,
  }
  return client
}

/** sha256 over `id event data` lines: the same sequence, byte for byte, gives the same checksum. */
export function checksum(messages: readonly Received[]): string {
  const hash = createHash('sha256')
  for (const m of messages) hash.update(`${m.id} ${m.event} ${m.data}\n`)
  return hash.digest('hex')
}

/** Waits for a condition, checking every 10 ms; bounded, with a message that says what was awaited. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
