// Binary min-heap of timed events for the discrete-event loop (ties broken by insertion order).
export interface SimEvent {
  t: number;
  seq: number;
  kind: number;
  ref: number;
}

export class EventHeap {
  private a: SimEvent[] = [];
  private seq = 0;

  get size(): number {
    return this.a.length;
  }

  push(t: number, kind: number, ref = 0): void {
    const e = { t, seq: this.seq++, kind, ref };
    const a = this.a;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = a[p]!;
      if (pe.t < t || (pe.t === t && pe.seq < e.seq)) break;
      a[i] = pe;
      i = p;
    }
    a[i] = e;
  }

  peekT(): number {
    return this.a.length > 0 ? this.a[0]!.t : Infinity;
  }

  pop(): SimEvent | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || !last) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (a[r]!.t < a[l]!.t || (a[r]!.t === a[l]!.t && a[r]!.seq < a[l]!.seq))) c = r;
      const ce = a[c]!;
      if (last.t < ce.t || (last.t === ce.t && last.seq < ce.seq)) break;
      a[i] = ce;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
