import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'

/** A `redis-server` child on a loopback port, without persistence (so a restart loses the data). */
export interface RedisProcess {
  readonly port: number
  readonly url: string
  /** Kills the server (SIGKILL by default: a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port (empty: no persistence) and waits until it accepts connections. */
  restart(): Promise<void>
  /**
   * Freezes it (SIGSTOP): connections stay open and the kernel still accepts new ones, but nothing
   * answers, as with a hung server or a half-open connection after a failover.
   */
  pause(): void
  /** Unfreezes it (SIGCONT), with its data intact. */
  resume(): void
}

/** A port that was free a moment ago on 127.0.0.1 (redis-server cannot listen on port 0). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/**
 * Starts `redis-server --port N --save '' --appendonly no` bound to 127.0.0.1 and resolves once it
 * logs that it accepts connections (bounded by `timeoutMs`).
 */
export async function startRedis(timeoutMs = 10_000): Promise<RedisProcess> {
  const port = await freePort()
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = proc
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL')
        reject(new Error(`redis-server did not start within ${timeoutMs} ms on port ${port}:\n${output}`))
      }, timeoutMs)
      const onData = (chunk: Buffer) => {
        if (output.length < 20_000) output += chunk.toString()
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer)
          proc.stdout?.off('data', onData)
          // Keep draining so a chatty server never blocks on a full pipe.
          proc.stdout?.resume()
          resolve()
        }
      }
      proc.stdout?.on('data', onData)
      proc.stderr?.on('data', (chunk: Buffer) => {
        if (output.length < 20_000) output += chunk.toString()
      })
      proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`))
      })
    })
  }

  async function stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = child
    child = undefined
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill(signal)
    await exited
  }

  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    restart: async () => {
      await stop()
      await start()
    },
    pause: () => {
      child?.kill('SIGSTOP')
    },
    resume: () => {
      child?.kill('SIGCONT')
    },
  }
}
