// @ts-check
/** Requests to the API with the bearer token of this tab. */

/** @type {string | null} */
let token = null;
/** @type {(message: string) => void} */
let onRefused = () => {};

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @param {string | null} value the token requests carry from now on (null: signed out) */
export function setToken(value) {
  token = value;
}

/** The token requests carry now (null: signed out). */
export const currentToken = () => token;

/** @param {(message: string) => void} handler what a 401 does (signs out) */
export function onTokenRefused(handler) {
  onRefused = handler;
}

/**
 * The API's answer to a request; rejects with an ApiError unless it is a 2xx.
 * @param {string} path
 * @param {RequestInit} [options]
 */
export async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...(options.headers ?? {}),
    },
  });
  if (response.status === 401) {
    onRefused('Your token was refused (expired or not valid). Please sign in again.');
    throw new ApiError(401, 'not signed in');
  }
  if (!response.ok) {
    let message = `the server answered ${response.status}`;
    try {
      message = /** @type {{ error: { message: string } }} */ (await json(response)).error.message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

/**
 * The JSON of a response, unknown until the caller casts it to the answer's type (types.js).
 * @param {Response} response
 */
export async function json(response) {
  /** @type {unknown} */
  const body = await response.json();
  return body;
}

/**
 * The JSON answer of a GET (see json).
 * @param {string} path
 * @param {AbortSignal} [signal]
 */
export const read = async (path, signal) => json(await api(path, { signal }));

/**
 * The status of a failure, when it is the API's.
 * @param {unknown} error
 */
export const statusOf = (error) => (error instanceof ApiError ? error.status : undefined);

/**
 * The message of a failure.
 * @param {unknown} error
 */
export const messageOf = (error) => (error instanceof Error ? error.message : String(error));
