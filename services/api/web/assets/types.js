// @ts-check
/**
 * The API's answers as the page reads them — types only, nothing here runs — taken from the
 * server's TypeBox schemas, so that a change of an answer fails the page's type check.
 * @import { Static } from '@sinclair/typebox'
 * @import * as metrics from '../../routes/metrics/schemas.js'
 * @import * as alerts from '../../routes/alerts/schemas.js'
 * @import * as downloads from '../../routes/downloads/schemas.js'
 */

/** @typedef {Static<typeof metrics.CampaignsResponse>} CampaignsAnswer */
/** @typedef {Static<typeof metrics.OutreachResponse>} OutreachAnswer */
/** @typedef {Static<typeof metrics.RatesResponse>} RatesAnswer */
/** @typedef {Static<typeof metrics.OutreachCampaignsResponse>} OutreachCampaignsAnswer */
/** @typedef {Static<typeof metrics.TimeseriesResponse>} TimeseriesAnswer */
/** @typedef {Static<typeof metrics.Freshness>} Freshness */
/** @typedef {Static<typeof metrics.Change>} Change */
/** @typedef {RatesAnswer['email']['bounceRate']} JudgedRate */
/** @typedef {NonNullable<JudgedRate['health']>} Health */
/** @typedef {Static<typeof alerts.RulesView>} RulesAnswer */
/** @typedef {Static<typeof alerts.EventsView>} AlertEventsAnswer */
/** @typedef {RulesAnswer['rules'][number]} Rule */
/** @typedef {AlertEventsAnswer['events'][number]} AlertEvent */
/** @typedef {Rule['state']} AlertState */
/** @typedef {Static<typeof downloads.DownloadList>} DownloadsAnswer */
/** @typedef {downloads.DownloadView} Download */

export {};
