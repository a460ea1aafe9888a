/** CSV exports of a tenant's events and metric tables, streamed in short keyset pages. */
export {
  EXPORT_KINDS,
  EXPORT_FILTERS,
  EXPORT_COLUMNS,
  FILTER_VALUES,
  exportFileName,
  filtersProblem,
  isExportKind,
  type ExportKind,
  type ExportFilters,
  type ExportFilterName,
  type ExportRequest,
} from './export-kinds.js';
export { DEFAULT_PAGE_ROWS, eventPageQuery, type CsvChunk, type PageOptions } from './event-pages.js';
export { outreachRows, toCsv } from './metric-tables.js';
export { openExport, exportCsvChunks, validateExportRequest, type ExportProgress, type OpenedExport } from './export-source.js';
export { scanCsvPage, PageFormatError, type PageScan, type RowKey } from './page-scan.js';
