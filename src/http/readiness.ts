// The readiness flag behind /readyz: set by the composition root once listeners and stores are
// up; cleared by draining after SIGTERM so the load balancer stops sending new requests.

/** Readiness of this process for new traffic. */
export class Readiness {
  #ready = false;
  #draining = false;

  /** Marks the process ready (listeners bound, store opened). */
  markReady(): void {
    this.#ready = true;
  }

  /** Marks the process draining: /readyz answers 503 from now on. */
  startDraining(): void {
    this.#draining = true;
  }

  /** 'ready', 'starting' or 'draining'. */
  get state(): 'ready' | 'starting' | 'draining' {
    if (this.#draining) return 'draining';
    return this.#ready ? 'ready' : 'starting';
  }
}
