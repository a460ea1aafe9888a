/**
 * The layers of services/, checked by `make lint` (and so by `make test`). Imports point down:
 *
 *   cli                 the commands and the process composition root; nothing imports it
 *   api                 the Fastify app (routes import api/shared, never a sibling route)
 *   privacy             erasing a customer: raw rows, download files, the record of each request
 *   downloads  alerts   queued download jobs and their files; alert rules, evaluation, notifications
 *   reporting  ingest  producer  migrations  operations  webhooks (provider callbacks → events)
 *   events  platform    the event contract; config, logging, clients (the bottom)
 *
 * test/, bench/ and fixtures/ sit beside the tree: they may import services/, never the reverse.
 */
const layer = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: `^services/${from}/` },
  to: { path: '^services/', pathNot: `^services/(${[from, ...allowed].join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules must not import each other in a circle.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      ...layer(
        'events-is-the-bottom',
        'events',
        [],
        'The event contract imports nothing else of the project but the error model (platform/errors.ts, which imports nothing).',
      ),
      to: { path: '^services/', pathNot: '^services/(events/|platform/errors\\.ts$)' },
    },
    layer('platform-is-the-bottom', 'platform', [], 'The platform (config, logging, clients) imports nothing else of the project.'),
    layer('migrations-above-platform', 'migrations', ['platform'], 'The migration runner uses only the platform.'),
    layer(
      'producer-above-events',
      'producer',
      ['events', 'platform'],
      'The producer library uses only the event contract and the platform.',
    ),
    layer('ingest-above-events', 'ingest', ['events', 'platform'], 'The ingest uses only the event contract and the platform.'),
    layer(
      'reporting-above-events',
      'reporting',
      ['events', 'platform'],
      'Reporting (range metrics, exports) uses only the event contract and the platform.',
    ),
    layer(
      'webhooks-above-events',
      'webhooks',
      ['events', 'platform'],
      'Provider callbacks (signatures, mapping onto events) use only the event contract and the platform.',
    ),
    layer(
      'downloads-above-reporting',
      'downloads',
      ['reporting', 'events', 'platform'],
      'Downloads use reporting, the event contract and the platform.',
    ),
    layer(
      'operations-above-platform',
      'operations',
      ['events', 'platform'],
      "Operators' tools over the tables (verify, rebuild) use only the event contract and the platform.",
    ),
    layer(
      'privacy-above-downloads',
      'privacy',
      ['downloads', 'reporting', 'events', 'platform'],
      'Erasing a customer uses the downloads (their files), reporting, the event contract and the platform.',
    ),
    layer(
      'alerts-above-reporting',
      'alerts',
      ['reporting', 'events', 'platform'],
      'Alerts use reporting (the rates and range queries), the event contract and the platform.',
    ),
    layer(
      'api-above-domain',
      'api',
      ['alerts', 'downloads', 'privacy', 'reporting', 'webhooks', 'events', 'platform'],
      'The HTTP app sits on the domain; it never imports the CLI, ingest or producer.',
    ),
    {
      name: 'nothing-imports-cli',
      comment: 'The CLI is the top: only bin/ and the CLI itself import it.',
      severity: 'error',
      from: { pathNot: '^(services/cli/|bin/)' },
      to: { path: '^services/cli/' },
    },
    {
      name: 'no-sibling-routes',
      comment: 'A route folder imports api/shared, never another route folder.',
      severity: 'error',
      from: { path: '^services/api/routes/([^/]+)/' },
      to: { path: '^services/api/routes/([^/]+)/', pathNot: '^services/api/routes/$1/' },
    },
    {
      name: 'services-not-test-code',
      comment: 'Shipped code never imports tests, benchmarks or their fixtures.',
      severity: 'error',
      from: { path: '^services/' },
      to: { path: '^(test|bench|fixtures)/' },
    },
    {
      name: 'fixtures-and-bench-not-tests',
      comment: 'Fixtures and benchmarks never import the test harness.',
      severity: 'error',
      from: { path: '^(fixtures|bench)/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        "Every import resolves to a file or an installed package, except the page's ./vocabulary.js: the server writes it as it starts (services/api/routes/web/vocabulary.ts).",
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, pathNot: '^\\./vocabulary\\.js$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.json'],
    },
  },
};
