/** Queued CSV downloads: the job store, the files and the worker that writes them. */
export {
  DownloadService,
  TooManyDownloadsError,
  RESTARTED_NOTE,
  INTERRUPTED_TWICE,
  type DownloadServiceOptions,
  type DownloadSubmission,
} from './download-service.js';
export { DownloadStore, DOWNLOAD_STATUSES, type DownloadJob, type DownloadStatus } from './download-store.js';
export { DownloadFiles } from './download-files.js';
