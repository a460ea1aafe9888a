import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(config.localKafka).toBe(true);
    expect(config.clickhouseUrl).toBeUndefined();
    expect(config.clickhouseDataPath).toMatch(/data\/clickhouse$/);
    expect(config.clickhouseDatabase).toBe('default');
    expect(config.topicPartitions).toBe(6);
  });

  it('takes the database from the ClickHouse URL path, or CLICKHOUSE_DATABASE', () => {
    expect(loadConfig({ CLICKHOUSE_URL: 'http://u:p@ch:8123/metrics' }).clickhouseDatabase).toBe('metrics');
    expect(loadConfig({ CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_DATABASE: 'other' }).clickhouseDatabase).toBe('other');
    expect(() => loadConfig({ CLICKHOUSE_URL: 'http://ch:8123/a-b' })).toThrow(/CLICKHOUSE_URL="a-b" does not name a database/);
  });

  it('downloads: empty DOWNLOADS_URL and DOWNLOADS_S3_ENDPOINT mean unset (blank Helm or Compose values)', () => {
    const blank = loadConfig({ DOWNLOADS_URL: '', DOWNLOADS_S3_ENDPOINT: ' ' }).downloads;
    expect(blank.url).toBeUndefined();
    expect(blank.s3Endpoint).toBeUndefined();
    const set = loadConfig({ DOWNLOADS_URL: 's3://files/p', DOWNLOADS_S3_ENDPOINT: 'http://s3:8333' }).downloads;
    expect(set.url?.toString()).toBe('s3://files/p');
    expect(set.s3Endpoint).toBe('http://s3:8333/');
    expect(() => loadConfig({ DOWNLOADS_S3_ENDPOINT: 's3:8333' })).toThrow(/DOWNLOADS_S3_ENDPOINT="s3:8333" has protocol s3:/);
  });

  it('accepts a broker list and marks it as not local', () => {
    const config = loadConfig({ KAFKA_BROKERS: 'kafka-1:9092, [::1]:9093' });
    expect(config.kafkaBrokers).toEqual(['kafka-1:9092', '[::1]:9093']);
    expect(config.localKafka).toBe(false);
  });

  it('names the variable and the accepted form', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(
      new ConfigError('PORT="70000" is out of range; expected an integer from 0 to 65535'),
    );
    expect(() => loadConfig({ INGEST_MAX_INVALID_RATIO: '2' })).toThrow(
      /INGEST_MAX_INVALID_RATIO="2" is not a ratio; expected a number from 0 to 1/,
    );
    expect(() => loadConfig({ TOPIC_PREFIX: 'a b' })).toThrow(/TOPIC_PREFIX="a b" has characters Kafka does not allow/);
  });

  it('SCHEMA_REGISTRY_URL: unset by default; http(s) only, credentials in their own variables, never echoed', () => {
    expect(loadConfig({}).schemaRegistry).toBeUndefined();
    expect(loadConfig({ SCHEMA_REGISTRY_URL: '' }).schemaRegistry).toBeUndefined();
    const plain = loadConfig({ SCHEMA_REGISTRY_URL: 'http://registry:8081' }).schemaRegistry!;
    expect(plain.url.toString()).toBe('http://registry:8081/');
    expect(plain.username).toBeUndefined();
    const auth = loadConfig({
      SCHEMA_REGISTRY_URL: 'https://r/apis/ccompat/v7',
      SCHEMA_REGISTRY_USERNAME: 'u',
      SCHEMA_REGISTRY_PASSWORD: 's3cret',
    });
    expect(auth.schemaRegistry).toMatchObject({ username: 'u', password: 's3cret' });
    expect(() => loadConfig({ SCHEMA_REGISTRY_URL: 'registry:8081' })).toThrow(
      /^SCHEMA_REGISTRY_URL="registry:8081" has protocol registry:/,
    );
    expect(() => loadConfig({ SCHEMA_REGISTRY_URL: 'http://u:s3cret@r' })).toThrow(
      /^SCHEMA_REGISTRY_URL="http:\/\/u:\*\*\*@r" has credentials in it/,
    );
    expect(() => loadConfig({ SCHEMA_REGISTRY_URL: 'http://r', SCHEMA_REGISTRY_PASSWORD: 's3cret' })).toThrow(
      /^SCHEMA_REGISTRY_PASSWORD is set without SCHEMA_REGISTRY_USERNAME/,
    );
    expect(() => loadConfig({ SCHEMA_REGISTRY_USERNAME: 'u' })).toThrow(/^SCHEMA_REGISTRY_USERNAME is set but SCHEMA_REGISTRY_URL is not/);
    for (const env of [
      { SCHEMA_REGISTRY_URL: 'http://u:s3cret@r' },
      { SCHEMA_REGISTRY_URL: 'http://r', SCHEMA_REGISTRY_PASSWORD: 's3cret' },
    ]) {
      expect(() => loadConfig(env)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cret') }));
    }
  });

  it('FRESHNESS_STALE_AFTER_MS: 30 s by default, more than 0', () => {
    expect(loadConfig({}).api.freshnessStaleAfterMs).toBe(30_000);
    expect(loadConfig({ FRESHNESS_STALE_AFTER_MS: '1500' }).api.freshnessStaleAfterMs).toBe(1500);
    expect(() => loadConfig({ FRESHNESS_STALE_AFTER_MS: '0' })).toThrow(/^FRESHNESS_STALE_AFTER_MS="0" is out of range/);
  });
});
