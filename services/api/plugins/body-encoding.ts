import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

/**
 * Every body the API reads is UTF-8 text (JSON, NDJSON, form fields) sent as it is. A body whose
 * Content-Type names another charset (`charset=utf-16`, `latin1`, …), or that has a
 * Content-Encoding (gzip, br, deflate, …), would otherwise be read as UTF-8 bytes and mangled or
 * refused for the wrong reason: it is answered 415 (UNSUPPORTED_CHARSET,
 * UNSUPPORTED_CONTENT_ENCODING) before it is read. `charset=utf-8` (any case, quoted or not, also
 * `utf8`) and `Content-Encoding: identity` are accepted. Requests without a body are not looked at.
 */

const UTF8_NAMES = new Set(['utf-8', 'utf8']);

/** Whether the request carries a body (RFC 9112 §6.3: a Transfer-Encoding, or a Content-Length above 0). */
function hasBody(request: FastifyRequest): boolean {
  const headers = request.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** The charset parameter of a Content-Type (lower case, unquoted), or undefined. */
export function charsetOf(contentType: string): string | undefined {
  const parameters = contentType.split(';').slice(1);
  for (const parameter of parameters) {
    const equals = parameter.indexOf('=');
    if (equals === -1) continue;
    if (parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue;
    let value = parameter.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    return value.toLowerCase();
  }
  return undefined;
}

/** Codings other than identity, as listed by the header (comma-separated, RFC 9110 §8.4). */
function codingsOf(header: string): string[] {
  return header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

const shown = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

export const bodyEncodingPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRequest', async (request) => {
      if (!hasBody(request)) return;
      const encoding = request.headers['content-encoding'];
      if (encoding !== undefined) {
        const codings = codingsOf(encoding);
        if (codings.length > 0) {
          throw new ApiError(
            'UNSUPPORTED_CONTENT_ENCODING',
            `a body with Content-Encoding ${shown(codings.join(', '))} is not accepted; send it unencoded (no Content-Encoding, or identity)`,
          );
        }
      }
      const type = request.headers['content-type'];
      if (type === undefined) return;
      const charset = charsetOf(type);
      if (charset !== undefined && !UTF8_NAMES.has(charset)) {
        throw new ApiError(
          'UNSUPPORTED_CHARSET',
          `a body in charset ${shown(charset)} is not accepted; send UTF-8 (charset=utf-8, or no charset parameter)`,
        );
      }
    });
  },
  { name: 'body-encoding' },
);
