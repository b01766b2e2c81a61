import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendStream } from '@sluice/server-kit'

/** Every line of the generated CSV has exactly this many bytes, so the total is known up front. */
const LINE = 64
/** Lines per chunk: 64 KiB chunks, the size a socket write likes. */
const LINES_PER_CHUNK = 1024
export const MAX_DOWNLOAD = 1024 * 1024 * 1024

/** Line `n` of the file, padded to {@link LINE} bytes (ASCII only, so characters = bytes). */
function line(n: number): string {
  if (n === 0) return `${'row,sensor,reading,checksum'.padEnd(LINE - 1, ' ')}\n`
  const h = Math.imul(n ^ 0x5bd1e995, 0x27d4eb2d) >>> 0
  const text = `${n},sensor-${(h % 64).toString().padStart(2, '0')},${((h % 100_000) / 1000).toFixed(3)},${h.toString(16)}`
  return `${text.padEnd(LINE - 1, ' ')}\n`
}

/**
 * `GET /api/download?size=BYTES`: a generated CSV of exactly `size` bytes (rounded down to whole
 * lines), served by `sendStream` with `Content-Length` and `Content-Disposition: attachment`.
 * Generated chunk by chunk as the socket drains: memory stays flat whatever the size.
 */
export function serveDownload(req: IncomingMessage, res: ServerResponse, shutdown: AbortSignal): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const requested = Number(url.searchParams.get('size') ?? 50 * 1024 * 1024)
  if (!Number.isInteger(requested) || requested < LINE || requested > MAX_DOWNLOAD) {
    res
      .writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
      .end(`"size" must be an integer number of bytes from ${LINE} to ${MAX_DOWNLOAD}`)
    return Promise.resolve()
  }
  const lines = Math.floor(requested / LINE)
  const megabytes = Math.round((lines * LINE) / (1024 * 1024))
  return sendStream(
    req,
    res,
    function* () {
      for (let start = 0; start < lines; start += LINES_PER_CHUNK) {
        let chunk = ''
        for (let n = start; n < Math.min(lines, start + LINES_PER_CHUNK); n++) chunk += line(n)
        yield chunk
      }
    },
    {
      signal: shutdown,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-length': String(lines * LINE),
        'content-disposition': `attachment; filename="sluice-sensors-${megabytes}MB.csv"`,
      },
    },
  )
}
