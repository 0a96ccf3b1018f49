// One value per type Spillway serves, for state kept per stream: four fields instead of a Map,
// which for four entries costs about four times the memory (each stream keeps several of these).
import { TypeUrl } from './type-urls.js';

export class PerType<T> {
  private cds: T | undefined = undefined;
  private eds: T | undefined = undefined;
  private lds: T | undefined = undefined;
  private rds: T | undefined = undefined;

  get(t: TypeUrl): T | undefined {
    switch (t) {
      case TypeUrl.Cluster:
        return this.cds;
      case TypeUrl.Endpoint:
        return this.eds;
      case TypeUrl.Listener:
        return this.lds;
      case TypeUrl.Route:
        return this.rds;
    }
  }

  has(t: TypeUrl): boolean {
    return this.get(t) !== undefined;
  }

  /** undefined clears the type. */
  set(t: TypeUrl, value: T | undefined): void {
    switch (t) {
      case TypeUrl.Cluster:
        this.cds = value;
        return;
      case TypeUrl.Endpoint:
        this.eds = value;
        return;
      case TypeUrl.Listener:
        this.lds = value;
        return;
      case TypeUrl.Route:
        this.rds = value;
        return;
    }
  }

  delete(t: TypeUrl): void {
    this.set(t, undefined);
  }
}
