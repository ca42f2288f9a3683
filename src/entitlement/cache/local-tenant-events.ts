// The in-process tenant bus of a node without Redis (the embedded mode: one node, no fleet).
import type { Logger } from '../../log/logger.js';
import type { TenantChange, TenantChangeListener, TenantEvents } from './tenant-events.js';

/** Listener registry shared by both buses; a throwing listener never stops the others. */
export class TenantListeners {
  readonly #changes = new Set<TenantChangeListener>();
  readonly #resyncs = new Set<() => void>();

  constructor(private readonly logger: Logger) {}

  add(listener: TenantChangeListener): () => void {
    this.#changes.add(listener);
    return () => this.#changes.delete(listener);
  }

  addResync(listener: () => void): () => void {
    this.#resyncs.add(listener);
    return () => this.#resyncs.delete(listener);
  }

  emit(change: TenantChange): void {
    for (const listener of this.#changes) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error('tenant change listener failed', {
          tenant: change.tenant,
          kind: change.kind,
          error: String(err),
        });
      }
    }
  }

  emitResync(): void {
    for (const listener of this.#resyncs) {
      try {
        listener();
      } catch (err) {
        this.logger.error('tenant resync listener failed', { error: String(err) });
      }
    }
  }
}

/** Delivers changes to this process only. */
export class LocalTenantEvents implements TenantEvents {
  readonly #listeners: TenantListeners;
  readonly connected = true;

  constructor(logger: Logger) {
    this.#listeners = new TenantListeners(logger);
  }

  async publish(change: TenantChange): Promise<void> {
    this.#listeners.emit(change);
  }

  subscribe(listener: TenantChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  onResync(listener: () => void): () => void {
    return this.#listeners.addResync(listener);
  }

  async close(): Promise<void> {}
}
