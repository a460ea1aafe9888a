/** Queued CSV downloads: the job store, the files and the worker that writes them. */
export { DownloadService, type DownloadServiceOptions, downloadStorageFromConfig } from './download-service.js';
export { type DownloadSubmission } from './download-submissions.js';
export { TooManyDownloadsError, DownloadsUnavailableError } from './download-errors.js';
export { RESTARTED_NOTE, INTERRUPTED_TWICE } from './download-worker.js';
export { type DownloadKafkaOptions, downloadRequestsTopic, downloadKafkaFromConfig, requestMessage } from './download-requests.js';
export { LocalDownloadStorage, type DownloadStorage } from './download-storage.js';
export { S3DownloadStorage, describeS3Error } from './s3-storage.js';
export { DownloadStore, DOWNLOAD_STATUSES, type DownloadJob, type DownloadStatus } from './download-store.js';
export { DownloadFiles } from './download-files.js';
export { deleteCustomerFiles, fileContains, ERASED_NOTE, type CustomerFilesOptions } from './download-erasure.js';
