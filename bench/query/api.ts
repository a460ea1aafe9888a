/** 2. The API as it runs: buildApp listening on a local port, called with fetch and a signed token. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../services/api/app.js';
import { signToken } from '../../services/api/auth/tokens.js';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { Readiness } from '../../services/platform/health.js';
import type { Logger } from '../../services/platform/logger.js';
import type { AnswerCache, CampaignNames } from '../../services/reporting/index.js';

const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';

export interface ServedApi {
  app: FastifyInstance;
  /** http://127.0.0.1:<port> */
  base: string;
}

export interface ApiDeps {
  config: Config;
  logger: Logger;
  client: ClickHouseClient;
  names: CampaignNames;
  answers?: AnswerCache;
  /** Settings of config.api to change (the benchmark lifts the rate limits). */
  api: Partial<Config['api']>;
}

/** Builds the API and listens on a free port of 127.0.0.1. */
export async function serveApi({ config, logger, client, names, answers, api }: ApiDeps): Promise<ServedApi> {
  const app = await buildApp({
    config: { ...config, api: { ...config.api, ...api } },
    logger,
    clickhouse: client,
    readiness: new Readiness(),
    registry: new Registry(),
    jwtSecret: SECRET,
    answers,
    names,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** The Authorization header of a user of a tenant, valid for an hour. */
export const bearer = (tenantId: string, userId: string) => `Bearer ${signToken(SECRET, { tenantId, userId }, 3_600_000)}`;
