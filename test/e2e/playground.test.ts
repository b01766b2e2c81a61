import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, it } from 'vitest'
import {
  launchChromium,
  numberIn,
  openPage,
  type Playground,
  screenshotDir,
  startPlayground,
  until,
  type WatchedPage,
} from './harness.js'

let playground: Playground
let browser: Browser
const watched: WatchedPage[] = []

beforeAll(async () => {
  mkdirSync(screenshotDir, { recursive: true })
  playground = await startPlayground()
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  // With the browser gone mid-stream on some pages, the server must still shut down cleanly:
  // its SIGTERM handler ends every stream and socket and exits 0 (not killed after 5 s).
  const code = await playground?.stop()
  if (code !== 0) throw new Error(`The demo server did not exit cleanly (code ${code}).\n${playground.stderr()}`)
})

/** A fresh context and page at `route` of the playground. */
async function visit(route: string): Promise<WatchedPage> {
  const context = await browser.newContext({ acceptDownloads: true })
  const watchedPage = await openPage(context)
  watched.push(watchedPage)
  await watchedPage.page.goto(`${playground.url}/#/${route}`)
  return watchedPage
}

/** The shell every page shares: its title, the five-page sidebar and the network panel. */
async function expectShell(page: Page, heading: string): Promise<void> {
  const title = await page.getByRole('heading', { level: 1 }).textContent()
  const links = await page.getByRole('navigation', { name: 'Demos' }).getByRole('link').allTextContents()
  const network = await page.getByLabel('Network').isVisible()
  if (title !== heading || links.length !== 5 || !network) {
    throw new Error(`Unexpected shell: title ${JSON.stringify(title)}, ${links.length} links, network panel ${network}`)
  }
}

function status(page: Page, testId: string): Promise<string | null> {
  return page.getByTestId(testId).getAttribute('data-status')
}

async function waitForStatus(page: Page, testId: string, expected: string | RegExp, timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    ([id, source]) => {
      const value = document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-status') ?? ''
      return new RegExp(source as string).test(value)
    },
    [testId, typeof expected === 'string' ? `^${expected}$` : expected.source],
    { timeout },
  )
}

async function waitForNumber(page: Page, testId: string, atLeast: number, timeout = 20_000): Promise<void> {
  await page.waitForFunction(
    ([id, min]) => {
      const text = document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''
      return Number(text.replace(/[^\d-]/g, '')) >= (min as number)
    },
    [testId, atLeast],
    { timeout },
  )
}

