import { createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
const client = createClient({ connection: createChdbConnection({ path: '/tmp/chdbtest' }) } as any);
const r = await client.query({ query: 'SELECT version() v, {x:UInt32} + 1 y', query_params: { x: 41 }, format: 'JSONEachRow' });
console.log(await r.json());
await client.close();
