/** Queued CSV downloads: the job store, the files and the worker that writes them. */
export {
  DownloadService,
  TooManyDownloadsError,
  RESTARTED_NOTE,
  INTERRUPTED_TWICE,
  type DownloadServiceOptions,
  type DownloadSubmission,
  type DownloadKafkaOptions,
  DownloadsUnavailableError,
  downloadRequestsTopic,
  downloadStorageFromConfig,
} from './download-service.js';
export { LocalDownloadStorage, type DownloadStorage } from './download-storage.js';
export { S3DownloadStorage, describeS3Error } from './s3-storage.js';
export { DownloadStore, DOWNLOAD_STATUSES, type DownloadJob, type DownloadStatus } from './download-store.js';
export { DownloadFiles } from './download-files.js';
