import { describe, expect, it } from 'vitest';
import { loadProtos } from '../../src/protos/load-protos.js';
import { ResponseBodies, withPreEncodedResponses } from '../../src/xds/response-bodies.js';
import type { EncodedResource } from '../../src/xds/snapshot.js';
import { TypeUrl } from '../../src/xds/type-urls.js';

const { protos } = loadProtos();
const service = protos.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
const res = (name: string, value: string): EncodedResource => ({
  name,
  version: `v-${value}`,
  typeUrl: TypeUrl.Endpoint,
  value: Buffer.from(value),
});

describe('pre-encoded response bodies', () => {
  it('envelope + shared resources decodes to the same SotW response as a full encoding', () => {
    const resources = [res('a', 'alpha-bytes'), res('b', 'beta-bytes')];
    const msg = {
      version_info: 'v1',
      type_url: TypeUrl.Endpoint,
      nonce: 'n-1',
      resources: resources.map((r) => ({ type_url: TypeUrl.Endpoint, value: r.value })),
    };
    const plain = service.StreamAggregatedResources.responseSerialize(msg);
    const fast = withPreEncodedResponses(service).StreamAggregatedResources.responseSerialize(
      new ResponseBodies(protos).sotwResponse(TypeUrl.Endpoint, resources, {
        version_info: 'v1',
        type_url: TypeUrl.Endpoint,
        nonce: 'n-1',
      }),
    );
    const decode = service.StreamAggregatedResources.responseDeserialize;
    expect(decode(fast)).toEqual(decode(plain));
  });

  it('delta: resources with names and versions, removals and the envelope survive', () => {
    const resources = [res('a', 'alpha-bytes')];
    const msg = {
      system_version_info: 'sv',
      type_url: TypeUrl.Endpoint,
      nonce: 'n-2',
      removed_resources: ['gone'],
      resources: resources.map((r) => ({ name: r.name, version: r.version, resource: { type_url: TypeUrl.Endpoint, value: r.value } })),
    };
    const plain = service.DeltaAggregatedResources.responseSerialize(msg);
    const fast = withPreEncodedResponses(service).DeltaAggregatedResources.responseSerialize(
      new ResponseBodies(protos).deltaResponse(TypeUrl.Endpoint, resources, {
        system_version_info: 'sv',
        type_url: TypeUrl.Endpoint,
        nonce: 'n-2',
        removed_resources: ['gone'],
      }),
    );
    const decode = service.DeltaAggregatedResources.responseDeserialize;
    expect(decode(fast)).toEqual(decode(plain));
  });

  it('streams getting the same list share one buffer; a different list gets its own', () => {
    const bodies = new ResponseBodies(protos);
    const body = (m: object): unknown => Object.getOwnPropertySymbols(m).map((s) => (m as Record<symbol, { body: Buffer }>)[s]!.body)[0];
    const envelope = (nonce: string) => ({ version_info: 'v', type_url: TypeUrl.Endpoint, nonce });
    const a = bodies.sotwResponse(TypeUrl.Endpoint, [res('a', 'x')], envelope('1'));
    const b = bodies.sotwResponse(TypeUrl.Endpoint, [res('a', 'x')], envelope('2'));
    const c = bodies.sotwResponse(TypeUrl.Endpoint, [res('a', 'y')], envelope('3'));
    expect(body(a)).toBeInstanceOf(Buffer);
    expect(body(a)).toBe(body(b));
    expect(body(c)).not.toBe(body(a));
  });

  it('envelopes with non-ASCII, empty and long (multi-byte length) strings encode like protobufjs', () => {
    const resources = [res('a', 'x'.repeat(300))];
    for (const [version, nonce] of [
      ['', 'n'],
      ['v-é漢字', ''],
      ['v'.repeat(200), 'n'.repeat(20_000)],
    ] as const) {
      const plain = service.StreamAggregatedResources.responseSerialize({
        version_info: version,
        type_url: TypeUrl.Endpoint,
        nonce,
        resources: resources.map((r) => ({ type_url: TypeUrl.Endpoint, value: r.value })),
      });
      const fast = withPreEncodedResponses(service).StreamAggregatedResources.responseSerialize(
        new ResponseBodies(protos).sotwResponse(TypeUrl.Endpoint, resources, { version_info: version, type_url: TypeUrl.Endpoint, nonce }),
      );
      const decode = service.StreamAggregatedResources.responseDeserialize;
      expect(decode(fast)).toEqual(decode(plain));
      // Same fields, same sizes; only the order differs (resources last), which protobuf allows.
      expect(fast.length).toBe(plain.length);
    }
  });
});
