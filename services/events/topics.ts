/** Every Kafka topic name the system uses, in one place. */
export const TOPICS = {
  assignments: 'assignments',
  deliveries: 'deliveries',
  deadLetter: 'dead-letter',
} as const;

export type EventTopic = typeof TOPICS.assignments | typeof TOPICS.deliveries;

export function topicFor(type: 'assignment' | 'delivery'): EventTopic {
  return type === 'assignment' ? TOPICS.assignments : TOPICS.deliveries;
}
