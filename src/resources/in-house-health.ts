// How Envoy judges and ramps in-house hosts: active HTTP health checks, outlier detection and slow
// start, all from the service's in_house config. Modal's endpoint opts out of active checks itself
// (endpoints.ts): a health check would wake and bill Modal containers.
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster.js';
import type { InHouseHealthConfig } from '../config/config-types.js';
import { durationFromMs as duration } from '../core/duration.js';

export function inHouseHealth(h: InHouseHealthConfig): Partial<Cluster> {
  const out: Partial<Cluster> = {};
  if (h.healthCheck) {
    const hc = h.healthCheck;
    out.health_checks = [
      {
        timeout: duration(hc.timeoutMs),
        interval: duration(hc.intervalMs),
        healthy_threshold: { value: hc.healthyThreshold },
        unhealthy_threshold: { value: hc.unhealthyThreshold },
        http_health_check: { path: hc.path },
      },
    ];
  }
  if (h.outlierDetection) {
    const od = h.outlierDetection;
    out.outlier_detection = {
      consecutive_5xx: { value: od.consecutive5xx },
      consecutive_gateway_failure: { value: od.consecutiveGatewayFailure },
      enforcing_consecutive_gateway_failure: { value: 100 },
      interval: duration(od.intervalMs),
      base_ejection_time: duration(od.baseEjectionTimeMs),
      max_ejection_percent: { value: od.maxEjectionPercent },
    };
  }
  if (h.slowStartMs > 0) {
    out.round_robin_lb_config = { slow_start_config: { slow_start_window: duration(h.slowStartMs) } };
  }
  return out;
}
