import { Component, type ReactNode } from 'react'

/** Shows the caught error's message as `error: <message>`, so tests can find it by text. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null }

  static getDerivedStateFromError(error: Error): { error: Error } {
    return { error }
  }

  override render(): ReactNode {
    if (this.state.error) return <p role="alert">{`${this.state.error.name}: ${this.state.error.message}`}</p>
    return this.props.children
  }
}
