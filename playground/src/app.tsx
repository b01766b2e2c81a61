import type { ReactElement } from 'react'
import { BigDataPage } from './pages/big-data.js'
import { ChatPage } from './pages/chat.js'
import { DownloadPage } from './pages/download.js'
import { LiveFeedPage } from './pages/live-feed.js'
import { TokenStreamPage } from './pages/token-stream.js'
import { type RoutePath, routes, useRoute } from './router.js'

const pages: Record<RoutePath, () => ReactElement> = {
  feed: LiveFeedPage,
  tokens: TokenStreamPage,
  data: BigDataPage,
  chat: ChatPage,
  download: DownloadPage,
}

/** The shell: a sidebar with the five pages and the current page. Each page owns its connection. */
export function App(): ReactElement {
  const route = useRoute()
  const Page = pages[route]
  return (
    <div className="app">
      <aside className="sidebar">
        <a className="brand" href="#/feed">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span>
            <strong>Sluice</strong>
            <small>playground</small>
          </span>
        </a>
        <nav aria-label="Demos">
          {routes.map((item, index) => (
            <a
              key={item.path}
              href={`#/${item.path}`}
              className={item.path === route ? 'nav-item active' : 'nav-item'}
              aria-current={item.path === route ? 'page' : undefined}
            >
              <span className="nav-index">{index + 1}</span>
              <span>
                <span className="nav-title">{item.title}</span>
                <span className="nav-subtitle">{item.subtitle}</span>
              </span>
            </a>
          ))}
        </nav>
        <footer className="sidebar-footer">
          <p>
            Every page talks to the demo server on this port, built only on <code>@sluice/server-kit</code> and{' '}
            <code>node:http</code>.
          </p>
        </footer>
      </aside>
      <main className="main">
        {/* A new key per route unmounts the old page, so its connection closes when you leave. */}
        <Page key={route} />
      </main>
    </div>
  )
}
