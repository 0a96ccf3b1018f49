// Type URLs Spillway serves, and the order ADS pushes them in: clusters before their endpoints,
// listeners before their routes, so nothing ever references what Envoy does not have yet.
export const TypeUrl = {
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  Endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  Route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;

export type TypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

export const ADS_ORDER: readonly TypeUrl[] = [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route];

/** CDS and LDS are wildcard for Envoy; EDS and RDS are always subscribed by name. */
export function isWildcardType(t: TypeUrl): boolean {
  return t === TypeUrl.Cluster || t === TypeUrl.Listener;
}

export function isKnownTypeUrl(s: string): s is TypeUrl {
  return (ADS_ORDER as readonly string[]).includes(s);
}

/** Short names for logs and metrics. */
export function shortType(t: TypeUrl): 'CDS' | 'EDS' | 'LDS' | 'RDS' {
  switch (t) {
    case TypeUrl.Cluster:
      return 'CDS';
    case TypeUrl.Endpoint:
      return 'EDS';
    case TypeUrl.Listener:
      return 'LDS';
    case TypeUrl.Route:
      return 'RDS';
  }
}
