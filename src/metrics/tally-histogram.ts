// A one-label histogram for hot paths. prom-client's Histogram hashes the label set on every
// observation; an ACK-latency sample arrives once per Envoy per push (1,000 per push at 1,000
// streams), so here an observation is an array increment and the exposition is built at scrape.
import type { Registry } from 'prom-client';

/** What prom-client's registry renders (its own typings do not export this shape). */
interface Rendered {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }>;
}

interface Series {
  /** Per bucket (upper bounds as given, then +Inf): observations at or below it, not cumulative. */
  counts: number[];
  sum: number;
  count: number;
}

export class TallyHistogram<L extends string> {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: L,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${name}: buckets must increase, got ${buckets.join(', ')}`);
    }
    // prom-client renders anything with name, help, type and get(); reset() serves resetMetrics().
    registry.registerMetric(this as never);
  }

  observe(label: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let s = this.series.get(label);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(label, s);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  reset(): void {
    this.series.clear();
  }

  get(): Rendered {
    const values: Rendered['values'] = [];
    for (const [label, s] of this.series) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, [this.labelName]: label }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.labelName]: label }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: label }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: label }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