describe('playground (built, in Chromium)', () => {
  it('1. live feed: shows ticks, and after "Drop connection" reconnects and resumes with no gap', async ({
    expect,
  }) => {
    const { page, errors } = await visit('feed')
    await expectShell(page, 'Live feed')
    await waitForStatus(page, 'feed-status', 'open')
    await waitForNumber(page, 'received', 8)
    await waitForNumber(page, 'network-bytes', 1)
    expect(await page.locator('svg.chart path.chart-line').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/)
    await page.screenshot({ path: join(screenshotDir, '1-live-feed.png') })

    const before = await numberIn(page, 'received')
    const statsBefore = await playground.stats()
    await page.getByTestId('drop').click()
    // The server cut the stream and holds reconnections for a second: the client must resume.
    await waitForNumber(page, 'connections', 2)
    await waitForStatus(page, 'feed-status', 'open')
    await waitForNumber(page, 'received', before + 10)
    // Ticks published while the client was away came back through Last-Event-ID replay.
    await waitForNumber(page, 'replayed', 1)
    expect(await numberIn(page, 'gaps')).toBe(0)
    expect(await numberIn(page, 'duplicates')).toBe(0)
    const statsAfter = await playground.stats()
    expect(statsAfter.feed.drops).toBeGreaterThan(statsBefore.feed.drops)
    expect(statsAfter.feed.resumes).toBeGreaterThan(statsBefore.feed.resumes)
    await page.screenshot({ path: join(screenshotDir, '1-live-feed-after-drop.png') })
    // Leaving the page unmounts it, and its connection closes: the server sees no subscriber left.
    await page.getByRole('link', { name: /Token stream/ }).click()
    await until(async () => (await playground.stats()).feed.subscribers === 0, 'the feed subscription to end')
    expect(errors).toEqual([])
  })

  it('2. token stream: streams tokens, Stop aborts the request on the server, an error mid-stream is shown', async ({
    expect,
  }) => {
    const { page, errors } = await visit('tokens')
    await expectShell(page, 'Token stream')
    await page.getByTestId('prompt').fill('What does Stop do?')
    await page.getByTestId('send').click()
    await waitForStatus(page, 'token-status', 'streaming')
    await page.waitForFunction(() => {
      const meta = document.querySelector('[data-testid="answer"] .bubble-meta')?.textContent ?? ''
      return Number.parseInt(meta, 10) >= 8
    })
    await page.screenshot({ path: join(screenshotDir, '2-token-stream.png') })
    await page.getByTestId('stop').click()
    await page.waitForSelector('[data-testid="answer"][data-outcome="stopped"]')
    // The server saw the client leave: its generator ended early and recorded the abort.
    await until(
      async () => (await playground.stats()).tokens[0]?.outcome === 'aborted',
      'the server to record the abort',
    )
    const record = (await playground.stats()).tokens[0]!
    expect(record.tokens).toBeGreaterThanOrEqual(8)
    // The full answer is 123 tokens: the server stopped well before the end.
    expect(record.tokens).toBeLessThan(123)
    await page.waitForSelector('[data-testid="server-log"] li[data-outcome="aborted"]')

    await page.getByLabel('Fail mid-stream').check()
    await page.getByTestId('send').click()
    await page.waitForSelector('[data-testid="token-error"]', { timeout: 10_000 })
    expect(await page.getByTestId('token-error').textContent()).toMatch(/failed after 25 tokens/)
    await waitForStatus(page, 'token-status', 'error')
    await until(
      async () => (await playground.stats()).tokens[0]?.outcome === 'failed',
      'the server to record the failure',
    )
    await page.screenshot({ path: join(screenshotDir, '2-token-stream-error.png') })
    expect(errors).toEqual([])
  })

  it('3. big data: loads 100,000 NDJSON rows with progress and the latest rows', async ({ expect }) => {
    const { page, errors } = await visit('data')
    await expectShell(page, 'Big data')
    await page.getByTestId('load').click()
    await page.waitForFunction(
      () => document.querySelector('[data-testid="row-count"]')?.getAttribute('data-count') === '100000',
      undefined,
      { timeout: 40_000 },
    )
    await waitForStatus(page, 'rows-status', 'done')
    const firstRow = await page.getByTestId('latest-rows').locator('tr').first().locator('td').first().textContent()
    expect(firstRow).toBe('100,000')
    expect(await page.getByTestId('latest-rows').locator('tr').count()).toBe(10)
    expect(await numberIn(page, 'rows-per-second')).toBeGreaterThan(0)
    // 100,000 messages, each reduced, but renders throttled (100 ms): a few hundred at most, not 100,000.
    const renders = await numberIn(page, 'renders')
    expect(renders).toBeGreaterThan(1)
    expect(renders).toBeLessThan(1000)
    await page.screenshot({ path: join(screenshotDir, '3-big-data.png') })
    expect(errors).toEqual([])
  })

  it('4. chat: two browsers chat; a line sent while the socket is down arrives after the reconnect', async ({
    expect,
  }) => {
    const alice = await visit('chat')
    const bob = await visit('chat')
    await expectShell(alice.page, 'Chat')
    await waitForStatus(alice.page, 'chat-status', 'open')
    await waitForStatus(bob.page, 'chat-status', 'open')
    await waitForNumber(alice.page, 'presence', 2)
    await waitForNumber(bob.page, 'presence', 2)

    await alice.page.getByTestId('chat-input').fill('hello from alice')
    await alice.page.getByTestId('chat-send').click()
    await bob.page.getByTestId('chat-lines').getByText('hello from alice').waitFor()
    await bob.page.getByTestId('chat-input').fill('hi alice, bob here')
    await bob.page.getByTestId('chat-send').click()
    await alice.page.getByTestId('chat-lines').getByText('hi alice, bob here').waitFor()

    await alice.page.getByTestId('restart').click()
    await waitForStatus(alice.page, 'chat-status', /^(reconnecting|connecting)$/)
    await alice.page.getByTestId('chat-input').fill('sent while offline')
    await alice.page.getByTestId('chat-send').click()
    // It waits in the queue, visibly, while the socket is down.
    await alice.page.getByTestId('chat-queued').getByText('sent while offline').waitFor()
    await alice.page.screenshot({ path: join(screenshotDir, '4-chat-offline.png') })
    await waitForStatus(alice.page, 'chat-status', 'open')
    // Delivered lines only (`chat-line`): for a moment Alice's page shows the line both as sent
    // (echoed by the server) and as queued, until the queue's snapshot is published.
    await bob.page.getByTestId('chat-line').filter({ hasText: 'sent while offline' }).waitFor()
    await alice.page.getByTestId('chat-line').filter({ hasText: 'sent while offline' }).waitFor()
    await alice.page.getByTestId('chat-queued').waitFor({ state: 'detached' })
    // Exactly once on each side: the queue flushed it once.
    expect(await bob.page.getByTestId('chat-line').filter({ hasText: 'sent while offline' }).count()).toBe(1)
    expect(await alice.page.getByTestId('chat-line').filter({ hasText: 'sent while offline' }).count()).toBe(1)
    expect((await playground.stats()).chat.restarts).toBeGreaterThanOrEqual(1)
    await waitForNumber(bob.page, 'presence', 2)
    await bob.page.screenshot({ path: join(screenshotDir, '4-chat.png') })
    expect(alice.errors).toEqual([])
    expect(bob.errors).toEqual([])
  })

  it('5. download: a streamed file is saved by the browser with its name and exact size; Cancel aborts', async ({
    expect,
  }) => {
    const { page, errors } = await visit('download')
    await expectShell(page, 'Download')
    await page.getByTestId('size').selectOption(String(10 * 1024 * 1024))
    const saved = page.waitForEvent('download')
    await page.getByTestId('download').click()
    const download = await saved
    expect(download.suggestedFilename()).toBe('sluice-sensors-10MB.csv')
    const folder = mkdtempSync(join(tmpdir(), 'sluice-e2e-'))
    try {
      const path = join(folder, download.suggestedFilename())
      await download.saveAs(path)
      expect(statSync(path).size).toBe(10 * 1024 * 1024)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
    await waitForStatus(page, 'download-status', 'done')
    expect(await page.getByTestId('saved-as').textContent()).toBe('sluice-sensors-10MB.csv')
    expect(await page.getByTestId('download-loaded').getAttribute('data-loaded')).toBe(String(10 * 1024 * 1024))
    await page.screenshot({ path: join(screenshotDir, '5-download.png') })

    await page.getByTestId('size').selectOption(String(200 * 1024 * 1024))
    await page.getByTestId('download').click()
    // Cancel at once: the server now writes the generated file in batches, and over loopback 200 MB
    // could finish between a first progress report and a click that waited for it.
    await page.getByTestId('cancel').click()
    await waitForStatus(page, 'download-status', 'closed')
    expect(await status(page, 'download-status')).toBe('closed')
    expect(errors).toEqual([])
  })
})
