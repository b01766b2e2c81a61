import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { createResumableStreams, toNodeHandler } from '@sluice/server-kit'
import { fakeAnswer } from './tokens.js'

const TOKEN_MS = 35
const MAX_PROMPT = 2000

/** What the server saw of the resumable answers: the page and the e2e suite read it. */
export interface AnswerStats {
  /** How many times an answer's work started (one per POST, never per resume). */
  readonly runs: number
  /** Answers whose work ran to its end. */
  readonly completed: number
  /** `GET /api/answers/:id` requests: resumptions after a drop or a reload. */
  readonly resumes: number
  /** Answers kept (running, or finished and still resumable). */
  readonly kept: number
}

/**
 * `POST /api/answers` starts a fake LLM answer ONCE (`createResumableStreams`);
 * `GET /api/answers/:id` resumes it with `Last-Event-ID`, after a dropped connection or a reload.
 * Fetch-style handlers on `node:http` through `toNodeHandler`.
 */
export class ResumableAnswers {
  readonly #streams = createResumableStreams({ ttl: 5 * 60_000, maxStreams: 100 })
  readonly #counts = { runs: 0, completed: 0, resumes: 0 }

  readonly #handler = toNodeHandler(async (request) => {
    const { pathname } = new URL(request.url)
    if (request.method === 'GET') {
      this.#counts.resumes++
      return this.#streams.resume(request, decodeURIComponent(pathname.slice('/api/answers/'.length)))
    }
    let prompt: unknown
    try {
      prompt = ((await request.json()) as { prompt?: unknown } | null)?.prompt
    } catch {
      // Not JSON: answered 400 below like any other invalid body.
      prompt = undefined
    }
    if (typeof prompt !== 'string' || prompt.length > MAX_PROMPT) {
      return new Response(`Expected a JSON object { "prompt": string } of at most ${MAX_PROMPT} characters`, {
        status: 400,
      })
    }
    const tokens = fakeAnswer(prompt)
    const counts = this.#counts
    return this.#streams.start(request, async function* ({ signal }) {
      counts.runs++
      for (const token of tokens) {
        // Aborted only on server shutdown: a client leaving (a reload) does not stop the answer.
        await delay(TOKEN_MS, undefined, { signal })
        yield { event: 'token', data: token }
      }
      counts.completed++
    })
  })

  /** Handles `POST /api/answers` and `GET /api/answers/:id`. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.#handler(req, res)
  }

  stats(): AnswerStats {
    const { runs, completed, resumes } = this.#counts
    return { runs, completed, resumes, kept: this.#streams.size }
  }

  /** Shutdown: aborts running answers and ends every response. */
  close(): void {
    this.#streams.close()
  }
}
