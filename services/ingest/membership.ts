import type { Admin } from 'kafkajs';
import type { Logger } from '../platform/logger.js';

/** LeaveGroup on behalf of other members (kafkajs admin, patched in patches/kafkajs+2.2.4.patch). */
interface GroupMemberRemoval {
  removeGroupMembers(options: { groupId: string; memberIds: string[] }): Promise<void>;
}

/**
 * Removes the members of the group that carry this process slot's client id: what a crashed
 * predecessor left behind. Without this, its partitions wait for its session to time out.
 * Returns the members removed.
 */
export async function removePredecessors(admin: Admin, groupId: string, clientId: string, logger: Logger): Promise<string[]> {
  const { groups } = await admin.describeGroups([groupId]);
  const memberIds = (groups[0]?.members ?? []).filter((member) => member.clientId === clientId).map((member) => member.memberId);
  if (memberIds.length === 0) return [];
  await (admin as Admin & GroupMemberRemoval).removeGroupMembers({ groupId, memberIds });
  logger.warn({ groupId, clientId, memberIds }, 'removed the group members a previous process of this instance left behind');
  return memberIds;
}

/**
 * Another member with this slot's client id in the group (a second live process with the same
 * INGEST_INSTANCE_ID): the reason to refuse, or undefined.
 */
export async function liveTwin(admin: Admin, groupId: string, clientId: string, ownMemberId: string): Promise<string | undefined> {
  const { groups } = await admin.describeGroups([groupId]);
  const twin = (groups[0]?.members ?? []).find((member) => member.clientId === clientId && member.memberId !== ownMemberId);
  if (!twin) return undefined;
  return `another live process uses this INGEST_INSTANCE_ID (Kafka client id ${clientId}, member ${twin.memberId} from ${twin.clientHost}); give every process its own INGEST_INSTANCE_ID`;
}
