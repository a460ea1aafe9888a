import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The root logger: pino JSON on stdout. Components take `logger.child({ component })`.
 * Authorization headers, tokens and secrets are redacted wherever they appear.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sending-metrics' },
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          'authorization',
          'token',
          'secret',
          'password',
          '*.token',
          '*.secret',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
