/**
 * A {@link KafkaPort} that reports the outcome of every request to a {@link ConnectionMonitor},
 * so that connection events follow real traffic without the streams knowing about them:
 * produce, fetch, metadata and offsets, and the traffic of consumer group members (joining,
 * heartbeats, rejoins, commits).
 *
 * @module
 */
import type { ConnectionMonitor, RequestScope } from '../events.ts';
import type { KafkaFetcher, KafkaGroupMember, KafkaPort, PortResult } from './port.ts';

export function observePort(port: KafkaPort, monitor: ConnectionMonitor): KafkaPort {
  const report = <T>(scope: RequestScope, result: PortResult<T>): PortResult<T> => {
    if (result.ok) monitor.succeeded(scope);
    else monitor.failed(result.error, scope);
    return result;
  };
  const groupMember = port.groupMember?.bind(port);
  const observed: KafkaPort = {
    async produce(topic, records, acks) {
      const outcomes = await port.produce(topic, records, acks);
      const scope = { operation: 'produce', topic };
      // Kafka answering at all (even refusing a record) means the connection works.
      const failure = outcomes.find((outcome) => !outcome.ok);
      if (failure === undefined || outcomes.some((outcome) => outcome.ok)) {
        if (outcomes.length > 0) monitor.succeeded(scope);
      }
      if (failure !== undefined && !failure.ok) monitor.failed(failure.error, scope);
      return outcomes;
    },
    async metadata(topic, refresh) {
      return report({ operation: 'metadata', topic }, await port.metadata(topic, refresh));
    },
    async describeConfigs(topic, names) {
      return report({ operation: 'describeConfigs', topic }, await port.describeConfigs(topic, names));
    },
    async listOffsets(topic, partitions, spec, isolation) {
      return report(
        { operation: 'listOffsets', topic },
        await port.listOffsets(topic, partitions, spec, isolation),
      );
    },
    fetcher(): KafkaFetcher {
      const fetcher = port.fetcher();
      return {
        async fetch(request) {
          const result = report({ operation: 'fetch', topic: request.topic }, await fetcher.fetch(request));
          if (result.ok) {
            const refused = result.value.find((partition) => partition.error?.reason === 'authorization');
            if (refused?.error) monitor.failed(refused.error, { operation: 'fetch', topic: request.topic });
          }
          return result;
        },
        close: () => fetcher.close(),
      };
    },
    probe: () => port.probe(),
    close: () => port.close(),
  };
  if (groupMember !== undefined) {
    // A member's own requests and its background traffic (heartbeats, rejoins) count too: a group
    // stream may have no partitions to fetch, and then its heartbeats are all it sends.
    observed.groupMember = (topic, groupId, events): KafkaGroupMember => {
      const member = groupMember(topic, groupId, {
        assigned: (partitions) => {
          monitor.succeeded({ operation: 'group', topic });
          events.assigned(partitions);
        },
        background: (outcome) => {
          report({ operation: 'group', topic }, outcome);
          events.background(outcome);
        },
        failed: (error) => {
          monitor.failed(error, { operation: 'group', topic });
          events.failed(error);
        },
      });
      return {
        join: async () => report({ operation: 'group', topic }, await member.join()),
        committed: async (partitions) =>
          report({ operation: 'committed', topic }, await member.committed(partitions)),
        commit: async (offsets) => report({ operation: 'commit', topic }, await member.commit(offsets)),
        leave: () => member.leave(),
      };
    };
  }
  return observed;
}
