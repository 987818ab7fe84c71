// The Apicurio Registry started by the it globalSetup answers its system-info endpoint and keeps
// a schema registered through the Confluent-compatible API.
import { describe, expect, it } from 'vitest';
import { APICURIO_VERSION } from '../apicurio/index.ts';
import { apicurio, uniqueTopic } from '../it/context.ts';

describe('Apicurio Registry', () => {
  it('answers system info with its version', async () => {
    const { url, version } = apicurio();
    expect(version).toBe(APICURIO_VERSION);
    const res = await fetch(`${url}/apis/registry/v3/system/info`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name?: string; version?: string };
    expect(body.version).toBe(APICURIO_VERSION);
    expect(body.name).toMatch(/Apicurio Registry/);
  });

  it('registers and returns an Avro schema through ccompat v7', async () => {
    const { url } = apicurio();
    const subject = `${uniqueTopic('it-apicurio')}-value`;
    const schema = JSON.stringify({
      type: 'record',
      name: 'Order',
      namespace: 'tributary.it',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'amount', type: 'double' },
      ],
    });
    const post = await fetch(`${url}/apis/ccompat/v7/subjects/${encodeURIComponent(subject)}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema }),
    });
    expect(post.status).toBe(200);
    const { id } = (await post.json()) as { id: number };
    expect(id).toBeGreaterThan(0);

    const byId = await fetch(`${url}/apis/ccompat/v7/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    const got = (await byId.json()) as { schema: string };
    expect(JSON.parse(got.schema)).toEqual(JSON.parse(schema));

    const latest = await fetch(
      `${url}/apis/ccompat/v7/subjects/${encodeURIComponent(subject)}/versions/latest`,
    );
    expect(latest.status).toBe(200);
    expect(((await latest.json()) as { id: number; version: number }).id).toBe(id);
  });
});
