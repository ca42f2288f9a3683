/** Stable codes of transport errors. */
export type TransportErrorCode =
  | 'ICEGATE_TRANSPORT_BAD_OPTION'
  | 'ICEGATE_TRANSPORT_LISTEN_FAILED'
  | 'ICEGATE_TRANSPORT_SOCKET_ERROR'
  | 'ICEGATE_TRANSPORT_HANDLER_ERROR'
  | 'ICEGATE_TRANSPORT_TLS_CERT'
  | 'ICEGATE_TRANSPORT_NATIVE_THREADS';

/** An error of the socket layer, with a stable code. */
export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** Where socket-level problems are reported (a logger or a metric); must not throw. */
export type TransportErrorReporter = (error: TransportError) => void;

/** The default reporter: ignore (a packet problem must never take the process down). */
export const IGNORE_ERRORS: TransportErrorReporter = () => {};
