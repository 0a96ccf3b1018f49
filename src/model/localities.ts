// The two localities of every service's ClusterLoadAssignment. The resource builder writes them into
// EDS and the LRS server reads them back out of Envoy's load reports, so both import them from here.
import type { Locality } from '../generated/envoy/config/core/v3/Locality.js';
import type { LocalityKind } from './inputs.js';

/** Region shared by both localities; the zone tells them apart. */
export const SPILLWAY_REGION = 'spillway';

export const IN_HOUSE_LOCALITY = { region: SPILLWAY_REGION, zone: 'in-house' } as const satisfies Locality;
export const MODAL_LOCALITY = { region: SPILLWAY_REGION, zone: 'modal' } as const satisfies Locality;

export const LOCALITY_KINDS: readonly LocalityKind[] = ['in-house', 'modal'];

export function localityOf(kind: LocalityKind): typeof IN_HOUSE_LOCALITY | typeof MODAL_LOCALITY {
  return kind === 'in-house' ? IN_HOUSE_LOCALITY : MODAL_LOCALITY;
}

/**
 * Which of Spillway's localities an Envoy locality is, or undefined for anything else.
 * sub_zone is ignored: Spillway never sets it, and an Envoy echoing one back is still the same locality.
 */
export function localityKindOf(locality: Pick<Locality, 'region' | 'zone'> | null | undefined): LocalityKind | undefined {
  if (!locality || locality.region !== SPILLWAY_REGION) return undefined;
  if (locality.zone === IN_HOUSE_LOCALITY.zone) return 'in-house';
  if (locality.zone === MODAL_LOCALITY.zone) return 'modal';
  return undefined;
}
