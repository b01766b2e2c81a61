export {}
export type { DownloadResult, DownloadState, DownloadStatus, UseDownloadOptions } from './use-download.js'
export { useDownload } from './use-download.js'
