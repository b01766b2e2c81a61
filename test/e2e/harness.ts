import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

const root = fileURLToPath(new URL('../../', import.meta.url))
const serverEntry = `${root}playground/dist-server/main.js`
const appEntry = `${root}playground/dist/index.html`

/** Where screenshots go (git-ignored). */
export const screenshotDir = fileURLToPath(new URL('./screenshots/', import.meta.url))

/** The built demo server running as a child process on 127.0.0.1 and a free port. */
export interface Playground {
  readonly url: string
  /** What the server printed on stderr so far (shown when something fails). */
  readonly stderr: () => string
  /** JSON from the demo server's `/api/stats` (what the server saw). */
  stats<T = PlaygroundStats>(): Promise<T>
  /**
   * SIGTERM, then SIGKILL if it has not exited within 5 s. Resolves with the exit code: 0 means the
   * server closed every stream, socket and timer it owned and exited on its own.
   */
  stop(): Promise<number | null>
}

/** The subset of `/api/stats` the suite reads. */
export interface PlaygroundStats {
  feed: { subscribers: number; lastSeq: number; drops: number; resumes: number }
  tokens: { id: number; tokens: number; outcome: string }[]
  chat: { clients: number; up: boolean; restarts: number; lines: number }
}

/**
 * Starts `playground/dist-server/main.js` with `PORT=0` and waits (at most 15 s) for the line that
 * names its URL. Fails with a clear message when the playground was not built.
 */
export async function startPlayground(): Promise<Playground> {
  if (!existsSync(serverEntry) || !existsSync(appEntry)) {
    throw new Error('The playground is not built: run `npm run build` (it builds the packages and the playground).')
  }
  const child: ChildProcess = spawn(process.execPath, [serverEntry], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const exited = once(child, 'exit')
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`The demo server did not start within 15 s.\n${stderr}`)), 15_000)
    const onData = (chunk: string) => {
      stdout += chunk
      const match = /ready at (http:\/\/\S+)/.exec(stdout)
      if (match?.[1]) finish(undefined, match[1].replace(/\/$/, ''))
    }
    const onExit = (code: number | null) =>
      finish(new Error(`The demo server exited (${code}) before it was ready.\n${stderr}`))
    function finish(error: Error | undefined, value?: string): void {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(value!)
    }
    child.stdout?.setEncoding('utf8').on('data', onData)
    child.on('exit', onExit)
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL')
    await exited
    throw error
  })
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout?.resume()
  return {
    url,
    stderr: () => stderr,
    async stats<T>() {
      const response = await fetch(`${url}/api/stats`)
      return (await response.json()) as T
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      const [code] = (await exited) as [number | null]
      clearTimeout(timer)
      return code
    },
  }
}

/** Debian's Chromium, headless; never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}

/** A page that records every console error and uncaught exception, to assert there were none. */
export interface WatchedPage {
  readonly page: Page
  readonly errors: string[]
}

/** Opens a page (1280×860) in `context` and records console errors and page errors. */
export async function openPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage()
  await page.setViewportSize({ width: 1360, height: 900 })
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`)
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  return { page, errors }
}

/** The number in an element's `data-*` attribute or text (digits only). */
export async function numberIn(page: Page, testId: string): Promise<number> {
  const text = (await page.getByTestId(testId).textContent()) ?? ''
  return Number(text.replace(/[^\d-]/g, ''))
}

/** Polls `check` every 50 ms until it returns true, for at most `timeout` ms. */
export async function until(check: () => Promise<boolean>, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
