/**
 * Every Kafka topic name the system uses, in one place. A deployment may put a prefix in
 * front of all of them (TOPIC_PREFIX, e.g. "staging."), which also keeps test runs apart.
 */
export const TOPIC_BASE_NAMES = {
  assignments: 'assignments',
  deliveries: 'deliveries',
  deadLetter: 'dead-letter',
  /** Operator requests to the ingest instances (e.g. resume after the invalid-ratio guard paused them). */
  ingestControl: 'ingest-control',
} as const;

export interface TopicNames {
  assignments: string;
  deliveries: string;
  deadLetter: string;
  ingestControl: string;
}

/** The kind of event an event topic holds; undefined for any other topic. */
export function eventTypeOfTopic(topics: TopicNames, topic: string): 'assignment' | 'delivery' | undefined {
  if (topic === topics.assignments) return 'assignment';
  if (topic === topics.deliveries) return 'delivery';
  return undefined;
}

export function topicNames(prefix = ''): TopicNames {
  return {
    assignments: `${prefix}${TOPIC_BASE_NAMES.assignments}`,
    deliveries: `${prefix}${TOPIC_BASE_NAMES.deliveries}`,
    deadLetter: `${prefix}${TOPIC_BASE_NAMES.deadLetter}`,
    ingestControl: `${prefix}${TOPIC_BASE_NAMES.ingestControl}`,
  };
}
