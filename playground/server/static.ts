import { createReadStream, type Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
}

/** The file's stats, or `undefined` when there is no such file (ENOENT, ENOTDIR: a 404 case, not an error). */
function fileInfo(path: string): Promise<Stats | undefined> {
  return stat(path).catch(() => undefined)
}

/**
 * Serves the built app (`vite build` output) from `root`. Any unknown path that is not a file gets
 * `index.html` (the app routes with the URL hash, so this only matters for a hand-typed path).
 * Paths are resolved inside `root` only: `..` segments cannot escape it.
 */
export function createStaticHandler(root: string): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const base = resolve(root)
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed')
      return
    }
    let pathname: string
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    } catch {
      // A malformed percent-escape (`/%E0%A4%A`) names no file: say so instead of a 500.
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('Malformed URL')
      return
    }
    let file = resolve(base, `.${sep}${normalize(pathname)}`)
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('Forbidden')
      return
    }
    let info = await fileInfo(file)
    if (info?.isDirectory()) {
      file = join(file, 'index.html')
      info = await fileInfo(file)
    }
    if (info === undefined || !info.isFile()) {
      file = join(base, 'index.html')
      info = await fileInfo(file)
      if (info === undefined) {
        res
          .writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
          .end('The playground is not built yet: run `npm run build -w @sluice/playground`.')
        return
      }
    }
    // Vite fingerprints everything under /assets/, so those never change; the HTML always may.
    const immutable = pathname.startsWith('/assets/')
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': String(info.size),
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    const stream = createReadStream(file)
    // A client that leaves mid-file must not leave the file descriptor open.
    res.on('close', () => stream.destroy())
    stream.on('error', (error) => res.destroy(error))
    stream.pipe(res)
  }
}
