/**
 * The reporting layer's face: exact range metrics over the 15-minute rollups and the raw edges
 * (see range.ts), and CSV exports of a tenant's events (one streamed query on the embedded engine,
 * short keyset pages on a server: event-pages.ts) and metric tables.
 * No HTTP here: the API, the downloads and the benchmarks read through this module.
 */
export { queryCampaigns, campaignsQuery, campaignCountsQuery, type CampaignRow } from './campaigns-query.js';
export {
  queryOutreach,
  queryOutreachPeriods,
  outreachQuery,
  outreachPeriodsQuery,
  emptyOutreachCounts,
  type OutreachCounts,
  type SmsCounts,
  type EmailCounts,
} from './outreach-query.js';
export {
  queryOutreachCampaigns,
  outreachCampaignsQuery,
  outreachCampaignCountsQuery,
  compareOutreachCampaignRows,
  emptyOutreachCampaignRow,
  type OutreachCampaignRow,
} from './outreach-campaigns-query.js';
export {
  RATE_DEFINITIONS,
  RATE_IDS,
  DEFAULT_MINIMUM_VOLUME,
  rateOf,
  ratesOf,
  rate,
  judge,
  judgedRate,
  rateDefinition,
  describeRates,
  type Rate,
  type JudgedRate,
  type Rates,
  type RateHealth,
  type RateDefinition,
  type RateThreshold,
} from './rates.js';
export { queryFreshness, cachedFreshness, freshnessQuery, type Freshness, type FreshnessOptions } from './freshness.js';
export { previousRange, change, changeTree, COMPARE_MODES, type CompareMode, type Change, type ChangeTree } from './compare.js';
export {
  queryTimeseries,
  timeseriesQuery,
  TIMESERIES_METRICS,
  MAX_TIMESERIES_BUCKETS,
  isRateMetric,
  type TimeseriesQuery,
  type TimeseriesPoint,
  type TimeseriesInterval,
} from './timeseries-query.js';
export { knownTimeZones } from './time-zones.js';
export { MIN_TIME_MS, MAX_TIME_MS, type MetricsRange } from './range.js';
export { rawEventsFrom, preciseRange, RAW_RETENTION_MARGIN_MS, type Precision } from './raw-retention.js';
export {
  MetricsQueryError,
  InvalidRangeError,
  InvalidArgumentError,
  UnknownMetricError,
  UnknownTimeZoneError,
  InvalidIntervalError,
  TooManyBucketsError,
} from './errors.js';

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
export { DEFAULT_PAGE_ROWS, eventExportQuery, eventPageQuery, type CsvChunk, type PageOptions } from './event-pages.js';
export { outreachRows, toCsv } from './metric-tables.js';
export { openExport, exportCsvChunks, validateExportRequest, type ExportProgress, type OpenedExport } from './export-source.js';
export { scanCsvPage, PageFormatError, type PageScan, type RowKey } from './page-scan.js';
export {
  AnswerCache,
  TenantDataVersions,
  cachedAnswer,
  approximateJsonBytes,
  DEFAULT_ANSWER_CACHE_BYTES,
  type AnswerCacheOptions,
  type AnswerCacheStats,
} from './answer-cache.js';
export { CampaignNames, compareUtf8, type CampaignNamesStats } from './campaign-names.js';
export { withQueryTimeLimit, isQueryTimeout } from './query-limits.js';
