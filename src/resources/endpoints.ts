import { isIPv6 } from 'node:net';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { LocalityLbEndpoints } from '../generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
import type { InHouseEndpoint, ServiceConfig } from '../config/config-types.js';
import { endpointKey, type Cordons } from '../model/cordons.js';
import { DEFAULT_OVERPROVISIONING_FACTOR, weightsForShare } from '../model/effective-weights.js';
import { inHouseEndpointWeight } from '../model/endpoint-weights.js';
import { IN_HOUSE_LOCALITY, MODAL_LOCALITY } from '../model/localities.js';
import { ModalHealth, type TrafficPlan } from '../model/traffic-plan.js';
import { MODAL_TLS_MATCH, PLAINTEXT_MATCH, TLS_MATCH_KEY } from './modal-tls.js';

/** "address:port" as a Host header writes it (IPv6 in brackets). */
const hostHeaderOf = (address: string, port: number): string => (isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`);

/** Endpoint metadata namespace Spillway stamps the drop into (not envoy.lb: that feeds subset load balancing). */
export const DROP_STAMP_KEY = 'spillway';

/** Category Envoy reports drops under in LRS when Spillway sheds deliberately. */
export const SHED_CATEGORY = 'spillway_shed';

/** Overprovisioning factor (percent) while Modal is soft-cordoned: 1000× Envoy's 1.4 default. */
const SOFT_CORDON_OVERPROVISIONING = 140_000;

export interface EndpointInputs {
  service: ServiceConfig;
  plan: TrafficPlan;
  /** Resolved addresses of the Modal hostname; empty until resolved (the Modal locality is then left out). */
  modalAddresses: readonly string[];
  cordons: Cordons;
  /** The in-house endpoints in force (static merged with discovered); default: the static ones. */
  inHouse?: readonly InHouseEndpoint[];
  /** Envoy's healthy fraction of the in-house locality (0–1), as Spillway can tell it; default 1. */
  inHouseHealthyFraction?: number;
}

/**
 * The service's ClusterLoadAssignment: the in-house locality (endpoint weights follow capacity) and,
 * when its weight is above zero, the Modal locality. Envoy rejects weight 0, so the locality is omitted;
 * an in-house locality with no endpoint is omitted too. Locality weights are corrected for the
 * in-house healthy fraction, so the split Envoy runs is the plan's (model/effective-weights.ts).
 */
export function buildLoadAssignment({
  service,
  plan,
  modalAddresses,
  cordons,
  inHouse = service.inHouse,
  inHouseHealthyFraction = 1,
}: EndpointInputs): ClusterLoadAssignment {
  const m = service.modal;
  const withModal = m !== undefined && plan.modalWeight > 0 && modalAddresses.length > 0;
  const softCordon = withModal && inHouse.length > 0 && plan.modalHealth === ModalHealth.Degraded;
  const weights = weightsForShare(
    plan,
    inHouseHealthyFraction,
    softCordon ? SOFT_CORDON_OVERPROVISIONING : DEFAULT_OVERPROVISIONING_FACTOR,
  );
  const dropPpm = Math.round(plan.dropPercent * 10_000);
  const endpointWeight = inHouseEndpointWeight(inHouse, cordons);
  // Envoy hands a new drop_overloads value to its worker threads only with a host-set update: a
  // change of the drop alone is ACKed but not applied. The drop, repeated in endpoint metadata,
  // makes every drop change a host-set change (and changes nothing else).
  const dropStamp = { [DROP_STAMP_KEY]: { fields: { drop_ppm: { numberValue: dropPpm } } } };
  const localities: LocalityLbEndpoints[] = [];
  if (inHouse.length > 0) {
    localities.push({
      locality: { ...IN_HOUSE_LOCALITY },
      priority: 0,
      load_balancing_weight: { value: weights.inHouseWeight },
      lb_endpoints: [...inHouse]
        .sort((a, b) => endpointKey(a.address, a.port).localeCompare(endpointKey(b.address, b.port)))
        .map((e) => ({
          endpoint: {
            address: { socket_address: { address: e.address, port_value: e.port } },
            // auto_host_rewrite sets Host from this on every attempt, so a retry from Modal never
            // reaches an in-house host with Modal's hostname.
            hostname: service.inHouseHost ?? hostHeaderOf(e.address, e.port),
          },
          health_status: cordons.get(endpointKey(e.address, e.port)) ?? 'HEALTHY',
          load_balancing_weight: { value: endpointWeight(e) },
          // With Modal in the cluster, TLS is the default transport: in-house hosts select plaintext.
          metadata: { filter_metadata: { ...dropStamp, ...(m ? { [TLS_MATCH_KEY]: PLAINTEXT_MATCH } : {}) } },
        })),
    });
  }
  if (m && withModal) {
    localities.push({
      locality: { ...MODAL_LOCALITY },
      priority: 0,
      load_balancing_weight: { value: weights.modalWeight },
      lb_endpoints: [...modalAddresses].sort().map((address) => ({
        endpoint: {
          address: { socket_address: { address, port_value: m.port } },
          // Used for SNI-independent host rewrite (auto_host_rewrite) and for stats/admin output.
          hostname: m.hostname,
          // Active health checks are for in-house hosts: one against Modal would wake (and bill) it.
          health_check_config: { disable_active_health_check: true },
        },
        health_status: plan.modalHealth,
        // The drop stamp here too, for a service whose in-house locality is empty.
        metadata: { filter_metadata: { ...dropStamp, [TLS_MATCH_KEY]: MODAL_TLS_MATCH } },
      })),
    });
  }
  const cla: ClusterLoadAssignment = { cluster_name: service.name, endpoints: localities };
  const policy: NonNullable<ClusterLoadAssignment['policy']> = {};
  if (dropPpm > 0) {
    // Parts per million keeps fractional percentages exact.
    policy.drop_overloads = [{ category: SHED_CATEGORY, drop_percentage: { numerator: dropPpm, denominator: 'MILLION' } }];
  }
  if (softCordon) {
    // Envoy moves load to degraded hosts in proportion to the healthy host count × the
    // overprovisioning factor (default 1.4): with one or two in-house hosts a soft-cordoned Modal
    // would still get 7–30 %. A huge factor makes DEGRADED mean "only if no in-house host is healthy".
    policy.overprovisioning_factor = { value: SOFT_CORDON_OVERPROVISIONING };
  }
  if (Object.keys(policy).length > 0) cla.policy = policy;
  return cla;
}
