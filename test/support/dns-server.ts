// A DNS server on loopback for tests that claim DNS: A, AAAA and SRV records the test changes while it
// runs, served by the dns2 library (real DNS packets over UDP to Node's resolver). An outage answers
// SERVFAIL to everything, which a resolver reports as a failure, not as an empty answer.
import dns2 from 'dns2';
import type { AddressInfo } from 'node:net';

const { Packet } = dns2;

export interface SrvTarget {
  target: string;
  port: number;
  weight: number;
  priority?: number;
}

interface Records {
  a?: { addresses: string[]; ttl: number };
  aaaa?: { addresses: string[]; ttl: number };
  srv?: { targets: SrvTarget[]; ttl: number };
}

export interface TestDnsServer {
  /** "127.0.0.1:port", for discovery.dns_servers. */
  address: string;
  setA(name: string, addresses: string[], ttl?: number): void;
  setAAAA(name: string, addresses: string[], ttl?: number): void;
  setSrv(name: string, targets: SrvTarget[], ttl?: number): void;
  /** While true every query is answered SERVFAIL. */
  setOutage(on: boolean): void;
  /** Questions answered so far, as "TYPE name". */
  queries: string[];
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const zone = new Map<string, Records>();
  let outage = false;
  const queries: string[] = [];
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      // dns2 encodes plain record objects; its type for answers is the decoded class.
      const answer = (rec: Record<string, unknown>): void =>
        void response.answers.push(rec as unknown as (typeof response.answers)[number]);
      const [q] = request.questions;
      if (!q) {
        void send(response);
        return;
      }
      const name = q.name.toLowerCase().replace(/\.$/, '');
      queries.push(`${Packet.TYPE_NAME?.[q.type] ?? q.type} ${name}`);
      const r = zone.get(name);
      if (outage || !r) {
        response.header.rcode = outage ? Packet.RCODE.SERVFAIL : Packet.RCODE.NXDOMAIN;
        void send(response);
        return;
      }
      const base = { name: q.name, class: Packet.CLASS.IN };
      if (q.type === Packet.TYPE.A && r.a) {
        for (const address of r.a.addresses) answer({ ...base, type: Packet.TYPE.A, ttl: r.a.ttl, address });
      } else if (q.type === Packet.TYPE.AAAA && r.aaaa) {
        for (const address of r.aaaa.addresses) answer({ ...base, type: Packet.TYPE.AAAA, ttl: r.aaaa.ttl, address });
      } else if (q.type === Packet.TYPE.SRV && r.srv) {
        for (const t of r.srv.targets) {
          answer({
            ...base,
            type: Packet.TYPE.SRV,
            ttl: r.srv.ttl,
            priority: t.priority ?? 10,
            weight: t.weight,
            port: t.port,
            target: t.target,
          });
        }
      }
      void send(response);
    },
  });
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = (addresses.udp as AddressInfo).port;
  const records = (name: string): Records => {
    const key = name.toLowerCase();
    const r = zone.get(key) ?? {};
    zone.set(key, r);
    return r;
  };
  return {
    address: `127.0.0.1:${port}`,
    setA: (name, list, ttl = 1) => void (records(name).a = { addresses: list, ttl }),
    setAAAA: (name, list, ttl = 1) => void (records(name).aaaa = { addresses: list, ttl }),
    setSrv: (name, targets, ttl = 1) => void (records(name).srv = { targets, ttl }),
    setOutage: (on) => {
      outage = on;
    },
    queries,
    close: () => server.close().then(() => undefined),
  };
}
