/** Erasing a customer's identifiers (GDPR Art. 17) without changing a count: raw rows, download files, the record of each request. */
export { ErasureService, type ErasureServiceOptions, type ErasureRequest } from './erasure-service.js';
export { ERASURE_STATES, type ErasureRecord, type ErasureState } from './erasure-store.js';
export { customerHash } from './customer-hash.js';
export { ERASED_PREFIX, RAW_TABLES, customerRows, mutationTarget } from './raw-events-erasure.js';
