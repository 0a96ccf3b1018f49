import { isIPv6 } from 'node:net';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js';
import type { LocalityLbEndpoints } from '../generated/envoy/config/endpoint/v3/LocalityLbEndpoints.js';
import type { ServiceConfig } from '../config/config-types.js';
import { endpointKey, type Cordons } from '../model/cordons.js';
import { IN_HOUSE_LOCALITY, MODAL_LOCALITY } from '../model/localities.js';
import { ModalHealth, type TrafficPlan } from '../model/traffic-plan.js';
import { MODAL_TLS_MATCH, TLS_MATCH_KEY } from './modal-tls.js';

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
  /** Resolved IP of the Modal hostname; undefined until resolved (the Modal locality is then left out). */
  modalIp: string | undefined;
  cordons: Cordons;
}

/**
 * The service's ClusterLoadAssignment: the in-house locality (endpoint weights follow capacity) and,
 * when its weight is above zero, the Modal locality. Envoy rejects weight 0, so the locality is omitted.
 */
export function buildLoadAssignment({ service, plan, modalIp, cordons }: EndpointInputs): ClusterLoadAssignment {
  const dropPpm = Math.round(plan.dropPercent * 10_000);
  // Envoy hands a new drop_overloads value to its worker threads only with a host-set update: a
  // change of the drop alone is ACKed but not applied. The drop, repeated in endpoint metadata,
  // makes every drop change a host-set change (and changes nothing else).
  const dropStamp = { filter_metadata: { [DROP_STAMP_KEY]: { fields: { drop_ppm: { numberValue: dropPpm } } } } };
  const localities: LocalityLbEndpoints[] = [
    {
      locality: { ...IN_HOUSE_LOCALITY },
      priority: 0,
      load_balancing_weight: { value: plan.inHouseWeight },
      lb_endpoints: [...service.inHouse]
        .sort((a, b) => endpointKey(a.address, a.port).localeCompare(endpointKey(b.address, b.port)))
        .map((e) => ({
          endpoint: {
            address: { socket_address: { address: e.address, port_value: e.port } },
            // auto_host_rewrite sets Host from this on every attempt, so a retry from Modal never
            // reaches an in-house host with Modal's hostname.
            hostname: service.inHouseHost ?? hostHeaderOf(e.address, e.port),
          },
          health_status: cordons.get(endpointKey(e.address, e.port)) ?? 'HEALTHY',
          load_balancing_weight: { value: e.capacity },
          metadata: dropStamp,
        })),
    },
  ];
  const m = service.modal;
  if (m && plan.modalWeight > 0 && modalIp) {
    localities.push({
      locality: { ...MODAL_LOCALITY },
      priority: 0,
      load_balancing_weight: { value: plan.modalWeight },
      lb_endpoints: [
        {
          endpoint: {
            address: { socket_address: { address: modalIp, port_value: m.port } },
            // Used for SNI-independent host rewrite (auto_host_rewrite) and for stats/admin output.
            hostname: m.hostname,
          },
          health_status: plan.modalHealth,
          metadata: { filter_metadata: { [TLS_MATCH_KEY]: MODAL_TLS_MATCH } },
        },
      ],
    });
  }
  const cla: ClusterLoadAssignment = { cluster_name: service.name, endpoints: localities };
  const policy: NonNullable<ClusterLoadAssignment['policy']> = {};
  if (dropPpm > 0) {
    // Parts per million keeps fractional percentages exact.
    policy.drop_overloads = [{ category: SHED_CATEGORY, drop_percentage: { numerator: dropPpm, denominator: 'MILLION' } }];
  }
  if (localities.length > 1 && plan.modalHealth === ModalHealth.Degraded) {
    // Envoy moves load to degraded hosts in proportion to the healthy host count × the
    // overprovisioning factor (default 1.4): with one or two in-house hosts a soft-cordoned Modal
    // would still get 7–30 %. A huge factor makes DEGRADED mean "only if no in-house host is healthy".
    policy.overprovisioning_factor = { value: SOFT_CORDON_OVERPROVISIONING };
  }
  if (Object.keys(policy).length > 0) cla.policy = policy;
  return cla;
}
