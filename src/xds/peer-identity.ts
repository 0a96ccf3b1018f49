// Who is on the other end of a gRPC call: the verified client certificate's names, read from
// grpc-js's auth context (it carries a certificate only when the handshake verified it against the
// client CA). Only public names are kept: never the certificate's raw bytes, never a key.
import type * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';

export interface PeerIdentity {
  /** URI SANs, e.g. spiffe://example.org/envoy/edge-1. */
  uris: string[];
  dnsNames: string[];
  /** Subject common name ('' when absent). */
  commonName: string;
  /** SHA-256 fingerprint (colon-separated hex). */
  fingerprint: string;
}

/** The verified peer certificate of a call, or undefined (plaintext, or no verified certificate). */
export function peerIdentityOf(call: Pick<grpc.ServerDuplexStream<unknown, unknown>, 'getAuthContext'>): PeerIdentity | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  return cert ? identityOfCertificate(cert) : undefined;
}

export function identityOfCertificate(cert: Pick<PeerCertificate, 'subjectaltname' | 'subject' | 'fingerprint256'>): PeerIdentity {
  const sans = parseSubjectAltName(cert.subjectaltname ?? '');
  const cn = cert.subject?.CN;
  return {
    uris: sans.filter((s) => s.kind === 'URI').map((s) => s.value),
    dnsNames: sans.filter((s) => s.kind === 'DNS').map((s) => s.value),
    commonName: Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? ''),
    fingerprint: cert.fingerprint256 ?? '',
  };
}

/** The name a person reads in logs and the audit trail: the first URI SAN, else DNS SAN, else CN. */
export function describePeer(identity: PeerIdentity | undefined): string | undefined {
  if (!identity) return undefined;
  return identity.uris[0] ?? identity.dnsNames[0] ?? (identity.commonName ? `CN=${identity.commonName}` : identity.fingerprint);
}

/**
 * Node's `subjectaltname` string: "DNS:a.example, URI:spiffe://x/y, IP Address:127.0.0.1". A value
 * holding a comma or quote is JSON-quoted by Node, so it is parsed rather than split on ", ".
 */
export function parseSubjectAltName(text: string): Array<{ kind: string; value: string }> {
  const out: Array<{ kind: string; value: string }> = [];
  const re = /(?:^|,\s*)([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const m of text.matchAll(re)) {
    const kind = m[1]!.trim();
    const raw = m[2]!;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    out.push({ kind, value });
  }
  return out;
}
