/**
 * Topic administration for examples and tests: create topics with their configuration (kept
 * when they exist already), or delete and recreate them for a clean slate.
 */
import { Admin } from '@platformatic/kafka';

export interface TopicSpec {
  readonly name: string;
  /** Default 1. */
  readonly partitions?: number;
  /** Topic configuration, e.g. `{ "cleanup.policy": "compact" }`. */
  readonly config?: Readonly<Record<string, string>>;
}

async function withAdmin<T>(bootstrap: string, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ clientId: 'tributary-tools', bootstrapBrokers: [bootstrap] });
  try {
    return await work(admin);
  } finally {
    await admin.close();
  }
}

async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const metadata = await admin.metadata({ topics: [...topics], forceUpdate: true }).catch(() => undefined);
    const ready = topics.every((name) => {
      const info = metadata?.topics.get(name);
      return info !== undefined && info.partitions.every((p) => p.leader >= 0);
    });
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`topics without leaders after 10 s: ${topics.join(', ')}`);
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(bootstrap: string, specs: readonly TopicSpec[]): Promise<void> {
  if (specs.length === 0) return;
  await withAdmin(bootstrap, async (admin) => {
    const existing = new Set(await admin.listTopics());
    for (const spec of specs) {
      if (existing.has(spec.name)) continue;
      await admin.createTopics({
        topics: [spec.name],
        partitions: spec.partitions ?? 1,
        replicas: 1,
        configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
      });
    }
    await waitForLeaders(
      admin,
      specs.map((s) => s.name),
    );
  });
}

/** One topic, for tests: {@link ensureTopics} with positional arguments. */
export function createTopic(
  bootstrap: string,
  name: string,
  partitions = 1,
  config: Readonly<Record<string, string>> = {},
): Promise<void> {
  return ensureTopics(bootstrap, [{ name, partitions, config }]);
}

/** Deletes the topics (when they exist) and creates them again, empty. */
export async function recreateTopics(bootstrap: string, specs: readonly TopicSpec[]): Promise<void> {
  await withAdmin(bootstrap, async (admin) => {
    const names = specs.map((s) => s.name);
    const existing = new Set(await admin.listTopics());
    const present = names.filter((n) => existing.has(n));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
    // Deletion completes in the background; creation fails until it has.
    for (const spec of specs) {
      for (let attempt = 0; ; attempt++) {
        try {
          await admin.createTopics({
            topics: [spec.name],
            partitions: spec.partitions ?? 1,
            replicas: 1,
            configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
          });
          break;
        } catch (error) {
          if (attempt >= 100) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    await waitForLeaders(admin, names);
  });
}
