import { useDownload } from '@sluice/react'
import { type ReactElement, useState } from 'react'
import { formatBytes } from '../components/meter.js'
import { Card, NetworkPanel, PageHeader, Stat, type Status, StatusBadge } from '../components/ui.js'

const MB = 1024 * 1024
const SIZES = [10 * MB, 50 * MB, 200 * MB] as const

/**
 * Hands a finished download to the browser's own "save file" flow. The object URL is revoked a
 * little later: revoking it synchronously can cancel the save in some browsers.
 */
function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.rel = 'noopener'
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** Page 5: a generated file streamed by `sendStream`, read with progress by `useDownload`, then saved. */
export function DownloadPage(): ReactElement {
  const [size, setSize] = useState<number>(SIZES[1])
  const [savedAs, setSavedAs] = useState<string | undefined>(undefined)
  const [timing, setTiming] = useState<{ started: number; ended?: number } | undefined>(undefined)
  const download = useDownload({ throttle: 100 })

  async function start(): Promise<void> {
    setSavedAs(undefined)
    const started = performance.now()
    setTiming({ started })
    const result = await download.start(`/api/download?size=${size}`)
    setTiming({ started, ended: performance.now() })
    if (result === undefined) return
    const filename = result.filename ?? 'download.csv'
    saveBlob(result.blob, filename)
    setSavedAs(filename)
  }

  const { loaded, total } = download
  const percent = total ? Math.min(100, (loaded / total) * 100) : 0
  const seconds = timing ? ((timing.ended ?? performance.now()) - timing.started) / 1000 : 0
  const speed = seconds > 0 ? loaded / seconds : 0
  const status: Status =
    download.status === 'downloading'
      ? 'streaming'
      : download.status === 'aborted'
        ? 'closed'
        : (download.status satisfies Status)
  const busy = download.status === 'downloading'

  return (
    <>
      <PageHeader
        kicker="Byte stream · progress · abort"
        title="Download"
        tryThis={
          <span>
            Pick a size and press <strong>Download</strong>. The progress bar follows every chunk;{' '}
            <strong>Cancel</strong> aborts the request. When it completes, the browser saves the file under the name
            from <code>Content-Disposition</code>.
          </span>
        }
      >
        The server generates a CSV on the fly and streams it with <code>sendStream</code>, with{' '}
        <code>Content-Length</code> and <code>Content-Disposition: attachment</code>, pulling the next chunk only when
        the socket drains. The page reads it with <code>useDownload</code> (built on <code>readWithProgress</code> from{' '}
        <code>@sluice/client</code>), which reports bytes received against the announced total.
      </PageHeader>
      <div className="page-grid">
        <div className="stack">
          <Card
            title={
              <span className="row">
                Generated file <StatusBadge status={status} label={download.status} testId="download-status" />
              </span>
            }
            actions={
              <>
                <select
                  value={size}
                  onChange={(e) => setSize(Number(e.target.value))}
                  disabled={busy}
                  aria-label="File size"
                  data-testid="size"
                >
                  {SIZES.map((option) => (
                    <option key={option} value={option}>
                      {option / MB} MB
                    </option>
                  ))}
                </select>
                {busy ? (
                  <button key="cancel" type="button" className="danger" onClick={download.abort} data-testid="cancel">
                    Cancel
                  </button>
                ) : (
                  <button key="download" type="button" className="primary" onClick={start} data-testid="download">
                    Download
                  </button>
                )}
              </>
            }
          >
            <div
              className="progress"
              role="progressbar"
              aria-valuenow={Math.round(percent)}
              aria-valuemin={0}
              aria-valuemax={100}
            >
              <div style={{ width: `${percent}%` }} />
            </div>
            <div className="progress-caption">
              <span data-testid="download-loaded" data-loaded={loaded}>
                {formatBytes(loaded)} of {total === undefined ? 'unknown size' : formatBytes(total)}
              </span>
              <span>{percent.toFixed(0)}%</span>
            </div>
          </Card>
          <div className="stats">
            <Stat label="Speed" value={`${formatBytes(Math.round(speed))}/s`} />
            <Stat label="Elapsed" value={`${seconds.toFixed(2)} s`} />
            <Stat label="Saved as" value={savedAs ?? '–'} testId="saved-as" small />
          </div>
          {download.error && (
            <div className="alert alert-bad" role="alert">
              {download.error.message}
            </div>
          )}
          {download.status === 'aborted' && (
            <div className="alert alert-info">Cancelled: the request was aborted and the partial data dropped.</div>
          )}
          <Card title="Or let the browser do it">
            <p className="muted" style={{ margin: 0 }}>
              The same endpoint works as a plain link, <a href={`/api/download?size=${size}`}>download it natively</a>:
              the browser shows its own progress, and the server streams it exactly the same way.
            </p>
          </Card>
        </div>
        <NetworkPanel
          transport="fetch · byte stream"
          endpoint="/api/download"
          status={status}
          attempt={0}
          bytes={loaded}
          rows={[['Announced size', total === undefined ? '–' : formatBytes(total)]]}
        />
      </div>
    </>
  )
}
